"""Every setting of the service, read from environment variables in one place.

SPEC §7 lists the variables; features that arrive later (storage, webhooks, WeChat, TSA)
read theirs from here too, so an operator finds the whole surface in one file.
"""
import os
import secrets
from pathlib import Path


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(value, default):
    return int(value) if value not in (None, "") else default


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two processes starting together agree on the first key written.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


# Standard Webhooks' schedule: the delays after the 1st, 2nd, … failed attempt.
STANDARD_RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


def _retry_schedule(env) -> tuple:
    """``WEBHOOK_RETRY_SCHEDULE_S`` (comma-separated seconds), else the standard one.

    A deployment that set only the older ``WEBHOOK_BACKOFF_BASE_S`` keeps what it asked
    for: delays doubling from that base for 24 h.
    """
    if env.get("WEBHOOK_RETRY_SCHEDULE_S"):
        return tuple(float(part) for part in env["WEBHOOK_RETRY_SCHEDULE_S"].split(","))
    if env.get("WEBHOOK_BACKOFF_BASE_S"):
        base = float(env["WEBHOOK_BACKOFF_BASE_S"])
        if base <= 0:
            return (0.0,) * len(STANDARD_RETRY_SCHEDULE_S)
        delays, total = [], 0.0
        while total + base * 2 ** len(delays) <= 24 * 3600:
            delays.append(base * 2 ** len(delays))
            total += delays[-1]
        return tuple(delays)
    return tuple(float(d) for d in STANDARD_RETRY_SCHEDULE_S)


def _default_base_url(bind: str | None) -> str:
    """Without ``PUBLIC_BASE_URL``: the address gunicorn listens on (``BIND``, default
    127.0.0.1:8000), so the QR codes of ``BIND=127.0.0.1:9000`` point at port 9000. A
    listener on every interface (0.0.0.0, ::) names 127.0.0.1; a phone needs
    ``PUBLIC_BASE_URL`` set to an address it can reach (the start banner says so)."""
    first = (bind or "").strip()
    if not first or first.startswith(("unix:", "fd://")):
        return "http://127.0.0.1:8000"
    if first.startswith("["):                      # [::1]:8000
        host, _, rest = first[1:].partition("]")
        port = rest.lstrip(":") or "8000"
    elif first.count(":") == 1:                    # host:port
        host, port = first.split(":")
    else:                                          # a bare host (or a bare IPv6 address)
        host, port = first, "8000"
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def load_config(instance_path: str, env=None) -> dict:
    """Return the Flask config mapping built from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    instance = Path(instance_path)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'delivery_sign.db'}"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, env),
        # PostgreSQL: a connection idle this long in the pool is pinged before use (core/pool.py).
        "DB_PING_AFTER_IDLE_S": float(env.get("DB_PING_AFTER_IDLE_S") or 1.0),
        "STORAGE_URL": env.get("STORAGE_URL") or f"file://{instance / 'media'}",
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or _default_base_url(env.get("BIND"))).rstrip("/"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "WORKER": env.get("WORKER") or "inline",
        "SMS_BACKEND": env.get("SMS_BACKEND") or "console",
        "SMS_HTTP_URL": env.get("SMS_HTTP_URL") or None,
        "SMS_HTTP_KEY": env.get("SMS_HTTP_KEY") or None,
        "WECHAT_APPID": env.get("WECHAT_APPID") or None,
        "WECHAT_SECRET": env.get("WECHAT_SECRET") or None,
        "WECHAT_API_BASE": (env.get("WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/"),
        "WECHAT_VERIFY_FILE_NAME": env.get("WECHAT_VERIFY_FILE_NAME") or None,
        "WECHAT_VERIFY_FILE_CONTENT": env.get("WECHAT_VERIFY_FILE_CONTENT") or None,
        "TSA_URL": env.get("TSA_URL") or None,
        # Keys the audit chain (HMAC-SHA256); derived from SECRET_KEY when unset. Never rotate
        # it in place: events keyed with the old key would no longer verify.
        "AUDIT_KEY": env.get("AUDIT_KEY") or None,
        # Issue 14: how long a consent link answers, how long "always put it there" lasts,
        # and the subscription-message template the consent question uses on WeChat.
        "CONSENT_LINK_TTL_S": _int(env.get("CONSENT_LINK_TTL_S"), 24 * 3600),
        "CONSENT_STANDING_DAYS": _int(env.get("CONSENT_STANDING_DAYS"), 180),
        "WECHAT_CONSENT_TEMPLATE_ID": env.get("WECHAT_CONSENT_TEMPLATE_ID") or None,
        # Handwriting recognition (issue 13): Debian's libzinnia0 and its Chinese model.
        "ZINNIA_LIBRARY": env.get("ZINNIA_LIBRARY") or "libzinnia.so.0",
        "ZINNIA_MODEL": env.get("ZINNIA_MODEL") or "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model",
        "WEBHOOK_BACKOFF_BASE_S": _int(env.get("WEBHOOK_BACKOFF_BASE_S"), 30),
        # Webhook URLs on loopback/private networks are refused (SSRF) unless this is on.
        "WEBHOOK_ALLOW_PRIVATE": _bool(env.get("WEBHOOK_ALLOW_PRIVATE")),
        # The whole attempt (DNS, connect, TLS, send, answer) must finish within this.
        "WEBHOOK_TIMEOUT_S": float(env.get("WEBHOOK_TIMEOUT_S") or 10),
        "WEBHOOK_RETRY_SCHEDULE_S": _retry_schedule(env),
        "WEBHOOK_MAX_PER_TENANT": _int(env.get("WEBHOOK_MAX_PER_TENANT"), 20),
        # After rotate-secret the old secret keeps signing beside the new one this long.
        "WEBHOOK_SECRET_OVERLAP_S": _int(env.get("WEBHOOK_SECRET_OVERLAP_S"), 24 * 3600),
        "WEBHOOK_DISABLE_AFTER_S": _int(env.get("WEBHOOK_DISABLE_AFTER_S"), 5 * 24 * 3600),
        # The delivery log (GET /webhooks/<id>/deliveries, redeliver) is kept this many days.
        "WEBHOOK_HISTORY_DAYS": _int(env.get("WEBHOOK_HISTORY_DAYS"), 30),
        # The webhook lane's threads per worker process, and how many of them one tenant may hold.
        "WEBHOOK_WORKERS": _int(env.get("WEBHOOK_WORKERS"), 4),
        "WEBHOOK_TENANT_CONCURRENCY": _int(env.get("WEBHOOK_TENANT_CONCURRENCY"), 2),
        # Lifetime of the signed links in webhook payloads and GET /receipts/<id>/links.
        "SIGNED_URL_TTL_S": _int(env.get("SIGNED_URL_TTL_S"), 1800),
        # A job claim lasts this long; a worker that dies mid-job frees it when it runs out.
        "JOB_LEASE_S": float(env.get("JOB_LEASE_S") or 120),
        # Finished jobs are deleted after this many days (done) and for dead ones after this
        # many, so an operator can still read why they failed (core/jobs.py, purge_finished).
        "JOB_DONE_KEEP_DAYS": _int(env.get("JOB_DONE_KEEP_DAYS"), 7),
        "JOB_DEAD_KEEP_DAYS": _int(env.get("JOB_DEAD_KEEP_DAYS"), 30),
        "DEMO_TENANT": _bool(env.get("DEMO_TENANT"), default=True),
        "AUTO_MIGRATE": _bool(env.get("AUTO_MIGRATE"), default=True),
        "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO",
        # /metrics answers only a bearer METRICS_KEY or requests on the METRICS_BIND listener.
        "METRICS_KEY": env.get("METRICS_KEY") or None,
        "METRICS_BIND": env.get("METRICS_BIND") or None,
        # Token lifetime for staff sessions (issue #2: 12 h).
        "AUTH_TOKEN_TTL_S": _int(env.get("AUTH_TOKEN_TTL_S"), 12 * 3600),
        # Argon2id cost; tests lower it, production keeps the library's defaults.
        "PASSWORD_HASH_TIME_COST": _int(env.get("PASSWORD_HASH_TIME_COST"), 3),
        "PASSWORD_HASH_MEMORY_KIB": _int(env.get("PASSWORD_HASH_MEMORY_KIB"), 65536),
        # The largest request body: a 15 MB photo plus multipart framing, or a 20 MB PDF.
        "MAX_CONTENT_LENGTH": _int(env.get("MAX_CONTENT_LENGTH"), 21 * 1024 * 1024),
        # A CSV/XLSX import stops with a 422 past this many seconds (gthread cannot stop it).
        "IMPORT_TIME_BUDGET_S": float(env.get("IMPORT_TIME_BUDGET_S") or 120),
        # Without Redis, each process keeps its own counts (core/limitstore.py).
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "local-memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STRATEGY": "moving-window",
        # Proxy hops in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
        "TRUSTED_PROXIES": _int(env.get("TRUSTED_PROXIES"), 0),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute",
        # flask-smorest: the OpenAPI document lives under the API prefix.
        "API_TITLE": "delivery_sign",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }


def _engine_options(database_url: str, env) -> dict:
    from .core.json_columns import dumps

    if database_url.startswith("sqlite"):
        # The connection gets WAL, foreign keys and a busy timeout in extensions.py.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, "json_serializer": dumps}
    return {   # no pool_pre_ping: core/pool.py pings the connections that sat idle
        "json_serializer": dumps,
        # The connection checked in last goes out first, so a quiet process reuses one warm
        # connection (no ping) and the spare ones age in the pool (FIFO would rotate them all).
        "pool_use_lifo": True,
        "pool_size": _int(env.get("DB_POOL_SIZE"), 5),
        "max_overflow": _int(env.get("DB_MAX_OVERFLOW"), 10),
        "pool_timeout": 5,
        # Fail fast when PostgreSQL is away instead of hanging a worker.
        "connect_args": {"connect_timeout": 5},
    }
