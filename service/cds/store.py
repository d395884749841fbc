"""What the CDS Hooks endpoints keep in the service's database, beside the audit trail:

* ``<prefix>_cds_feedback`` — one row per card outcome an EHR reports (accepted or
  overridden, with the override reason), keyed by the audit row's request id: a decision
  card's ``uuid`` *is* its audit row's request id (32 hex digits read as a UUID), so the
  feedback finds its decision and fired rules with no mapping table to keep;
* ``<prefix>_cds_jti`` — the ``jti`` of every client JWT accepted, until it expires, so a
  replayed token is refused by every worker and every instance sharing the database.

Both go through :class:`service.database.Database` (time limits, schema recreated after a
fault) on SQLite and PostgreSQL alike; a database that cannot answer is a 503.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.impact.overrides import feedback_table_name, override_rates
from service.audit import AuditLog
from service.database import Database, Transaction

_JSON = sa.JSON()


@dataclass(frozen=True)
class Outcome:
    """One card's feedback, as stored."""

    request_id: str
    service_id: str
    card: str
    outcome: str  # accepted | overridden
    reason_system: str | None
    reason_code: str | None
    reason_display: str | None
    user_comment: str | None
    accepted_suggestions: list[str]
    outcome_timestamp: str
    received_at: dt.datetime


def request_id_of(card: str) -> str | None:
    """The audit row's request id a decision card's uuid stands for; None if not a UUID."""
    try:
        return uuid.UUID(card).hex
    except (ValueError, AttributeError, TypeError):
        return None


def card_uuid(request_id: str) -> str:
    return str(uuid.UUID(hex=request_id))


class CdsStore:
    """The feedback and JWT-replay tables in one database."""

    def __init__(self, db: Database, audit: AuditLog, prefix: str = "triage") -> None:
        self.db = db
        self.audit = audit
        self.feedback = sa.Table(
            feedback_table_name(prefix), db.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("request_id", sa.String(64), nullable=False, index=True),
            sa.Column("service_id", sa.String(200), nullable=False),
            sa.Column("card", sa.String(64), nullable=False),
            sa.Column("outcome", sa.String(20), nullable=False),
            sa.Column("reason_system", sa.String(500), nullable=True),
            sa.Column("reason_code", sa.String(200), nullable=True),
            sa.Column("reason_display", sa.String(1000), nullable=True),
            sa.Column("user_comment", sa.Text, nullable=True),
            sa.Column("accepted_suggestions", _JSON, nullable=False),
            sa.Column("outcome_timestamp", sa.String(64), nullable=False),
            sa.Column("received_at", sa.DateTime(), nullable=False),
        )
        self.tokens = sa.Table(
            f"{prefix}_cds_jti", db.metadata,
            sa.Column("issuer", sa.String(500), primary_key=True),
            sa.Column("jti", sa.String(200), primary_key=True),
            sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
        )
        db.add_schema(self._create, self.feedback, self.tokens)
        self._accepted = 0

    def _create(self, connection: sa.Connection) -> None:
        self.feedback.create(connection, checkfirst=True)
        self.tokens.create(connection, checkfirst=True)

    def cards_given(self, service_id: str, request_ids: Iterable[str]) -> set[str]:
        """Which of ``request_ids`` are audit rows of decisions by ``service_id``."""
        wanted = sorted(set(request_ids))
        if not wanted:
            return set()
        audit = self.audit.table
        query = sa.select(audit.c.request_id).where(
            audit.c.request_id.in_(wanted), audit.c.table_id == service_id)
        with Transaction(self.db) as connection:
            return {row[0] for row in connection.execute(query)}

    def record(self, outcomes: Sequence[Outcome]) -> None:
        rows = [vars(o) | {"received_at": _naive(o.received_at)} for o in outcomes]
        with Transaction(self.db) as connection:
            connection.execute(sa.insert(self.feedback), rows)

    def first_use(self, issuer: str, jti: str, expires: dt.datetime) -> bool:
        """Record a token's ``jti``; False if it was already used (a replay)."""
        module = postgresql if self.db.backend == "postgresql" else sqlite
        statement = module.insert(self.tokens).values(
            issuer=issuer, jti=jti, expires_at=_naive(expires)
        ).on_conflict_do_nothing().returning(self.tokens.c.jti)  # no row back: already there
        with Transaction(self.db) as connection:
            if connection.execute(statement).first() is None:
                return False
        self._accepted += 1
        if self._accepted % 500 == 1:  # now and then, forget tokens that can no longer be used
            with Transaction(self.db) as connection:
                connection.execute(sa.delete(self.tokens).where(
                    self.tokens.c.expires_at < _naive(dt.datetime.now(dt.UTC))))
        return True

    def override_rates(self, table_id: str | None = None) -> list[dict[str, Any]]:
        """Per rule, the cards with feedback it fired in, accepted and overridden, and the
        override rate, as :mod:`engine.impact.overrides` defines them for `triage coverage`
        too."""
        audit = self.audit.table
        where = [] if table_id is None else [audit.c.table_id == table_id]
        with Transaction(self.db) as connection:
            return override_rates(connection, audit, self.feedback, where)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
