"""One storage suite, run against local files and against S3 (moto's server on loopback)."""
import os
import uuid

import boto3
import pytest

from delivery_sign.core.storage import LocalStorage, storage_from_url
from delivery_sign.core.storage.s3 import S3Storage

_S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in _S3_ENV}
    os.environ.update(_S3_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "media"))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return storage_from_url(f"s3://{bucket}/media/v1", endpoint_url=endpoint)


def test_put_get_exists_delete(storage):
    assert not storage.exists("a/b.txt")
    storage.put("a/b.txt", b"hello", "text/plain")
    assert storage.exists("a/b.txt") and storage.get("a/b.txt") == b"hello"
    storage.put("a/b.txt", b"hello again")
    assert storage.get("a/b.txt") == b"hello again"
    storage.delete("a/b.txt")
    storage.delete("a/b.txt")   # deleting twice is fine
    assert not storage.exists("a/b.txt")


def test_missing_key_is_a_key_error(storage):
    for read in (storage.get, storage.open, lambda key: b"".join(storage.stream(key))):
        with pytest.raises(KeyError):
            read("nope/missing.bin")


def test_large_files_stream_in_chunks(storage):
    data = os.urandom(3 * 1024 * 1024 + 17)
    storage.put("big/file.bin", data)
    chunks = list(storage.stream("big/file.bin", chunk_size=256 * 1024))
    assert len(chunks) > 10 and max(map(len, chunks)) <= 256 * 1024 and b"".join(chunks) == data
    with storage.open("big/file.bin") as fh:
        assert fh.read(10) == data[:10]


def test_keys_cannot_escape(storage):
    with pytest.raises(ValueError):
        storage.put("../outside", b"x")


def test_s3_keys_live_under_the_prefix(s3_endpoint):
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket)
    storage = storage_from_url(f"s3://{bucket}/tenant-files", endpoint_url=s3_endpoint)
    assert isinstance(storage, S3Storage)
    storage.put("x/y.bin", b"1")
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["tenant-files/x/y.bin"]


def test_receipt_pdf_through_s3(app, world, door, s3_endpoint):
    """The whole flow on S3: photo upload, PDF job, streamed download."""
    from delivery_sign.core import jobs

    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    saved = app.extensions["delivery_sign.storage"] if "delivery_sign.storage" in app.extensions else None
    app.extensions["delivery_sign.storage"] = storage_from_url(f"s3://{bucket}/m", endpoint_url=s3_endpoint)
    try:
        receipt_id = door.submit().get_json()["receipt_id"]
        jobs.run_due(app, tenant_id=world.tenant_id)
        response = world.get(f"/receipts/{receipt_id}/pdf")
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")
        assert world.client.post("/api/v1/verify", data=response.data,
                                 content_type="application/pdf").get_json()["pdf_signature_valid"] is True
    finally:
        if saved is None:
            app.extensions.pop("delivery_sign.storage", None)
        else:
            app.extensions["delivery_sign.storage"] = saved


def test_a_local_write_syncs_the_file_then_its_name(tmp_path, monkeypatch):
    """The file's bytes, then the folder holding its new name, then each folder the write
    made, in its parent: after ``put`` returns, a power cut cannot lose the rename."""
    synced, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src, dst):
        synced.append(("renamed", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    root = tmp_path / "media"
    root.mkdir()
    storage = LocalStorage(str(root))
    storage.put("t1/2026/photo.jpg", b"jpeg")
    folder, resolved = root.resolve() / "t1" / "2026", root.resolve()
    file_sync = synced[0]
    assert file_sync.startswith(str(folder / ".tmp-"))   # the bytes, under the temporary name
    assert synced[1:] == [("renamed", str(folder / "photo.jpg")), str(folder), str(folder.parent), str(resolved)]

    synced.clear()
    storage.put("t1/2026/second.jpg", b"jpeg")   # the folders are there: only the rename's folder
    assert synced[1:] == [("renamed", str(folder / "second.jpg")), str(folder)]
    assert (folder / "photo.jpg").read_bytes() == b"jpeg" and not list(folder.glob(".tmp-*"))


@pytest.mark.parametrize("key", ["/etc/passwd", "photos/../../outside", "", ".", "photos/.."])
def test_a_key_must_name_a_file_under_the_root(tmp_path, key):
    from delivery_sign.core.storage.local import LocalStorage

    with pytest.raises(ValueError):
        LocalStorage(str(tmp_path)).put(key, b"x")
