"""What a new gunicorn worker costs once it is forked: CPU until it is idle, and its memory.

gunicorn replaces each worker after ``max_requests`` (5,000 ± 500, gunicorn.conf.py), and
every serving process needs handwriting recognition's table of rivals (~3 s of CPU to build,
``delivery_sign/evidence/handwriting.py``). Starts ``gunicorn wsgi:app`` with one worker on
an empty instance folder, waits until it is idle, asks the master for one more (``TTIN``,
forked the way a recycled worker is) and prints the CPU each worker spent from its fork until
idle, with the RSS of the workers and the master and
their PSS together (what the three really hold).

    /work/venv/bin/python bench/bench_recycle.py
"""
import signal
import time

from common import children, cpu_s, embedded_gunicorn, rss_kib, settle, wait_until_answered


def _pss_mb(pid: int) -> float:
    """Proportional set size: pages shared with the master (forked) counted once over all."""
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    with embedded_gunicorn() as (server, base):
        wait_until_answered(f"{base}/readyz", time.perf_counter())
        first = children(server.pid)
        settle(first + [server.pid])
        print(f"first worker, from its fork until idle: {cpu_s(first):.2f} s of CPU")
        server.send_signal(signal.SIGTTIN)
        asked = time.perf_counter()
        while len(children(server.pid)) < 2:
            if time.perf_counter() - asked > 30:
                raise RuntimeError("gunicorn forked no second worker in 30 s")
            time.sleep(0.01)
        new = [p for p in children(server.pid) if p not in first]
        time.sleep(0.5)
        settle(new)
        print(f"a worker forked later (as on every recycle), until idle: {cpu_s(new):.2f} s of CPU")
        print(f"RSS: workers {', '.join(f'{rss_kib(p) / 1024:.0f} MB' for p in first + new)}; "
              f"master {rss_kib(server.pid) / 1024:.0f} MB")
        everyone = first + new + [server.pid]
        print(f"PSS of the master and both workers together: {sum(_pss_mb(p) for p in everyone):.0f} MB")


if __name__ == "__main__":
    main()
