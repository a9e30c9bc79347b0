"""Issue #2 figures: empty folder to first served request ≤ 5 s; one idle worker ≤ 120 MB RSS.

Starts ``gunicorn wsgi:app`` (the repository's gunicorn.conf.py) on an empty instance
folder with the embedded defaults: SQLite, migrations to head, the demo tenant seeded.
"""
import os
import shutil
import subprocess
import tempfile
import time

import requests

from common import BIN, ROOT, free_port, rss_kib


def main():
    folder = tempfile.mkdtemp(prefix="ds_start_")
    port = free_port()
    env = dict(os.environ, INSTANCE_PATH=folder, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    server = subprocess.Popen([os.path.join(BIN, "gunicorn"), "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.02)
            if time.perf_counter() - started > 60:
                raise RuntimeError("no answer in 60 s")
        first = time.perf_counter() - started
        time.sleep(2)
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        rss = [rss_kib(int(pid)) / 1024 for pid in workers]
        print(f"empty folder → first served request: {first:.2f} s (migrations + demo tenant included)")
        print(f"idle worker RSS: {', '.join(f'{r:.0f} MB' for r in rss)}; master {rss_kib(server.pid) / 1024:.0f} MB")
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
