"""Shared bench plumbing: a gunicorn server on a scratch instance, timing and memory figures.

Benches print numbers; they assert nothing. Run them from the repository root with the
project's virtualenv, e.g. ``.venv/bin/python bench/bench_batch.py --db postgres``.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def summary_ms(values):
    ms = [v * 1000 for v in values]
    return f"p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms  p99 {percentile(ms, 99):7.2f} ms  (n={len(ms)})"


def rss_kib(pid, field="VmRSS") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pid) -> None:
    """Start a new high-water mark (VmHWM) for the process, so a peak belongs to what follows."""
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")


def children(pid: int) -> list[int]:
    """The processes ``pid`` forked (a gunicorn master's workers), in pid order."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def cpu_s(pids) -> float:
    """User + system CPU seconds of the processes (gunicorn workers: requests and job threads)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


class PostgresCpu:
    """CPU seconds the PostgreSQL server has spent, when it runs on this machine: its
    postmaster's own and that of every process it forked, live or gone — the backends
    serving the bench, and the WAL writer, checkpointer and autovacuum its writes cause.
    A live child is read from ``/proc/<pid>/schedstat`` (nanoseconds), the postmaster and
    the children it has reaped from ``/proc/<postmaster>/stat`` (clock ticks). A
    difference of two readings is what the database cost in between, other databases'
    work on the same server included (the benches run alone). ``None`` where the server is
    on another machine."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as connection:   # read while the backend lives: it exits with the connection
                backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
                self.postmaster = self._stat(backend)[1] if os.path.exists(f"/proc/{backend}") else None
        finally:
            engine.dispose()

    @staticmethod
    def _stat(pid) -> list[int]:
        """state, ppid, …: the fields of /proc/<pid>/stat after the command, from the 3rd."""
        with open(f"/proc/{pid}/stat") as fh:
            return [int(f) if f.lstrip("-").isdigit() else 0 for f in fh.read().rsplit(")", 1)[1].split()]

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        fields = self._stat(self.postmaster)
        total = sum(fields[11:15]) / os.sysconf("SC_CLK_TCK")   # utime, stime, cutime, cstime
        with open(f"/proc/{self.postmaster}/task/{self.postmaster}/children") as fh:
            for pid in fh.read().split():
                try:
                    with open(f"/proc/{pid}/schedstat") as stat:
                        total += int(stat.read().split()[0]) / 1e9
                except OSError:   # gone since the list was read: its time is in cutime next read
                    pass
        return total


def settle(pids, timeout=60.0) -> float:
    """Wait until the processes are idle, so that what gunicorn workers do once at start (each
    builds handwriting's table of rivals, ~3 s of CPU, in a background thread) is not
    counted with what follows; returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        before = cpu_s(pids)
        time.sleep(0.5)
        if cpu_s(pids) - before < 0.05:   # under 5 % of one core
            break
    return time.perf_counter() - started


@contextlib.contextmanager
def embedded_gunicorn(workers: int = 1):
    """``gunicorn wsgi:app`` (the repository's gunicorn.conf.py) on an empty instance folder
    with the embedded defaults (SQLite, migrations to head, the demo tenant); yields the
    master's Popen and the base URL as soon as the process starts. Stopped and removed after."""
    folder = tempfile.mkdtemp(prefix="ds_gunicorn_")
    port = free_port()
    env = dict(os.environ, INSTANCE_PATH=folder, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
               LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([os.path.join(BIN, "gunicorn"), "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(folder, ignore_errors=True)


def wait_until_answered(url: str, since: float, timeout: float = 60.0) -> float:
    """Seconds from ``since`` (a perf_counter reading) until ``url`` answers 2xx."""
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return time.perf_counter() - since
        except requests.RequestException:
            time.sleep(0.02)
        if time.perf_counter() - since > timeout:
            raise RuntimeError(f"no answer from {url} in {timeout:.0f} s")


class Instance:
    """A scratch instance folder with its database (SQLite file or a fresh PostgreSQL database)."""

    def __init__(self, db="sqlite", extra_env=None):
        self.dir = tempfile.mkdtemp(prefix="ds_bench_")
        self.db = db
        self.pg_name = None
        env = dict(os.environ, INSTANCE_PATH=self.dir, DEMO_TENANT="0", WORKER="off", LOG_LEVEL="WARNING",
                   SECRET_KEY="bench", PYTHONPATH=ROOT)
        if db == "postgres":
            self.pg_name = f"ds_bench_{uuid.uuid4().hex[:8]}"
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                            f'CREATE DATABASE "{self.pg_name}"'], check=True)
            env["DATABASE_URL"] = f"{PG_BASE}/{self.pg_name}"
        env.update(extra_env or {})
        self.env = env
        self.server = None
        self.base = None

    @property
    def database_url(self):
        return self.env.get("DATABASE_URL") or f"sqlite:///{self.dir}/delivery_sign.db"

    def flask(self, *args):
        subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def prepare(self, tenant="bench", password="bench-password-1"):
        self.flask("prepare-db")
        self.flask("create-tenant", tenant, "--name", "压测物流", "--admin-user", "admin", "--admin-password", password)
        return tenant, password

    def start(self, workers=1, threads=4, extra_env=None):
        port = free_port()
        env = dict(self.env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(threads),
                   **(extra_env or {}))
        self.server = subprocess.Popen([os.path.join(BIN, "gunicorn"), "wsgi:app"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    return self.base
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not come up")

    def worker_pids(self):
        return children(self.server.pid)

    def stop(self):
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(20)
            except subprocess.TimeoutExpired:
                self.server.kill()
            self.server = None

    def close(self):
        self.stop()
        if self.pg_name:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                            f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def scratch_app(db="sqlite"):
    """The app in-process on a scratch instance at the migration head with one tenant (a
    SQLite file or a fresh PostgreSQL database, dropped afterwards)."""
    instance = Instance(db)
    try:
        instance.prepare()
        os.environ.update(instance.env)
        sys.path.insert(0, ROOT)
        from delivery_sign import create_app

        yield create_app()
    finally:
        instance.close()


def login(base, tenant, password, username="admin"):
    response = requests.post(base + "/api/v1/auth/login",
                             json={"tenant": tenant, "username": username, "password": password})
    response.raise_for_status()
    return {"Authorization": "Bearer " + response.json()["token"]}


def db_arg():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    return parser


def serve(port: int):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"    # keep-alive, as a subscriber's server would

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def receiver_process():
    """A webhook receiver in its own process (answers 204 to every POST), so that its CPU
    is not the bench's: (process, url)."""
    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); "
                                f"from bench.common import serve; serve({port})"])
    url = f"http://127.0.0.1:{port}/hooks"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            requests.post(url, data=b"{}", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("receiver did not come up")
