"""SQLite's write lock, queued for (issue 16).

SQLite has one write lock per database. A ``BEGIN IMMEDIATE`` that finds it held waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
tries, however soon the holder lets go; and the newest waiter, on the shortest sleep, takes
the lock before those that came first. Under load (``bench/load.py``: 8 phones, gunicorn
2 workers × 4 threads) writes held the lock for a few ms each, yet a ``BEGIN IMMEDIATE``
waited p50 5.7 ms, p95 109 ms and p99 540 ms: the sleeps, not the work, made the recipient
calls' long tail.

So writers queue before SQLite's lock: a process's threads on a ``threading.Lock``, which
hands over the moment the holder commits or rolls back, and the thread at the head of each
process's queue for an exclusive ``flock`` of ``<database>-writers``, the file every process
writing that database shares, tried every ``POLL_S``. The turn is taken only where SQLite
takes its write lock (``extensions._sqlite_on_begin``) and given back once the COMMIT or
ROLLBACK is done; reads never queue. A process that does not queue (the ``sqlite3`` shell,
an older release) still meets SQLite's own lock and busy handler, as before.

No writer waits without end: a thread that does not get its turn in ``WAIT_S`` goes on to
``BEGIN IMMEDIATE`` and SQLite's own timeout and error, as before the queue; a
thread already holding the turn through another connection does too (SQLite then refuses
that second writer, as it always did, instead of the thread waiting on itself).

Hand-written: neither SQLAlchemy nor the sqlite3 module queues writers, and the sqlite3
module does not let a program set SQLite's busy handler.
"""
import fcntl
import os
import threading
import time

# How long a thread waits for its turn before going on to SQLite's own wait (the
# connection's ``PRAGMA busy_timeout``, extensions._sqlite_on_connect).
WAIT_S = 30.0
# How often the head of a process's queue tries the file lock that the processes share.
POLL_S = 0.0005

_HELD = "write_queue_held"           # in the DBAPI connection's info: the queue whose turn it holds


class _Queue:
    """One database's queue in this process."""

    def __init__(self, database: str):
        self.path = None if database in ("", ":memory:") else f"{database}-writers"
        self.threads = threading.Lock()
        self.holder = None           # the thread whose turn it is
        self.fd = None               # the file lock's descriptor, opened in this process
        self.locked = False

    def take(self, deadline: float) -> bool:
        if not self.threads.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        self.holder = threading.get_ident()
        if self.path is not None:
            self.locked = self._lock_file(deadline)
        return True

    def give_back(self) -> None:
        if self.locked:
            self.locked = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.holder = None
        self.threads.release()

    def _lock_file(self, deadline: float) -> bool:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return False          # e.g. a read-only folder: SQLite's own lock decides
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S)


_queues: dict[str, _Queue] = {}
_made = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child starts with queues of its own: a thread lock the parent held at the
    fork would never be released there, and an inherited descriptor is the parent's lock."""
    global _made
    _queues.clear()
    _made = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _queue(database: str) -> _Queue:
    queue = _queues.get(database)
    if queue is None:
        with _made:
            queue = _queues.setdefault(database, _Queue(database))
    return queue


def take(info: dict, database: str) -> None:
    """Wait for this connection's turn to write ``database``; ``info`` is its connection
    record's ``info`` (the turn is the connection's until ``give_back``)."""
    queue = _queue(database)
    if queue.holder == threading.get_ident():
        return      # this thread writes through another connection already: SQLite decides
    if queue.take(time.monotonic() + WAIT_S):
        info[_HELD] = queue


def holds(info: dict) -> bool:
    return _HELD in info


def give_back(info: dict) -> None:
    """The connection's transaction ended (or never began): the next writer's turn."""
    queue = info.pop(_HELD, None)
    if queue is not None:
        queue.give_back()
