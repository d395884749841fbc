"""The audit trail: one row per answered evaluation, committed before the answer is sent.

SQLAlchemy Core against SQLite (the default, a file in the instance folder) or PostgreSQL
(``postgresql+psycopg://…``). The contract the endpoints rely on: :meth:`AuditLog.record`
returns only after the rows are committed, and raises :class:`AuditUnavailable` otherwise, so
a 200 always has its row and a failed write is answered with 503, never with the decision.

Why it is fast enough to sit on every request: one INSERT in one short transaction; on SQLite
the journal is in WAL mode with ``synchronous=NORMAL`` (a commit appends to the WAL without
an fsync; a power cut may lose the last commits but never corrupts the file — the price of
keeping an audit write within tens of microseconds); on PostgreSQL the connection stays
open. A batch writes all its rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import SQLAlchemyError

from service.jsontext import dumps

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid must be INTEGER


class AuditUnavailable(Exception):
    """The audit database could not store (or read) rows; the request gets a 503."""


@dataclass(frozen=True)
class AuditRow:
    """One evaluation to store. ``facts``, ``outputs`` and ``fired`` are JSON text: the
    endpoint serialises them once and uses the same text for the answer."""

    request_id: str
    evaluated_at: dt.datetime  # UTC
    table_id: str
    version: str
    facts: str
    outputs: str
    fired: str
    case_index: int | None = None


_COLUMNS = ("request_id", "case_index", "evaluated_at", "table_id", "version", "facts",
            "outputs", "fired")


def default_url(instance_path: str | Path) -> str:
    """The SQLite file used when no database URL is given."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'audit.sqlite3'}"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")  # several worker processes share the file
    # no checkpoint inside a request's COMMIT (every ~240 rows it copied 4 MB and waited for
    # an fsync, ~5 ms): the Checkpointer thread does it in the background instead
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


class AuditLog:
    """The audit table in one database. Make one per process (after gunicorn forks)."""

    def __init__(self, url: str, table_name: str = "evaluations") -> None:
        self.url = url
        self.engine = sa.create_engine(url, json_serializer=dumps)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.metadata = sa.MetaData()
        self.table = sa.Table(
            table_name,
            self.metadata,
            sa.Column("id", _ID, primary_key=True, autoincrement=True),
            sa.Column("request_id", sa.String(64), nullable=False),
            sa.Column("case_index", sa.Integer, nullable=True),
            sa.Column("evaluated_at", sa.DateTime(), nullable=False),
            sa.Column("table_id", sa.String(200), nullable=False),
            sa.Column("version", sa.String(64), nullable=False),
            sa.Column("facts", _JSON, nullable=False),
            sa.Column("outputs", _JSON, nullable=False),
            sa.Column("fired", _JSON, nullable=False),
            sa.Index(f"ix_{table_name}_evaluated_at", "evaluated_at"),
            implicit_returning=False,
        )
        # The write on every request skips SQLAlchemy's statement execution layer (about
        # 60 us a call, as much as the INSERT and COMMIT themselves) and its pool (10 us a
        # checkout and return): the INSERT is compiled once by SQLAlchemy for this database
        # and run on a DBAPI connection that each thread keeps for its writes.
        dialect = self.engine.dialect
        compiled = _insert_statement(self.table, dialect).compile(dialect=dialect)
        self._sql = compiled.string
        self._positional = compiled.positional
        if self._positional and tuple(compiled.positiontup or ()) != _COLUMNS:
            raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
        self._time = _sqlite_text if self.backend == "sqlite" else _naive
        self._driver_error: type[DBAPIModule.Error] = dialect.loaded_dbapi.Error
        database = self.engine.url.database if self.backend == "sqlite" else None
        self._writers = _Writers(self.engine)
        self._writer = _WriterLock(database)
        self._checkpointer = _Checkpointer(database) if database != ":memory:" else None

    @property
    def backend(self) -> str:
        return str(self.engine.dialect.name)

    def create_schema(self) -> None:
        """Create the table if it is missing. Several worker processes may race here: the
        loser's CREATE fails because the table now exists, which a second look confirms."""
        try:
            self.metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError:
            self.metadata.create_all(self.engine, checkfirst=True)

    def _params(self, row: AuditRow) -> tuple[Any, ...] | dict[str, Any]:
        """The INSERT's parameters, in :data:`_COLUMNS` order (by name for drivers that take
        named parameters)."""
        values = (row.request_id, row.case_index, self._time(row.evaluated_at), row.table_id,
                  row.version, row.facts, row.outputs, row.fired)
        return values if self._positional else dict(zip(_COLUMNS, values, strict=True))

    def record(self, rows: Sequence[AuditRow]) -> None:
        """Store ``rows`` in one transaction; return only once it is committed."""
        if not rows:
            return
        params = [self._params(r) for r in rows]
        for attempt in (1, 2):
            try:
                connection = self._writers.connection()
            except (SQLAlchemyError, self._driver_error) as error:
                raise AuditUnavailable(_reason(error)) from error
            try:
                with self._writer:
                    _insert(connection, self._sql, params)
                return
            except self._driver_error as error:
                dropped = self.engine.dialect.is_disconnect(error, connection, None)
                if dropped or not _rollback(connection):
                    self._writers.discard()
                # a connection the database dropped (restart, idle timeout) is replaced by a
                # fresh one; try once more on it rather than fail the request
                if attempt == 1 and dropped:
                    continue
                raise AuditUnavailable(_reason(error)) from error

    def read(
        self, since: dt.datetime | None, limit: int, table_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Rows at or after ``since`` (UTC), oldest first, at most ``limit``."""
        t = self.table
        query = sa.select(t).order_by(t.c.evaluated_at, t.c.id).limit(limit)
        if since is not None:
            query = query.where(t.c.evaluated_at >= since.replace(tzinfo=None))
        if table_id is not None:
            query = query.where(t.c.table_id == table_id)
        try:
            with self.engine.connect() as connection:
                result = connection.execute(query).mappings().all()
        except SQLAlchemyError as error:
            raise AuditUnavailable(_reason(error)) from error
        return [
            {
                "id": row["id"],
                "request_id": row["request_id"],
                "case_index": row["case_index"],
                "evaluated_at": row["evaluated_at"].isoformat(timespec="microseconds") + "Z",
                "table_id": row["table_id"],
                "version": row["version"],
                "facts": row["facts"],
                "outputs": row["outputs"],
                "fired": row["fired"],
            }
            for row in result
        ]

    def dispose(self) -> None:
        """Close every connection, the writers' included (before a fork, at shutdown)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._writers.close()
        self.engine.dispose()
        self._writer.close()


class _Checkpointer:
    """Copies the SQLite WAL into the database file once a second, off the request path.

    A PASSIVE checkpoint never blocks writers or readers, and sqlite3 releases the GIL while
    it runs, so requests go on meanwhile. Should this thread ever stop, SQLite still works:
    the WAL only grows until the next checkpoint (this thread's, or the next process's).
    """

    def __init__(self, database: str | None, interval: float = 1.0) -> None:
        self._database = database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if database:
            self._thread = threading.Thread(target=self._run, args=(interval,),
                                            name="audit-checkpoint", daemon=True)
            self._thread.start()

    def _run(self, interval: float) -> None:
        import sqlite3

        assert self._database is not None
        connection: sqlite3.Connection | None = None
        while not self._stop.wait(interval):
            try:
                if connection is None:
                    connection = sqlite3.connect(self._database, timeout=5,
                                                 check_same_thread=False)
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                continue  # busy or gone for a moment: the next round tries again
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class _Writers:
    """One DBAPI connection per thread for :meth:`AuditLog.record`, open from one call to the next.

    Checking a connection out of SQLAlchemy's pool and back cost about 10 us a write; a
    thread's own connection costs an attribute lookup. Each is taken from the pool once, so
    that the pool's connect events (the SQLite pragmas) have run on it, then detached so that
    it does not hold one of the pool's places (left for reads). It is in autocommit mode: a
    single INSERT is a transaction of its own, committed when the statement returns, without a
    BEGIN and a COMMIT around it (on PostgreSQL one round trip instead of three).

    A connection is closed when the caller discards it (the database broke it), when its
    thread ends (a server that starts a thread per request would otherwise gather them), and
    by :meth:`close`.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        # SQLite in memory: the database lives in the connection that the pool keeps for each
        # thread, so it stays checked out there instead (a detached one would be a new database)
        self._detach = not isinstance(engine.pool, sa.pool.SingletonThreadPool)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, weakref.finalize[Any, Any]] = {}  # so close() reaches them all

    def connection(self) -> Any:
        """This thread's connection, opened on its first write (raises SQLAlchemyError or the
        driver's error)."""
        try:
            return self._local.held.connection
        except AttributeError:
            return self._connect()

    def _connect(self) -> Any:
        pooled = self._engine.raw_connection()
        connection = pooled.dbapi_connection
        assert connection is not None  # None only once the pool has let it go
        try:
            self._engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        except Exception:
            pooled.invalidate()  # the pool closes it
            raise
        if self._detach:
            pooled.detach()
        held = _Held(connection, pooled, self._release)
        with self._lock:
            self._open[id(connection)] = held.release
        self._local.held = held
        return connection

    def _release(self, connection: Any) -> None:
        with self._lock:
            self._open.pop(id(connection), None)
        _close(connection)

    def discard(self) -> None:
        """Close this thread's connection (broken, or in a state not known); the thread's
        next write opens a new one."""
        held = self._local.__dict__.pop("held", None)
        if held is not None:
            held.release()

    def close(self) -> None:
        """Close every thread's connection. A thread that writes afterwards finds its own
        closed, which the driver reports as a disconnect, and opens a new one."""
        with self._lock:
            releases = list(self._open.values())
        for release in releases:
            release()


class _Held:
    """A thread's writing connection, and what closes it: ``release()``, which runs once,
    whether called or when the thread ends (its locals, this among them, are let go)."""

    __slots__ = ("connection", "pooled", "release", "__weakref__")

    def __init__(self, connection: Any, pooled: Any, release: Callable[[Any], None]) -> None:
        self.connection = connection
        self.pooled = pooled  # kept: one left in the pool (SQLite in memory) stays checked out
        self.release = weakref.finalize(self, release, connection)


class _WriterLock:
    """One SQLite writer at a time across the worker processes, queued by the kernel.

    SQLite lets one connection write at a time; a second writer that finds the file locked
    does not wait in a queue but sleeps and retries (1, 2, 5, 10 … ms). Under load that
    sleeping dominated: two workers served half the requests one worker did. An exclusive
    ``flock`` on a file beside the database is granted the moment the holder releases it,
    so writers take turns in microseconds. The thread lock covers gthread workers (a flock
    held through one file descriptor does not exclude other threads using the same one).
    PostgreSQL needs neither: its row inserts do not block each other.

    A context manager class rather than a generator: ``contextlib.contextmanager`` cost
    3 us a write, twice the two ``flock`` calls.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:":
            self._fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._used = self._fd is not None

    def __enter__(self) -> None:
        if not self._used:
            return
        self._threads.acquire()
        try:
            if self._fd is not None:  # None once closed: SQLite's own locking still holds
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        if not self._used:
            return
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:  # never under a writer that holds it
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _insert(connection: Any, sql: str, params: Sequence[Any]) -> None:
    """Run the INSERT on an autocommit connection: one row is a statement, committed when it
    returns; several rows share one explicit transaction (BEGIN is the same on both backends,
    and a failure leaves it open for :func:`_rollback`)."""
    cursor = connection.cursor()
    try:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.execute("BEGIN")
            cursor.executemany(sql, params)
            cursor.execute("COMMIT")
    finally:
        cursor.close()


def _naive(moment: dt.datetime) -> dt.datetime:
    """UTC without a tzinfo, as the DateTime column (TIMESTAMP WITHOUT TIME ZONE) holds it."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _sqlite_text(moment: dt.datetime) -> str:
    """``moment`` in UTC as SQLAlchemy's SQLite DATETIME stores it, to the character (the
    column is text there, and ``read`` compares it with ``since`` as text). Written here
    because that type's bind processor takes 1.3 us a row and ``isoformat`` 0.5 us; a test
    holds the two to the same text."""
    return _naive(moment).isoformat(" ", "microseconds")


def _insert_statement(table: sa.Table, dialect: Any) -> sa.TextClause:
    """``INSERT INTO <table> (<columns>) VALUES (...)`` with the JSON columns cast to JSONB on
    PostgreSQL (the values arrive as JSON text). Written out rather than generated from the
    Table so that no dialect adds an id parameter or a RETURNING clause."""
    quote = dialect.identifier_preparer
    cast = "CAST(:{} AS JSONB)" if dialect.name == "postgresql" else ":{}"
    values = [cast.format(c) if c in ("facts", "outputs", "fired") else f":{c}" for c in _COLUMNS]
    columns = ", ".join(quote.quote(c) for c in _COLUMNS)
    return sa.text(
        f"INSERT INTO {quote.format_table(table)} ({columns}) VALUES ({', '.join(values)})"
    )


def _rollback(connection: Any) -> bool:
    """End what a failed write left open (nothing, after a single INSERT); False if the
    connection could not do even that, so that the caller discards it."""
    try:
        connection.rollback()
    except Exception:
        return False
    return True


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # already broken: there is nothing left to release
        pass


def _reason(error: Exception) -> str:
    """The driver's own first line, without SQL text or parameters (they hold patient facts)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else 'no detail'}"
