"""The audit trail: one row per answered evaluation, committed before the answer is sent.

SQLAlchemy Core against SQLite (the default, a file in the instance folder) or PostgreSQL
(``postgresql+psycopg://…``). The contract the endpoints rely on: :meth:`AuditLog.record`
returns only after the rows are committed, and raises :class:`AuditUnavailable` otherwise, so
a 200 always has its row and a failed write is answered with 503, never with the decision.

Why it is fast enough to sit on every request: one INSERT in one short transaction; on SQLite
the journal is in WAL mode with ``synchronous=NORMAL`` (a commit appends to the WAL without
an fsync; a power cut may lose the last commits but never corrupts the file — the price of
keeping an audit write within tens of microseconds); on PostgreSQL the pool keeps connections
open. A batch writes all its rows in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError

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


def dumps(value: Any) -> str:
    """Compact JSON text, as stored and as answered."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


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
        # 60 us a call, as much as the INSERT and COMMIT themselves): the INSERT is compiled
        # once by SQLAlchemy for this database and run on a pooled DBAPI connection.
        dialect = self.engine.dialect
        compiled = _insert_statement(self.table, dialect).compile(dialect=dialect)
        self._sql = compiled.string
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._time = self.table.c.evaluated_at.type.dialect_impl(dialect).bind_processor(
            dialect
        )
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error
        database = self.engine.url.database if self.backend == "sqlite" else None
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

    def _params(self, row: AuditRow) -> dict[str, Any] | tuple[Any, ...]:
        moment = row.evaluated_at.astimezone(dt.UTC).replace(tzinfo=None)
        values = {
            "request_id": row.request_id,
            "case_index": row.case_index,
            "evaluated_at": self._time(moment) if self._time else moment,
            "table_id": row.table_id,
            "version": row.version,
            "facts": row.facts,
            "outputs": row.outputs,
            "fired": row.fired,
        }
        return tuple(values[k] for k in self._order) if self._order is not None else values

    def record(self, rows: Sequence[AuditRow]) -> None:
        """Store ``rows`` in one transaction; return only once it is committed."""
        if not rows:
            return
        params = [self._params(r) for r in rows]
        for attempt in (1, 2):
            try:
                connection = self.engine.raw_connection()
            except SQLAlchemyError as error:
                raise AuditUnavailable(_reason(error)) from error
            try:
                with self._writer.held():
                    cursor = connection.cursor()
                    if len(params) == 1:
                        cursor.execute(self._sql, params[0])
                    else:
                        cursor.executemany(self._sql, params)  # type: ignore[arg-type]
                    cursor.close()
                    connection.commit()
                return
            except self._driver_error as error:
                dropped = self.engine.dialect.is_disconnect(
                    error, connection.dbapi_connection, None  # type: ignore[arg-type]
                )
                if dropped:
                    connection.invalidate(error)
                else:
                    _rollback(connection)
                # a connection the database dropped (restart, idle timeout) is replaced by
                # the pool; try once more on a fresh one rather than fail the request
                if attempt == 1 and dropped:
                    continue
                raise AuditUnavailable(_reason(error)) from error
            finally:
                connection.close()  # back to the pool

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
        if self._checkpointer is not None:
            self._checkpointer.stop()
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


class _WriterLock:
    """One SQLite writer at a time across the worker processes, queued by the kernel.

    SQLite lets one connection write at a time; a second writer that finds the file locked
    does not wait in a queue but sleeps and retries (1, 2, 5, 10 … ms). Under load that
    sleeping dominated: two workers served half the requests one worker did. An exclusive
    ``flock`` on a file beside the database is granted the moment the holder releases it,
    so writers take turns in microseconds. The thread lock covers gthread workers (a flock
    held through one file descriptor does not exclude other threads using the same one).
    PostgreSQL needs neither: its row inserts do not block each other.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:":
            self._fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._fd is None:
            yield
            return
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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


def _rollback(connection: Any) -> None:
    try:
        connection.rollback()
    except Exception:  # the connection is unusable; the pool discards it on close
        connection.invalidate()


def _reason(error: Exception) -> str:
    """The driver's own first line, without SQL text or parameters (they hold patient facts)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else 'no detail'}"
