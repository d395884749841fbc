"""Reading the audit trail and the version store, and nothing else: the one module of the
impact commands that knows how the service stores them (``service/audit.py``,
``service/versions.py``, and the CDS Hooks feedback of ``service/cds/store.py``, whose
override rate both read through :mod:`engine.impact.overrides`), so that a change there is
met here alone.

Read only, twice over: SQLite is opened with ``mode=ro`` (the file cannot be written, and is
never created), PostgreSQL sessions start with ``default_transaction_read_only`` on (any
write fails), and no statement here writes. The tables are found by reflection, so nothing
is created either. Rows are streamed from a server-side cursor (PostgreSQL) or SQLite's
own stepping cursor, a batch at a time, so memory stays flat however long the trail is.

Each failure is an :class:`AuditSourceError` whose message is one line a user can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from engine.impact.overrides import feedback_table_name, override_rates

AUDIT_TABLE = "evaluations"  # service.audit.AuditLog's default table name
VERSIONS_TABLE = "triage_versions"  # service.versions.VersionStore's, with its default prefix
FEEDBACK_TABLE = feedback_table_name("triage")  # service.cds.store.CdsStore's, default prefix


class AuditSourceError(Exception):
    """The audit database cannot give what was asked (unreachable, no audit trail, no such
    table id or version)."""


@dataclass(frozen=True)
class AuditedCase:
    """One stored evaluation, as text where the service stored JSON: parsed by the caller,
    in the worker that needs it."""

    row_id: int
    request_id: str
    evaluated_at: dt.datetime
    version: str
    facts: str
    outputs: str


def read_only_url(url: str) -> tuple[sa.URL, dict[str, Any]]:
    """The URL and connect arguments that open ``url`` for reading only."""
    try:
        parsed = sa.make_url(url)
    except Exception as error:
        raise AuditSourceError(f"'{url}' is not a database URL — write one such as "
                               "sqlite:///instance/audit.sqlite3 or "
                               "postgresql+psycopg://user@host/db") from error
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise AuditSourceError("an in-memory SQLite database holds no audit trail")
        return sa.make_url(f"sqlite:///file:{path}?mode=ro&uri=true"), {}
    if parsed.get_backend_name() == "postgresql":
        return parsed, {"options": "-c default_transaction_read_only=on"}
    return parsed, {}


class AuditSource:
    """The audit trail (and version store, when there is one) of one database.

    ``AuditSource(url)`` opens the database for reading only (the commands);
    :meth:`over` reads through a connection pool someone else owns (the service, whose
    tables may carry other names)."""

    def __init__(self, url: str, audit_table: str = AUDIT_TABLE,
                 versions_table: str = VERSIONS_TABLE,
                 feedback_table: str = FEEDBACK_TABLE) -> None:
        target, connect_args = read_only_url(url)
        self.shown = sa.make_url(url).render_as_string(hide_password=True)
        self.versions_table = versions_table
        self._owned = True
        try:
            self.engine = sa.create_engine(target, connect_args=connect_args)
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
                self.audit = self._reflect(connection, audit_table)
                self.feedback = self._reflect(connection, feedback_table)
        except AuditSourceError:
            self.engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as error:
            raise AuditSourceError(f"cannot reach the audit database {self.shown}: "
                                   f"{reason(error)}") from error
        if self.audit is None:
            self.engine.dispose()
            raise AuditSourceError(f"{self.shown} holds no audit trail (no table "
                                   f"'{audit_table}'): give the database `triage serve` writes to")

    @classmethod
    def over(cls, engine: sa.Engine, audit: sa.Table, versions_table: str,
             feedback: sa.Table | None = None) -> AuditSource:
        """A source reading ``audit`` (and the CDS Hooks ``feedback``, if given) through
        ``engine``, which stays open on :meth:`close`."""
        source = cls.__new__(cls)
        source.engine, source.audit, source.versions_table = engine, audit, versions_table
        source.feedback = feedback
        source.shown = engine.url.render_as_string(hide_password=True)
        source._owned = False
        return source

    def _reflect(self, connection: sa.Connection, name: str) -> sa.Table | None:
        if not sa.inspect(connection).has_table(name):
            return None
        return sa.Table(name, sa.MetaData(), autoload_with=connection)

    def close(self) -> None:
        if self._owned:
            self.engine.dispose()

    def __enter__(self) -> AuditSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- what is there ---------------------------------------------------------------------

    def _where(self, table_id: str | None, since: dt.datetime | None,
               until: dt.datetime | None) -> list[Any]:
        c = self.audit.c  # type: ignore[union-attr]
        clauses: list[Any] = []
        if table_id is not None:
            clauses.append(c.table_id == table_id)
        if since is not None:
            clauses.append(c.evaluated_at >= _naive(since))
        if until is not None:
            clauses.append(c.evaluated_at < _naive(until))
        return clauses

    def _run(self, query: Any) -> list[Any]:
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(query).all())
        except SQLAlchemyError as error:
            raise AuditSourceError(f"cannot read the audit trail: {reason(error)}") from error

    def table_ids(self) -> list[str]:
        c = self.audit.c  # type: ignore[union-attr]
        return [r[0] for r in self._run(sa.select(c.table_id).distinct().order_by(c.table_id))]

    def has_table(self, table_id: str) -> bool:
        """Whether the trail holds a case of ``table_id``."""
        c = self.audit.c  # type: ignore[union-attr]
        return bool(self._run(sa.select(c.id).where(c.table_id == table_id).limit(1)))

    def require_table(self, table_id: str) -> None:
        """:class:`AuditSourceError` naming the tables there when ``table_id`` has no row."""
        if not self.has_table(table_id):
            known = ", ".join(self.table_ids()) or "none: the audit trail is empty"
            raise AuditSourceError(f"table id '{table_id}' is not in the audit trail "
                                   f"(table ids there: {known})")

    def count(self, table_id: str | None, since: dt.datetime | None = None,
              until: dt.datetime | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(self.audit).where(  # type: ignore[arg-type]
            *self._where(table_id, since, until))
        return int(self._run(query)[0][0])

    def cases(self, table_id: str | None, since: dt.datetime | None = None,
              until: dt.datetime | None = None, batch: int = 2000
              ) -> Iterator[list[AuditedCase]]:
        """The stored cases, oldest first, ``batch`` at a time, streamed."""
        c = self.audit.c  # type: ignore[union-attr]
        text = sa.Text()
        query = (
            sa.select(c.id, c.request_id, c.evaluated_at, c.version,
                      sa.cast(c.facts, text), sa.cast(c.outputs, text))
            .where(*self._where(table_id, since, until))
            .order_by(c.evaluated_at, c.id)
        )
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(stream_results=True,
                                                      yield_per=batch).execute(query)
                for part in result.partitions(batch):
                    yield [AuditedCase(*row) for row in part]
        except SQLAlchemyError as error:
            raise AuditSourceError(f"cannot read the audit trail: {reason(error)}") from error

    # --- coverage ---------------------------------------------------------------------------

    def fired_counts(self, table_id: str | None, since: dt.datetime | None = None,
                     until: dt.datetime | None = None) -> list[tuple[str, str, str, str, int]]:
        """``(table id, version, table, rule id, times fired)``, counted by the database
        itself (``jsonb_array_elements`` / ``json_each``), so no row crosses the wire."""
        where = self._where(table_id, since, until)
        audit = self.audit
        assert audit is not None
        if self.engine.dialect.name == "postgresql":
            element = sa.func.jsonb_array_elements(audit.c.fired).table_valued("value").alias("f")
            value = element.c.value
            table_name: Any = value.op("->>")("table")
            rule_id: Any = value.op("->>")("rule_id")
        else:
            element = sa.func.json_each(audit.c.fired).table_valued("value").alias("f")
            table_name = sa.func.json_extract(element.c.value, "$.table")
            rule_id = sa.func.json_extract(element.c.value, "$.rule_id")
        query = (
            sa.select(audit.c.table_id, audit.c.version, table_name, rule_id, sa.func.count())
            .select_from(audit).join(element, sa.true())
            .where(*where)
            .group_by(audit.c.table_id, audit.c.version, table_name, rule_id)
        )
        return [(str(a), str(b), str(t), str(r), int(n)) for a, b, t, r, n in self._run(query)]

    def version_counts(self, table_id: str | None, since: dt.datetime | None = None,
                       until: dt.datetime | None = None
                       ) -> list[tuple[str, str, int, dt.datetime, dt.datetime]]:
        """``(table id, version, cases, first, last)`` per version answered."""
        c = self.audit.c  # type: ignore[union-attr]
        query = (
            sa.select(c.table_id, c.version, sa.func.count(), sa.func.min(c.evaluated_at),
                      sa.func.max(c.evaluated_at))
            .where(*self._where(table_id, since, until))
            .group_by(c.table_id, c.version)
            .order_by(c.table_id, sa.func.min(c.evaluated_at))
        )
        return [(str(a), str(v), int(n), first, last) for a, v, n, first, last in self._run(query)]

    def override_rates(self, table_id: str | None, since: dt.datetime | None = None,
                       until: dt.datetime | None = None) -> list[dict[str, Any]] | None:
        """The override rate per rule of the decisions in the period
        (:mod:`engine.impact.overrides`); None when the database has no feedback table (the
        service never answered a CDS Hooks feedback there)."""
        if self.feedback is None:
            return None
        audit = self.audit
        assert audit is not None
        try:
            with self.engine.connect() as connection:
                return override_rates(connection, audit, self.feedback,
                                      self._where(table_id, since, until))
        except SQLAlchemyError as error:
            raise AuditSourceError(f"cannot read the card feedback: {reason(error)}") from error

    # --- the version store ----------------------------------------------------------------

    def stored_version(self, version: str, table_id: str | None = None) -> tuple[str, bytes]:
        """``(file name, bytes)`` of a version the service accepted."""
        try:
            with self.engine.connect() as connection:
                store = self._reflect(connection, self.versions_table)
                if store is None:
                    raise AuditSourceError(
                        f"{self.shown} has no version store (no table "
                        f"'{self.versions_table}'), so "
                        f"version '{version}' cannot be read from it: give a workbook file")
                query = sa.select(store.c.table_id, store.c.source, store.c.content).where(
                    store.c.version == version)
                if table_id is not None:
                    query = query.where(store.c.table_id == table_id)
                rows = connection.execute(query).all()
        except SQLAlchemyError as error:
            raise AuditSourceError(f"cannot read the version store: {reason(error)}") from error
        if not rows:
            raise AuditSourceError(f"version '{version}' is not in the version store of "
                                   f"{self.shown}")
        if len({r[0] for r in rows}) > 1:
            tables = ", ".join(sorted({r[0] for r in rows}))
            raise AuditSourceError(f"version '{version}' is stored for several tables "
                                   f"({tables}): name one with --table")
        return str(rows[0][1]), bytes(rows[0][2])


def _naive(moment: dt.datetime) -> dt.datetime:
    """UTC without a tzinfo, as the service stores times."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def reason(error: BaseException) -> str:
    """The driver's first line, without SQL text or parameters (they may hold patient facts)."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
