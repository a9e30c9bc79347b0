"""Issue #2 figures: empty folder to first served request ≤ 5 s; one idle worker ≤ 120 MB RSS.

Starts ``gunicorn wsgi:app`` (the repository's gunicorn.conf.py) on an empty instance
folder with the embedded defaults: SQLite, migrations to head, the demo tenant seeded.
"""
import time

from common import children, embedded_gunicorn, rss_kib, wait_until_answered


def main():
    started = time.perf_counter()
    with embedded_gunicorn() as (server, base):
        first = wait_until_answered(f"{base}/api/v1/openapi.json", started)
        time.sleep(2)
        rss = [rss_kib(pid) / 1024 for pid in children(server.pid)]
        print(f"empty folder → first served request: {first:.2f} s (migrations + demo tenant included)")
        print(f"idle worker RSS: {', '.join(f'{r:.0f} MB' for r in rss)}; master {rss_kib(server.pid) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
