"""The floors bench/load.py measures delivery_sign against (issue 16 item 1).

A tiny Flask app on the same stack as the service (Flask, gunicorn with the same workers
and threads, SQLite in WAL mode or PostgreSQL) answering the same four calls of a
sign-off, doing only:

- ``FLOOR=floor``: parse the multipart, SHA-256, write the file, insert a row (and for
  the view and the submit, read or insert one row);
- ``FLOOR=judging``: that, plus what judging the evidence needs: each photo decoded once
  at the smallest JPEG draft scale that leaves ≥ 500 px, its sharpness, brightness and
  64-bit DCT hash, and one pass over the signature's points.

Hand-written on purpose: it is the measuring stick, so it must be nothing but those
steps. ``gunicorn bench.floor_app:app`` with ``FLOOR``, ``FLOOR_DATABASE_URL`` (a
SQLAlchemy URL) and ``FLOOR_FILES`` (a folder) in the environment.
"""
import hashlib
import io
import os
import uuid

import numpy as np
from flask import Flask, abort, jsonify, request
from PIL import Image
from sqlalchemy import create_engine, event, text

MODE = os.environ.get("FLOOR", "floor")
FILES = os.environ.get("FLOOR_FILES", "/tmp/floor_files")
WORK_LONG_SIDE = 500
HASH_SIDE = 32

engine = create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=8)
if engine.dialect.name == "sqlite":
    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA busy_timeout=10000")

with engine.begin() as conn:
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if engine.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS floor_photos (id {serial}, token TEXT, sha256 TEXT, "
                      "size INTEGER, checks TEXT)"))
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS floor_signoffs (id {serial}, token TEXT, body_sha256 TEXT, "
                      "checks TEXT)"))
engine.dispose()   # gunicorn --preload forks after this: each worker opens its own connections
os.makedirs(FILES, exist_ok=True)

_k = np.arange(HASH_SIDE)[:, None]
_DCT = np.sqrt(2.0 / HASH_SIDE) * np.cos(np.pi * (2 * np.arange(HASH_SIDE)[None, :] + 1) * _k / (2 * HASH_SIDE))
_DCT[0, :] = np.sqrt(1.0 / HASH_SIDE)

app = Flask(__name__)


def judge_photo(data: bytes) -> str:
    """Decode once at the draft scale leaving ≥ 500 px; sharpness, brightness, DCT hash."""
    image = Image.open(io.BytesIO(data))
    scale = WORK_LONG_SIDE / max(image.size)
    image.draft("L", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    laplacian = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    small = np.asarray(image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX), dtype=np.float64)
    low = (_DCT @ small @ _DCT.T)[:8, :8].ravel()
    bits = int("".join("1" if v > np.median(low[1:]) else "0" for v in low), 2)
    return f"{laplacian.var():.1f},{grey.mean():.1f},{bits:016x}"


def judge_signature(signature: dict) -> str:
    """One pass over the points: count, extent, duration, path length."""
    count, length = 0, 0.0
    xs, ys, ts = [], [], []
    for stroke in signature["strokes"]:
        previous = None
        for point in stroke:
            x, y, t = point[0], point[1], point[2]
            count += 1
            xs.append(x)
            ys.append(y)
            ts.append(t)
            if previous is not None:
                length += ((x - previous[0]) ** 2 + (y - previous[1]) ** 2) ** 0.5
            previous = point
    if not count:
        return "0"
    return f"{count},{max(xs) - min(xs):.0f}x{max(ys) - min(ys):.0f},{max(ts) - min(ts):.0f},{length:.0f}"


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/api/v1/sign/<token>")
def view(token):
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM floor_photos WHERE token = :t"), {"t": token}).scalar_one()
    return jsonify({"token": token, "photos": count})


@app.post("/api/v1/sign/<token>/photos")
def photo(token):
    upload = request.files.get("file")
    if upload is None:
        abort(400)
    data = upload.read()
    digest = hashlib.sha256(data).hexdigest()
    checks = judge_photo(data) if MODE == "judging" else None
    path = os.path.join(FILES, digest)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)   # as LocalStorage does
    folder = os.open(FILES, os.O_RDONLY | os.O_DIRECTORY)   # the new name on disk too, as LocalStorage
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO floor_photos (token, sha256, size, checks) VALUES (:t, :s, :n, :c)"),
                     {"t": token, "s": digest, "n": len(data), "c": checks})
    return jsonify({"photo_id": digest}), 201


@app.post("/api/v1/sign/<token>/submit")
def submit(token):
    raw = request.get_data()
    body = request.get_json()
    checks = judge_signature(body["signature"]) if MODE == "judging" else None
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO floor_signoffs (token, body_sha256, checks) VALUES (:t, :s, :c)"),
                     {"t": token, "s": hashlib.sha256(raw).hexdigest(), "c": checks})
    return jsonify({"receipt_id": uuid.uuid4().hex}), 201
