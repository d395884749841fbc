"""The SQLite database file under faults: replaced, deleted, locked, or growing without end.

SQLite keeps working on a database file that has been deleted or replaced while it is open:
each connection goes on writing to the inode it opened, so after ``rm audit.sqlite3`` (or a
backup renamed over it) every later row lands in a file that no longer has a name, while the
service answers 200. And its write-ahead log is a *separate* file found by name
(``audit.sqlite3-wal``, ``-shm``): a connection opened on the new file joins the old file's
log if the old file's connections still hold it, and the last of those to close deletes the
log *by name*, pulling it from under the new file's connections. Either way rows are lost.

So this module gives every connection an *identity*, the (device, inode) of the file it
opened, and keeps three promises:

1. **No write is answered against a file that is gone.** After each commit the writer checks
   that the path still names the inode its connection holds (one ``stat``, about 1 us); if
   not, the write is reported as failed (503) and every connection of the process to that
   inode is closed.
2. **No process opens the new file while any process still holds the old one.** Each process
   holds a shared ``flock`` on ``held-<dev>-<ino>`` (in a lock folder beside the database) for
   as long as it has a connection to that inode. Before connecting to the file now at the
   path, a process checks that no other inode's lock is still held; while one is, it answers
   503 and tries again on the next round. The last old connection to close then checkpoints
   into the old inode and removes the old log, and only afterwards does anyone create a new
   one.
3. **The log stays bounded.** Checkpoints run in the background (``PASSIVE`` once a second:
   never blocks anyone), and when the log has passed :data:`TRUNCATE_AT` a ``TRUNCATE``
   checkpoint runs under the writer lock, so it waits for no writer and no writer waits on
   SQLite's busy handler for it. A passive checkpoint alone never lets the log restart while
   writes keep coming, which is how it grew to 366 MB under sustained load.

Writers from different worker processes take turns on an exclusive ``flock`` (``writer.lock``
in the same folder) rather than on SQLite's busy handler, which sleeps 1, 2, 5 ms … between
tries and halved throughput with two workers. The wait is bounded by the write's time limit.
A lock folder that cannot be created or written (a read-only directory, a lock file owned by
another user) does not stop the service: it then relies on SQLite's own locking and logs why.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

log = logging.getLogger("service.audit")

TRUNCATE_AT = 16 * 1024 * 1024  # bytes of log after which a TRUNCATE checkpoint runs
Identity = tuple[int, int]  # (st_dev, st_ino)


class FileReplaced(Exception):
    """The database file at the path is not the one the connection opened (deleted, or
    another file renamed over it)."""


class LockTimeout(Exception):
    """The writer lock was not granted within the write's time limit."""


class TrackedConnection(sqlite3.Connection):
    """A sqlite3 connection that knows which inode it opened (set by :meth:`SqliteFile.connect`)."""

    identity: Identity | None = None


def identity_of(path: str) -> Identity | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class SqliteFile:
    """One SQLite database file as this process uses it: the identity of each connection,
    the cross-process locks, the writer lock and the checkpoints."""

    def __init__(self, path: str, busy_ms: int) -> None:
        self.path = path
        self.busy_ms = busy_ms
        folder = Path(path).resolve().parent
        self.lock_dir = folder / f".{Path(path).name}.locks"
        self._lock = threading.Lock()  # guards the fields below
        self._open: Counter[Identity] = Counter()  # this process's connections per inode
        self._held: dict[Identity, int] = {}  # inode -> fd of its shared held-lock
        self._warned = False
        self._writer_fd: int | None = None
        self._writer_tried = 0.0
        self.threads = threading.Lock()  # one writer thread at a time in this process

    # --- connections -----------------------------------------------------------------------

    def connect(self) -> TrackedConnection:
        """A new connection to the file now at the path (SQLAlchemy's ``creator``). Raises
        :class:`sqlite3.OperationalError` while any process, this one included, still holds
        a connection to a file that was at the path before."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        target = identity_of(self.path)
        self._release_unused()
        self._refuse_while_old_held(target)
        if target is not None:
            self._hold(target)
        connection = sqlite3.connect(
            self.path, timeout=self.busy_ms / 1000, check_same_thread=False,
            factory=TrackedConnection, isolation_level=None,
        )
        try:
            _pragmas(connection, self.busy_ms)
        except sqlite3.Error:
            connection.close()
            self._release_unused()
            raise
        opened = identity_of(self.path)
        if opened is None or (target is not None and opened != target):
            connection.close()
            self._release_unused()
            raise sqlite3.OperationalError("the database file changed while it was opened")
        if target is None:
            self._hold(opened)
        connection.identity = opened
        with self._lock:
            self._open[opened] += 1
        return connection

    def closed(self, connection: Any) -> None:
        """Bookkeeping once ``connection`` is closed (the pool's close events, the writers)."""
        ident = getattr(connection, "identity", None)
        if ident is None:
            return
        with self._lock:
            self._open[ident] -= 1
            if self._open[ident] <= 0:
                del self._open[ident]
        self._release_unused()

    def current(self, connection: Any) -> bool:
        """Whether the path still names the inode ``connection`` opened."""
        ident = getattr(connection, "identity", None)
        return ident is not None and identity_of(self.path) == ident

    def check(self, connection: Any) -> None:
        if not self.current(connection):
            raise FileReplaced(f"the database file {self.path} was deleted or replaced")

    def stale_identities(self) -> set[Identity]:
        """Inodes this process still has connections to that the path no longer names."""
        now = identity_of(self.path)
        with self._lock:
            return {i for i in self._open if i != now}

    # --- the cross-process held locks ------------------------------------------------------

    def _held_path(self, ident: Identity) -> Path:
        return self.lock_dir / f"held-{ident[0]}-{ident[1]}"

    def _ensure_dir(self) -> bool:
        try:
            self.lock_dir.mkdir(exist_ok=True)
            return True
        except OSError as error:
            self._warn(error)
            return False

    def _warn(self, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("SQLite lock folder %s is not usable (%s): replaced database files "
                        "and writers are then coordinated by SQLite alone", self.lock_dir,
                        error.strerror or error)

    def _hold(self, ident: Identity) -> None:
        with self._lock:
            if ident in self._held or not self._ensure_dir():
                return
            try:
                fd = os.open(self._held_path(ident), os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as error:
                self._warn(error)
                return
            deadline = time.monotonic() + self.busy_ms / 1000
            while True:  # never an unbounded wait: another process holds it only briefly
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        raise sqlite3.OperationalError(
                            "the database's lock folder stayed locked") from None
                    time.sleep(0.01)
                except OSError as error:
                    os.close(fd)
                    self._warn(error)
                    return
            self._held[ident] = fd

    def _release_unused(self) -> None:
        with self._lock:
            for ident in [i for i in self._held if i not in self._open]:
                os.close(self._held.pop(ident))

    def _refuse_while_old_held(self, target: Identity | None) -> None:
        """Raise while a connection to another inode than ``target`` is open anywhere."""
        with self._lock:
            mine = [i for i in self._open if i != target]
        if mine:
            raise sqlite3.OperationalError(
                "the database file was replaced; closing this worker's connections to the "
                "old one first")
        try:
            names = [p for p in self.lock_dir.iterdir() if p.name.startswith("held-")]
        except OSError:
            return
        keep = self._held_path(target).name if target is not None else None
        for lock_path in names:
            if lock_path.name == keep:
                continue
            try:
                fd = os.open(lock_path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise sqlite3.OperationalError(
                        "the database file was replaced; waiting for every worker to let go "
                        "of the old one") from None
                raise
            else:
                lock_path.unlink(missing_ok=True)  # nobody holds that inode any more
            finally:
                os.close(fd)

    # --- the writer lock -------------------------------------------------------------------

    def acquire_writer(self, deadline: float) -> bool:
        """Take the cross-process writer lock by ``deadline`` (monotonic); False when there is
        no usable lock file (SQLite's own locking then applies). Raises :class:`LockTimeout`."""
        if not self.threads.acquire(blocking=False) and not self.threads.acquire(
                timeout=max(0.0, deadline - time.monotonic())):
            raise LockTimeout("another thread of this worker held the audit database")
        fd = self._writer()
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except BaseException:
            self.threads.release()
            raise
        pause = 0.00005
        while True:  # contended: a writer holds it for tens of microseconds
            if time.monotonic() >= deadline:
                self.threads.release()
                raise LockTimeout("another worker held the audit database past the time limit")
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                continue
            except BaseException:
                self.threads.release()
                raise

    def release_writer(self, locked: bool) -> None:
        try:
            if locked and self._writer_fd is not None:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def _writer(self) -> int | None:
        if self._writer_fd is not None:
            return self._writer_fd
        now = time.monotonic()
        if now - self._writer_tried < 1.0:
            return None  # failed a moment ago; try again later rather than on every write
        self._writer_tried = now
        if not self._ensure_dir():
            return None
        try:
            self._writer_fd = os.open(self.lock_dir / "writer.lock", os.O_RDWR | os.O_CREAT,
                                      0o600)
        except OSError as error:
            self._warn(error)
        return self._writer_fd

    # --- checkpoints -----------------------------------------------------------------------

    def wal_bytes(self) -> int:
        try:
            return os.stat(f"{self.path}-wal").st_size
        except OSError:
            return 0

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """PASSIVE always; TRUNCATE under the writer lock once the log is past TRUNCATE_AT."""
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        if self.wal_bytes() < TRUNCATE_AT:
            return
        locked = self.acquire_writer(time.monotonic() + self.busy_ms / 1000)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            self.release_writer(locked)

    def flush_log(self, connection: Any) -> None:
        """Copy everything committed in the log of a replaced or deleted file into that file,
        and empty the log. Call with the writer lock held, on a connection to the old file.

        SQLite does not checkpoint a database file that has moved when its last connection
        closes (``databaseIsUnmoved`` in pager.c), so the old log would stay at the path with
        rows that no file holds, and a connection to the new file would take that log for
        its own. Emptied here, it holds nothing the new file could mistake for its pages."""
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as error:
            log.error("could not empty the log of the replaced database file: %s", error)

    def close(self) -> None:
        with self._lock:
            for fd in self._held.values():
                os.close(fd)
            self._held.clear()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None


def _pragmas(connection: sqlite3.Connection, busy_ms: int) -> None:
    connection.execute("PRAGMA journal_mode=WAL").fetchall()
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    # no checkpoint inside a request's COMMIT (every ~240 rows it copied 4 MB and waited for
    # an fsync, ~5 ms): the maintenance thread does it in the background instead
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("PRAGMA journal_size_limit=67108864")
    connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # open the log now
