"""The audit trail: one row per answered evaluation, committed before the answer is sent.

SQLAlchemy Core against SQLite (the default, a file in the instance folder) or PostgreSQL
(``postgresql+psycopg://…``), through :class:`service.database.Database`, which keeps the
database usable through faults (reconnecting, recreating the schema, noticing a replaced SQLite
file) and gives every statement a time limit. The contract the endpoints rely on:
:meth:`AuditLog.record` returns only after the rows are committed, to the database file that
is at the configured path, and raises :class:`AuditUnavailable` otherwise, so a 200 always has
its row and a failed write is answered with 503, never with the decision.

Every row has a request id the server made (:func:`service.logs.new_request_id`: the time and
80 random bits, so unique by construction). On PostgreSQL a unique index on the request id and
case index also makes the write exactly-once: if the connection breaks after a COMMIT reached
the server but before its answer came back, the retry finds the row already there and counts
it as stored instead of storing it twice. SQLite cannot lose a COMMIT's answer (there is no
connection to break between the two), so it is spared the index's cost (about 15 us a row,
a third of the write). The caller's own ``X-Request-ID`` is kept beside it as
``correlation_id``.

Why it is fast enough to sit on every request: one INSERT in one short transaction; on SQLite
the journal is in WAL mode with ``synchronous=NORMAL`` (a commit appends to the WAL without
an fsync; a power cut may lose the last commits but never corrupts the file — the price of
keeping an audit write within tens of microseconds); on PostgreSQL the connection stays
open. A batch writes all its rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError

from service.database import Database, missing_table, reason
from service.database import default_url as _default_url
from service.sqlitefile import FileReplaced, LockTimeout

log = logging.getLogger("service.audit")

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
    correlation_id: str | None = None
    hook_instance: str | None = None  # the CDS Hooks call that asked (service/cds/)


_COLUMNS = ("request_id", "case_index", "evaluated_at", "table_id", "version", "facts",
            "outputs", "fired", "correlation_id", "hook_instance")


def default_url(instance_path: str | Path) -> str:
    """The SQLite file used when no database URL is given."""
    return _default_url(instance_path)


class AuditLog:
    """The audit table in one database. Make one per process (after gunicorn forks)."""

    def __init__(self, database: Database | str, table_name: str = "evaluations",
                 timeout: float = 2.0) -> None:
        self.db = database if isinstance(database, Database) else Database(database, timeout)
        self.url = self.db.url
        self.engine = self.db.engine
        self.metadata = self.db.metadata
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
            sa.Column("correlation_id", sa.String(200), nullable=True),
            sa.Column("hook_instance", sa.String(200), nullable=True),
            sa.Index(f"ix_{table_name}_evaluated_at", "evaluated_at"),
            implicit_returning=False,
        )
        self._unique = sa.Index(
            f"ux_{table_name}_request", self.table.c.request_id,
            sa.func.coalesce(self.table.c.case_index, -1), unique=True,
        )
        if self.db.backend != "postgresql":  # see the module docstring
            self.table.indexes.discard(self._unique)
        self.db.add_schema(self._create, self.table)
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
        self._driver_error: type[Exception] = self.db.driver_error
        self._integrity: type[Exception] = dialect.loaded_dbapi.IntegrityError
        self._writers = _Writers(self.engine, self.db.file.closed if self.db.file else None)
        self.db.on_check(before=self._close_stale, after=self._checkpoint)

    @property
    def backend(self) -> str:
        return str(self.engine.dialect.name)

    def _create(self, connection: sa.Connection) -> None:
        """Create the table, or bring an older one up to date (the correlation_id and
        hook_instance columns and the unique index came later)."""
        self.table.create(connection, checkfirst=True)
        columns = {c["name"] for c in sa.inspect(connection).get_columns(self.table.name)}
        for added in ("correlation_id", "hook_instance"):
            if added not in columns:
                quote = connection.dialect.identifier_preparer
                connection.exec_driver_sql(
                    f"ALTER TABLE {quote.format_table(self.table)} "
                    f"ADD COLUMN {added} VARCHAR(200)")
        # IF NOT EXISTS rather than checkfirst: SQLAlchemy cannot reflect an expression
        # index, and warns when it tries
        if self.db.backend == "postgresql":
            try:
                with connection.begin_nested():  # a failure must not abort the rest
                    connection.execute(sa.schema.CreateIndex(self._unique, if_not_exists=True))
            except SQLAlchemyError as error:  # rows from before hold a request id twice
                log.warning("audit table: no unique index on the request id (%s); a retried "
                            "write may then store its row twice", reason(error))

    def create_schema(self) -> None:
        """Create the table if it is missing (raises when the database cannot be reached)."""
        self.db.create_schema()

    def _params(self, row: AuditRow) -> tuple[Any, ...] | dict[str, Any]:
        """The INSERT's parameters, in :data:`_COLUMNS` order (by name for drivers that take
        named parameters)."""
        values = (row.request_id, row.case_index, self._time(row.evaluated_at), row.table_id,
                  row.version, row.facts, row.outputs, row.fired, row.correlation_id,
                  row.hook_instance)
        return values if self._positional else dict(zip(_COLUMNS, values, strict=True))

    def record(self, rows: Sequence[AuditRow]) -> None:
        """Store ``rows`` in one transaction; return only once it is committed, within the
        database's time limit. Raises :class:`AuditUnavailable`."""
        if not rows:
            return
        deadline = time.monotonic() + self.db.timeout
        params = [self._params(r) for r in rows]
        for attempt in (1, 2):
            try:
                self._write(params, deadline)
            except self._integrity as error:
                if attempt == 2 and "ux_" in str(error):
                    return  # the first attempt's COMMIT reached the database after all
                self._failed(reason(error))
                raise AuditUnavailable(reason(error)) from error
            except _Retry as retry:
                if attempt == 1 and time.monotonic() < deadline:
                    continue
                self._failed(retry.why)
                raise AuditUnavailable(retry.why) from retry.__cause__
            except (SQLAlchemyError, self._driver_error, OSError, FileReplaced,
                    LockTimeout) as error:
                self._failed(reason(error))
                raise AuditUnavailable(reason(error)) from error
            else:
                self.db.wrote()
                return

    def _write(self, params: list[Any], deadline: float) -> None:
        connection = self._writers.connection()
        file = self.db.file
        try:
            locked = file.acquire_writer(deadline) if file is not None else False
            try:
                watched = self.db.watchdog.watch(connection, deadline)
                try:
                    _insert(connection, self._sql, params)
                finally:
                    self.db.watchdog.done(watched)
                if file is not None:
                    file.check(connection)  # raises FileReplaced: the row went nowhere
            except FileReplaced:
                assert file is not None
                file.flush_log(connection)  # still under the writer lock
                raise
            finally:
                if file is not None:
                    file.release_writer(locked)
        except FileReplaced:
            self._writers.discard()
            raise
        except self._driver_error as error:
            if isinstance(error, self._integrity):
                _rollback(connection)
                raise
            dropped = self.engine.dialect.is_disconnect(error, connection, None)  # type: ignore[arg-type]
            if dropped or not _rollback(connection):
                self._writers.discard()
            if missing_table(error):
                self._recreate()
                raise _Retry(reason(error)) from error
            if dropped:
                # a connection the database dropped (restart, idle timeout) is replaced by a
                # fresh one; try once more on it rather than fail the request
                raise _Retry(reason(error)) from error
            raise

    def _recreate(self) -> None:
        """The table is gone (dropped, or the database recreated): make it again now."""
        try:
            self.db.create_schema()
        except (SQLAlchemyError, self._driver_error) as error:
            self._failed(reason(error))

    def _failed(self, why: str) -> None:
        self.db.write_failed(why)

    def _close_stale(self) -> None:
        """Close this process's connections to a SQLite file no longer at the path."""
        file = self.db.file
        if file is None:
            return
        stale = file.stale_identities()
        if not stale:
            return
        locked = file.acquire_writer(time.monotonic() + self.db.timeout)
        try:
            old = self._writers.matching(lambda c: getattr(c, "identity", None) in stale)
            if old:
                file.flush_log(old[0])
            self._writers.close_where(lambda c: getattr(c, "identity", None) in stale)
        finally:
            file.release_writer(locked)
        self.engine.dispose()

    def _checkpoint(self) -> None:
        file = self.db.file
        if file is None:
            return
        pooled = self.engine.raw_connection()
        try:
            file.checkpoint(pooled.dbapi_connection)  # type: ignore[arg-type]
        finally:
            pooled.close()

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
        except (SQLAlchemyError, self._driver_error) as error:
            raise AuditUnavailable(reason(error)) from error
        return [
            {
                "id": row["id"],
                "request_id": row["request_id"],
                "correlation_id": row["correlation_id"],
                "case_index": row["case_index"],
                "evaluated_at": row["evaluated_at"].isoformat(timespec="microseconds") + "Z",
                "table_id": row["table_id"],
                "version": row["version"],
                "facts": row["facts"],
                "outputs": row["outputs"],
                "fired": row["fired"],
                "hook_instance": row["hook_instance"],
            }
            for row in result
        ]

    def dispose(self) -> None:
        """Close every connection, the writers' included (before a fork, at shutdown)."""
        self._writers.close()
        self.db.dispose()


class _Retry(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


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

    def __init__(self, engine: sa.Engine, on_close: Callable[[Any], None] | None = None) -> None:
        self._engine = engine
        self._on_close = on_close
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
        if self._on_close is not None:
            self._on_close(connection)

    def matching(self, test: Callable[[Any], bool]) -> list[Any]:
        """Every thread's open connection for which ``test`` is true."""
        with self._lock:
            found = [_held_connection(r) for r in self._open.values() if r.alive]
        return [c for c in found if c is not None and test(c)]

    def close_where(self, closing: Callable[[Any], bool]) -> None:
        """Close every thread's connection for which ``closing`` is true. Call it while no
        thread writes (with the writer lock held). A thread whose connection was closed finds
        it so on its next write and opens a new one."""
        with self._lock:
            releases = [r for r in self._open.values()
                        if r.alive and closing(_held_connection(r))]
        for release in releases:
            release()

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


def _held_connection(release: weakref.finalize[Any, Any]) -> Any:
    """The connection a :class:`_Held` finalizer closes (None once it has run)."""
    found = release.peek()
    return found[2][0] if found is not None else None
