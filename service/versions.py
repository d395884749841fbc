"""The version store: every workbook version that passed the gate, kept in the database.

Two tables, in the same database as the audit trail:

* ``<prefix>_versions`` — one row per (table id, version): the workbook's bytes, the version
  id (``engine.loader.content_version``: a hash of the cells the engine reads, so saving the
  same content twice gives the same version), when it was first accepted, the gate's
  validation summary, and the file name relative to the tables folder.
* ``<prefix>_heads`` — one row per table id: the version that serves, when it became the
  head, and whether the table was retired (``POST /v1/admin/tables/<id>/retire``).

What it gives the service: a pinned version resolves on any worker of any instance (it is
loaded from here when the worker does not hold it); every worker and every instance that
shares the database serves the same head; a deleted workbook keeps its last good version
serving, since the version's bytes are here; and a table stops serving only when it is
retired. This is what lets the service grow past one machine: instances behind a load
balancer, sharing one PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.database import Database, Transaction

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


@dataclass(frozen=True)
class StoredVersion:
    """One accepted version of a table, as stored."""

    table_id: str
    version: str
    source: str  # the file name, relative to the tables folder
    content: bytes
    accepted_at: dt.datetime  # UTC
    validation: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Head:
    """The version of a table that serves, or the fact that the table was retired."""

    table_id: str
    version: str
    source: str
    since: dt.datetime  # when it became the head (UTC)
    retired_at: dt.datetime | None = None


class VersionStore:
    """The store in one database. Every method raises :class:`DatabaseUnavailable` when the
    database cannot answer within its time limit."""

    def __init__(self, db: Database, prefix: str = "triage") -> None:
        self.db = db
        self.versions = sa.Table(
            f"{prefix}_versions", db.metadata,
            sa.Column("table_id", sa.String(200), primary_key=True),
            sa.Column("version", sa.String(64), primary_key=True),
            sa.Column("source", sa.String(500), nullable=False),
            sa.Column("content", sa.LargeBinary, nullable=False),
            sa.Column("accepted_at", sa.DateTime(), nullable=False),
            sa.Column("validation", _JSON, nullable=False),
        )
        self.heads = sa.Table(
            f"{prefix}_heads", db.metadata,
            sa.Column("table_id", sa.String(200), primary_key=True),
            sa.Column("version", sa.String(64), nullable=False),
            sa.Column("source", sa.String(500), nullable=False),
            sa.Column("since", sa.DateTime(), nullable=False),
            sa.Column("retired_at", sa.DateTime(), nullable=True),
        )
        db.add_schema(self._create, self.versions, self.heads)

    def _create(self, connection: sa.Connection) -> None:
        self.versions.create(connection, checkfirst=True)
        self.heads.create(connection, checkfirst=True)

    def _insert(self, table: sa.Table) -> Any:
        module = postgresql if self.db.backend == "postgresql" else sqlite
        return module.insert(table)

    def put(self, stored: StoredVersion, move_head: bool) -> Head:
        """Keep ``stored`` (once: a version already kept keeps its first acceptance) and, with
        ``move_head`` or when the table has no head yet, make it the head (which also brings
        a retired table back). Returns the head after this."""
        keep = self._insert(self.versions).values(
            table_id=stored.table_id, version=stored.version, source=stored.source,
            content=stored.content, accepted_at=_naive(stored.accepted_at),
            validation=dict(stored.validation),
        ).on_conflict_do_nothing(index_elements=["table_id", "version"])
        values = {"table_id": stored.table_id, "version": stored.version,
                  "source": stored.source, "since": _naive(stored.accepted_at),
                  "retired_at": None}
        head = self._insert(self.heads).values(**values)
        if move_head:
            head = head.on_conflict_do_update(
                index_elements=["table_id"],
                set_={k: v for k, v in values.items() if k != "table_id"})
        else:
            head = head.on_conflict_do_nothing(index_elements=["table_id"])
        with self._transaction() as connection:
            connection.execute(keep)
            connection.execute(head)
            found = self._head(connection, stored.table_id)
        assert found is not None
        return found

    def known(self, table_id: str, version: str) -> bool:
        """Whether this version of the table was ever accepted."""
        query = sa.select(self.versions.c.version).where(
            self.versions.c.table_id == table_id, self.versions.c.version == version)
        with self._transaction() as connection:
            return connection.execute(query).first() is not None

    def get(self, table_id: str, version: str) -> StoredVersion | None:
        v = self.versions
        query = sa.select(v).where(v.c.table_id == table_id, v.c.version == version)
        with self._transaction() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return StoredVersion(row["table_id"], row["version"], row["source"],
                             bytes(row["content"]), _aware(row["accepted_at"]),
                             row["validation"] or {})

    def all_heads(self) -> dict[str, Head]:
        with self._transaction() as connection:
            rows = connection.execute(sa.select(self.heads)).mappings().all()
        return {row["table_id"]: _head(row) for row in rows}

    def history(self, table_id: str) -> list[dict[str, Any]]:
        """Every kept version of a table, newest first, without the bytes."""
        v = self.versions
        query = (sa.select(v.c.version, v.c.source, v.c.accepted_at, v.c.validation)
                 .where(v.c.table_id == table_id).order_by(v.c.accepted_at.desc()))
        with self._transaction() as connection:
            rows = connection.execute(query).mappings().all()
        return [{"version": r["version"], "source": r["source"],
                 "accepted_at": _iso(_aware(r["accepted_at"])),
                 "validation": r["validation"] or {}} for r in rows]

    def retire(self, table_id: str, at: dt.datetime) -> Head | None:
        """Stop serving the table everywhere; None when the store has no such table."""
        h = self.heads
        update = sa.update(h).where(h.c.table_id == table_id).values(retired_at=_naive(at))
        with self._transaction() as connection:
            connection.execute(update)
            return self._head(connection, table_id)

    def _head(self, connection: sa.Connection, table_id: str) -> Head | None:
        row = connection.execute(
            sa.select(self.heads).where(self.heads.c.table_id == table_id)).mappings().first()
        return _head(row) if row is not None else None

    def _transaction(self) -> Transaction:
        return Transaction(self.db)


def _head(row: Any) -> Head:
    retired = row["retired_at"]
    return Head(row["table_id"], row["version"], row["source"], _aware(row["since"]),
                _aware(retired) if retired is not None else None)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
