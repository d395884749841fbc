"""The service's database (the audit trail and the version store share it), kept usable
through faults.

The promises, and how each is kept:

* **The service starts and stays up with the database down.** Nothing here connects when it
  is made. A maintenance thread checks the database every :attr:`Database.interval` seconds
  (1 by default): it connects, creates whatever part of the schema is missing (the tables
  may have been dropped, or the whole database recreated), and on SQLite notices a database
  file that was deleted or replaced (:mod:`service.sqlitefile`). A failed write wakes it at
  once. So the service recovers by itself, without a restart, within about a second of the
  database coming back.
* **Every statement has a time limit** (``AUDIT_WRITE_TIMEOUT``, 2 s by default). PostgreSQL:
  ``statement_timeout`` and ``lock_timeout`` on every connection and ``connect_timeout`` on
  connecting; SQLite: the busy timeout and a bounded wait for the writer lock. Beyond those, a
  watchdog interrupts a write still running half a second after its deadline (SQLite
  ``interrupt()``; on PostgreSQL it shuts the socket, for a server or network that has stopped
  answering). A request therefore waits at most about the time limit, and a worker is never
  held past gunicorn's timeout.
* **Readiness reports the database** (:attr:`Database.status`), as ``/readyz`` shows it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError

from service.jsontext import dumps
from service.sqlitefile import SqliteFile

log = logging.getLogger("service.audit")

WRITE_MEMORY = 5.0  # seconds a failed write keeps the database reported unavailable


class DatabaseUnavailable(Exception):
    """The database could not do what was asked within its time limit; the request gets a
    503."""


@dataclass(frozen=True)
class Status:
    """The database as last seen: by the maintenance thread or by a write."""

    ok: bool
    reason: str | None
    since: dt.datetime  # when it entered this state

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unavailable", "reason": self.reason,
                "since": self.since.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def default_url(instance_path: str | os.PathLike[str]) -> str:
    """The SQLite file used when no database URL is given."""
    return f"sqlite:///{os.path.join(instance_path, 'audit.sqlite3')}"


class Database:
    """One database URL as one process uses it. Make one per process (after gunicorn forks).

    ``schema`` callbacks (registered by the audit log and the version store) create and
    migrate their tables; :meth:`check` runs them whenever a table is missing."""

    def __init__(self, url: str, timeout: float = 2.0, interval: float = 1.0) -> None:
        self.url = url
        self.timeout = timeout
        self.interval = interval
        parsed = sa.engine.make_url(url)
        self.backend = parsed.get_backend_name()
        self.file: SqliteFile | None = None
        self.metadata = sa.MetaData()
        self._schema: list[Callable[[sa.Connection], None]] = []
        self._probes: list[sa.Table] = []
        self._probe: str | None = None
        busy_ms = int(timeout * 1000)
        if self.backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self.file = SqliteFile(str(parsed.database), busy_ms)
            self.engine = sa.create_engine(url, creator=self.file.connect,
                                           json_serializer=dumps, poolclass=sa.pool.QueuePool)
            sa.event.listen(self.engine, "checkout", self._checkout)
            sa.event.listen(self.engine, "close", self._closed)
            sa.event.listen(self.engine, "close_detached", self._closed)
            sa.event.listen(self.engine, "begin", _begin)
        elif self.backend == "sqlite":
            self.engine = sa.create_engine(url, json_serializer=dumps)
        else:
            options = f"-c statement_timeout={busy_ms} -c lock_timeout={busy_ms}"
            self.engine = sa.create_engine(
                url, json_serializer=dumps, pool_pre_ping=True,
                connect_args={"connect_timeout": max(2, math.ceil(timeout)),
                              "options": options},
            )
        self.driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        self.status = Status(False, "not checked yet", _now())
        self._status_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._before_check: list[Callable[[], None]] = []
        self._after_check: list[Callable[[], None]] = []
        self.on_status: Callable[[bool], None] | None = None  # told of every change of state
        self._write_failed: float | None = None  # when the last write failed, until one works
        self.watchdog = _Watchdog(self)

    # --- schema ------------------------------------------------------------------------------

    def add_schema(self, create: Callable[[sa.Connection], None], *probes: sa.Table) -> None:
        """``create`` makes (and migrates) tables; ``probes`` are read to see they exist."""
        self._schema.append(create)
        self._probes.extend(probes)

    def on_check(self, before: Callable[[], None] | None = None,
                 after: Callable[[], None] | None = None) -> None:
        """Work for the maintenance thread: ``before`` each check (closing connections to a
        replaced file), ``after`` each successful one (checkpoints, syncing versions)."""
        if before is not None:
            self._before_check.append(before)
        if after is not None:
            self._after_check.append(after)

    def create_schema(self) -> None:
        """Create what is missing. Several processes may race here: the loser's CREATE fails
        because the table now exists, which a second try confirms."""
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    for create in self._schema:
                        create(connection)
                return
            except SQLAlchemyError:
                if attempt == 2:
                    raise

    # --- health --------------------------------------------------------------------------

    def check(self) -> bool:
        """Connect, make sure every table is there (creating what is missing), and record the
        result in :attr:`status`. Never raises."""
        try:
            for before in self._before_check:
                before()
            if not self._tables_present():
                first = self.status.reason == "not checked yet"
                self.create_schema()
                (log.info if first else log.warning)("audit database schema created (it was "
                                                     "missing)")
        except (SQLAlchemyError, self.driver_error, OSError) as error:
            self.failed(reason(error))
            return False
        self.succeeded()
        for after in self._after_check:
            try:
                after()
            except Exception:  # one failing extra must not stop the checks
                log.exception("database maintenance step failed")
        return True

    def _tables_present(self) -> bool:
        """One statement naming every table (the database refuses it when one is missing)."""
        if self._probe is None:
            quote = self.engine.dialect.identifier_preparer
            names = ", ".join(quote.format_table(t) for t in self._probes)
            self._probe = f"SELECT 1 FROM {names} WHERE 1 = 0"
        with self.engine.connect() as connection:
            try:
                connection.exec_driver_sql(self._probe).fetchall()
            except sa.exc.ProgrammingError:
                return False
            except sa.exc.OperationalError as error:
                if missing_table(error):
                    return False
                raise
        return True

    def wrote(self) -> None:
        """A write was committed: the database is available, whatever a check said."""
        self._write_failed = None
        self.succeeded()

    def write_failed(self, why: str) -> None:
        """A write failed: not ready until a write succeeds, or :data:`WRITE_MEMORY` seconds
        pass (a database that refuses writes answers the maintenance check all the same)."""
        self._write_failed = time.monotonic()
        self.failed(why)

    def succeeded(self) -> None:
        failed = self._write_failed
        if failed is not None and time.monotonic() - failed < WRITE_MEMORY:
            return
        if not self.status.ok:
            with self._status_lock:
                if not self.status.ok:
                    log.warning("audit database available", extra={"after": self.status.reason})
                    self.status = Status(True, None, _now())
                    if self.on_status is not None:
                        self.on_status(True)

    def failed(self, why: str) -> None:
        with self._status_lock:
            if self.status.ok or self.status.reason != why:
                was_ok = self.status.ok
                if was_ok:
                    log.error("audit database unavailable: %s", why)
                self.status = Status(False, why, _now() if was_ok else self.status.since)
                if self.on_status is not None and was_ok:
                    self.on_status(False)
        self._wake.set()

    def start(self) -> None:
        """Check once now (without failing), then keep checking in a background thread."""
        self.check()
        self._thread = threading.Thread(target=self._run, name="database-maintenance",
                                        daemon=True)
        self._thread.start()
        self.watchdog.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.check()

    def dispose(self) -> None:
        """Stop the threads and close every connection (before a fork, at shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.watchdog.stop()
        self.engine.dispose()
        if self.file is not None:
            self.file.close()

    # --- SQLite connection identity ----------------------------------------------------------

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        assert self.file is not None
        if not self.file.current(dbapi_connection):
            raise DisconnectionError("the database file was replaced")  # the pool reconnects

    def _closed(self, dbapi_connection: Any, *_args: Any) -> None:
        if self.file is not None:
            self.file.closed(dbapi_connection)


def _begin(connection: sa.Connection) -> None:
    """SQLite connections are opened in autocommit mode (the writers rely on it); a SQLAlchemy
    transaction therefore starts its own BEGIN (SQLAlchemy's documented pysqlite recipe)."""
    connection.exec_driver_sql("BEGIN")


class _Watchdog:
    """Interrupts a statement still running half a second past its deadline."""

    GRACE = 0.5

    def __init__(self, database: Database) -> None:
        self._database = database
        self._running: dict[int, tuple[float, Any]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="database-watchdog",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def watch(self, connection: Any, deadline: float) -> int:
        """Watch a statement about to run on ``connection``; call :meth:`done` with the
        returned key once it has (a pair of calls rather than a context manager, which cost
        about 3 us a write)."""
        key = threading.get_ident()
        self._running[key] = (deadline + self.GRACE, connection)
        return key

    def done(self, key: int) -> None:
        self._running.pop(key, None)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            for key, (deadline, connection) in list(self._running.items()):
                if now >= deadline and self._running.get(key, (0, None))[1] is connection:
                    self._running.pop(key, None)
                    log.error("audit statement past its time limit; interrupting it")
                    _interrupt(connection, self._database.backend)


def _interrupt(connection: Any, backend: str) -> None:
    try:
        if backend == "sqlite":
            connection.interrupt()
            return
        fd = os.dup(connection.pgconn.socket)
        with socket.socket(fileno=fd) as sock:
            sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns; the write fails
    except Exception as error:  # already closed: nothing is waiting on it
        log.warning("could not interrupt the statement: %s", error)


class Transaction:
    """``with`` a connection in one transaction; database errors become DatabaseUnavailable
    (and tell the database's maintenance thread to look at once)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._context: Any = None

    def __enter__(self) -> sa.Connection:
        try:
            self._context = self._db.engine.begin()
            connection: sa.Connection = self._context.__enter__()
        except (SQLAlchemyError, self._db.driver_error) as error:
            self._db.failed(reason(error))
            raise DatabaseUnavailable(reason(error)) from error
        return connection

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            self._context.__exit__(kind, error, trace)
        except (SQLAlchemyError, self._db.driver_error) as failure:
            self._db.failed(reason(failure))
            raise DatabaseUnavailable(reason(failure)) from failure
        if isinstance(error, SQLAlchemyError | self._db.driver_error):
            self._db.failed(reason(error))
            raise DatabaseUnavailable(reason(error)) from error


def missing_table(error: BaseException) -> bool:
    """The database says a table does not exist (SQLite, PostgreSQL's SQLSTATE 42P01)."""
    original = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) == "42P01":
        return True
    return "no such table" in str(original)


def reason(error: BaseException) -> str:
    """The driver's own first line, without SQL text or parameters (they hold patient facts)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else 'no detail'}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
