"""gunicorn settings (``gunicorn wsgi:app`` reads this file from the working directory).

The master brings the database to the migration head once before forking workers, so
N workers never race on migrations. gthread workers: requests wait on the database and
on uploads from slow phone networks, and threads keep a worker busy meanwhile.
"""
import os
import tempfile

# One BLAS thread per process: each request runs on one core of its own (workers x threads),
# and the handwriting verifier's numpy scoring on two BLAS threads doubled its CPU per character
# (33.7 -> 15-17 ms, bench/bench_recognition.py). Read when numpy first loads, so set it here,
# before the master imports the app.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

bind = [os.environ.get("BIND", "127.0.0.1:8000")]
# A second listener for Prometheus only (e.g. 127.0.0.1:9100); /metrics is refused on the
# public one unless the scrape sends METRICS_KEY (delivery_sign/core/ops.py).
if os.environ.get("METRICS_BIND"):
    bind.append(os.environ["METRICS_BIND"])
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so slow leaks in native libraries cannot accumulate.
max_requests = 5000
max_requests_jitter = 500
accesslog = None  # the app logs every request as JSON with its request id


def on_starting(server):
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="delivery_sign_metrics_"))
    from delivery_sign import create_app
    from delivery_sign.database import prepare_database
    from delivery_sign.demo import start_banner

    app = create_app()
    prepare_database(app)
    # The master builds handwriting's rivals too (in the background, ~3 s of CPU once), so a
    # worker forked after that (each recycle after max_requests, a TTIN) inherits the table
    # instead of spending its own 3 s; the first workers, forked during the build, build theirs.
    from delivery_sign.signing.recognition import warm

    warm(app)
    print(start_banner(app.config["PUBLIC_BASE_URL"]), flush=True)


def post_worker_init(worker):
    # Each serving process builds handwriting recognition's reference table in the
    # background, so its first recognised sign-off does not wait for it (issue 13); one forked
    # after the master's build (on_starting) has it already. Not in create_app: CLI commands
    # and test apps never recognise a name.
    from delivery_sign.signing.recognition import warm

    warm(worker.wsgi)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
