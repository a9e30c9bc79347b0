"""PostgreSQL connections are pinged at checkout only when they sat idle in the pool.

SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one round trip more per request,
seven per sign-off (the view; each photo and the submit check out twice, a read before the
files are written and then the write). A connection checked in a moment ago answered a
moment ago; the connections a ping is for are the ones that sat idle, through a quiet spell
in which PostgreSQL restarted, failed over, or a proxy or firewall dropped idle sessions.
So a connection is pinged when it has been idle in the pool for ``DB_PING_AFTER_IDLE_S``
seconds (1 by default; 0 pings at every checkout, as ``pool_pre_ping`` does). The pool is
LIFO (config ``pool_use_lifo``): the connection checked in last is handed out first, so under
light load one connection stays warm and unpinged; a FIFO pool would hand out the one idle
longest, pinging at every checkout whenever a process holds more connections than it uses.

This is the pessimistic ping SQLAlchemy documents ("Disconnect Handling — Pessimistic",
the custom ``checkout`` event): a failed ping raises ``InvalidatePoolError``, as a failed
pre-ping does, so the pool drops that connection and the others as old (they sat through
the same outage) and tries again with a new one. The dialect's own
``do_ping`` sends the ping, as ``pool_pre_ping`` would. A connection that died within the
idle window fails the statement it was given; SQLAlchemy then sees the disconnect and
invalidates the whole pool, so only requests that reach a worker within that second of a
restart see the error (a 503), as requests in flight at that moment do anyway.
"""
import time

from sqlalchemy import event, exc


def ping_when_idle(engine, after_idle_s: float) -> None:
    """Ping the engine's connections at checkout once they sat idle ``after_idle_s``."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < after_idle_s:
            return   # just connected (no checkin yet), or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(f"idle connection did not answer its ping: {error}") from error
