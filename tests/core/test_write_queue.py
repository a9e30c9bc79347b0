"""SQLite writers queue for the write lock (core/write_queue): threads of a process and
processes on one database take turns before SQLite's lock, so none waits in SQLite's busy
handler; the turn passes once the COMMIT or ROLLBACK is done, and is never left held.

Each test uses a database file of its own (SQLite, whatever the suite's database), with
``busy_timeout`` 0: a writer that met SQLite's lock held would fail at once with "database
is locked" instead of waiting, so a writer that was not queued shows as an error.
"""
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import create_engine, event, exc, text

from delivery_sign.core import write_queue
import delivery_sign.extensions  # noqa: F401  (the SQLite hooks that queue)

THREADS, ROUNDS = 6, 25


def _engine(path):
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL)"))
        if connection.execute(text("SELECT count(*) FROM counter")).scalar() == 0:
            connection.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _count_up(engine, rounds, errors):
    for _ in range(rounds):
        try:
            with engine.begin() as connection:
                n = connection.execute(text("SELECT n FROM counter")).scalar()
                connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except Exception as exc:  # the test reports what a writer met
            errors.append(repr(exc))


def _queue_is_free(path) -> bool:
    return not write_queue._queue(str(path)).threads.locked()


def test_the_threads_of_a_process_take_turns_instead_of_meeting_a_held_lock(tmp_path):
    path = tmp_path / "queue.db"
    engine = _engine(path)
    errors = []
    threads = [threading.Thread(target=_count_up, args=(engine, ROUNDS, errors)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == THREADS * ROUNDS
    assert _queue_is_free(path)
    engine.dispose()


def test_processes_writing_one_database_take_turns_too(tmp_path):
    path = tmp_path / "queue.db"
    _engine(path).dispose()
    script = textwrap.dedent(f"""
        import threading
        from tests.core.test_write_queue import _count_up, _engine
        engine = _engine({str(path)!r})
        errors = []
        threads = [threading.Thread(target=_count_up, args=(engine, {ROUNDS}, errors)) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(len(errors), errors[:1])
    """)
    root = __file__.rsplit("/tests/", 1)[0]
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True)
                 for _ in range(3)]
    outputs = [process.communicate(timeout=120)[0].strip() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs == ["0 []"] * 3
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT n FROM counter").fetchone()[0] == 3 * 2 * ROUNDS


def test_the_next_writer_s_turn_comes_after_the_commit_not_before(tmp_path, monkeypatch):
    path = tmp_path / "queue.db"
    engine = _engine(path)
    seen = []
    give_back = write_queue._Queue.give_back

    def give_back_after_looking(queue):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")   # "database is locked" while the turn's writer still holds it
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as exc:
            seen.append(str(exc))
        finally:
            other.close()
        give_back(queue)

    monkeypatch.setattr(write_queue._Queue, "give_back", give_back_after_looking)
    with engine.begin() as connection:
        connection.execute(text("UPDATE counter SET n = n + 1"))
    with pytest.raises(RuntimeError):
        with engine.begin() as connection:
            connection.execute(text("UPDATE counter SET n = n + 100"))
            raise RuntimeError("the caller changed its mind")
    assert seen == ["free", "free"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 1   # committed once, rolled back once
    engine.dispose()


# Closed mid-transaction (rolled back), or invalidated as after a lost connection (no
# rollback reaches the hooks: the pool's events give the turn back).
@pytest.mark.parametrize("end", ["close", "invalidate"])
def test_a_write_left_unfinished_gives_its_turn_back(tmp_path, end):
    path = tmp_path / "queue.db"
    engine = _engine(path)
    connection = engine.connect()
    connection.begin()
    connection.execute(text("UPDATE counter SET n = n + 1"))
    getattr(connection, end)()
    assert _queue_is_free(path)
    connection.close()
    with engine.begin() as again:           # and the next writer gets its turn at once
        again.execute(text("UPDATE counter SET n = n + 1"))
    engine.dispose()


def test_no_failed_write_leaves_the_turn_held(tmp_path):
    path = tmp_path / "queue.db"
    engine = _engine(path)
    with pytest.raises(exc.OperationalError, match="no such table"):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert _queue_is_free(path)

    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")        # a writer that does not queue holds SQLite's lock
    try:
        with pytest.raises(Exception, match="database is locked"):
            with engine.begin() as connection:
                connection.execute(text("UPDATE counter SET n = n + 1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _queue_is_free(path)             # the failed BEGIN gave its turn back
    engine.dispose()


def test_a_thread_already_writing_does_not_wait_on_itself(tmp_path, monkeypatch):
    waits = []
    queue_take = write_queue._Queue.take

    def queued(queue, deadline):
        waits.append(1)
        return queue_take(queue, deadline)

    monkeypatch.setattr(write_queue._Queue, "take", queued)
    first, second = {}, {}
    write_queue.take(first, str(tmp_path / "queue.db"))
    write_queue.take(second, str(tmp_path / "queue.db"))   # not queued behind itself: SQLite decides
    assert waits == [1]
    assert write_queue.holds(first) and not write_queue.holds(second)
    write_queue.give_back(second)
    write_queue.give_back(first)
    assert _queue_is_free(tmp_path / "queue.db")


def test_a_writer_that_waits_too_long_goes_on_to_sqlite_s_own_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(write_queue, "WAIT_S", 0.05)
    database = str(tmp_path / "queue.db")
    holder, waiter = {}, {}
    write_queue.take(holder, database)
    thread = threading.Thread(target=write_queue.take, args=(waiter, database))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive() and not write_queue.holds(waiter)
    write_queue.give_back(holder)
    assert _queue_is_free(database)


def test_a_forked_child_does_not_inherit_its_parent_s_turn(tmp_path, monkeypatch):
    """gunicorn forks its workers from a master that has written the database (migrations):
    a turn the master held at the fork would never be given back in the worker."""
    import os

    monkeypatch.setattr(write_queue, "WAIT_S", 0.2)
    database = str(tmp_path / "queue.db")
    parent = {}
    write_queue.take(parent, database)
    pid = os.fork()
    if pid == 0:   # the child: a turn of its own (the file lock, still the parent's, is waited for WAIT_S)
        child = {}
        write_queue.take(child, database)
        os._exit(0 if write_queue.holds(child) else 1)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        write_queue.give_back(parent)
    assert os.waitstatus_to_exitcode(status) == 0
