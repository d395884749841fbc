"""The override rate per rule: the one definition that the audit API
(``GET /v1/admin/audit/overrides``, through :mod:`service.cds.store`) and ``triage coverage``
(through :class:`engine.impact.auditdb.AuditSource`) both call, so the two can never give
different numbers for the same database.

The definition: a decision card is the audit row its ``uuid`` names; each card counts once,
by its **latest** feedback (the highest feedback row id), since an EHR may send the outcome
again after the clinician changes their mind. A rule's cards are the cards with feedback
whose audit row lists the rule among those fired; its override rate is
``overridden / (accepted + overridden)``, rounded to four places. The reasons are the
override reasons of its overridden cards, most frequent first, at most :data:`TOP_REASONS`.

Nothing here knows how the tables were made: the caller gives the audit and feedback tables
(declared by the service, or reflected read-only by the commands) and a connection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

FEEDBACK_SUFFIX = "_cds_feedback"  # the service's table is f"{STORE_PREFIX}{FEEDBACK_SUFFIX}"
TOP_REASONS = 3

RuleKey = tuple[str, str, str, str]  # table id, version, decision table, rule id
Reason = tuple[str | None, str | None, str | None]  # system, code, display when no code


def feedback_table_name(prefix: str) -> str:
    return f"{prefix}{FEEDBACK_SUFFIX}"


def override_query(audit: sa.Table, feedback: sa.Table, where: Sequence[Any] = ()) -> Any:
    """Every feedback row joined to its audit row, oldest feedback first; ``where`` are
    clauses on the audit table (table id, period)."""
    return (sa.select(audit.c.table_id, audit.c.version, audit.c.fired,
                      feedback.c.request_id, feedback.c.outcome, feedback.c.reason_system,
                      feedback.c.reason_code, feedback.c.reason_display)
            .join(audit, audit.c.request_id == feedback.c.request_id)
            .where(*where)
            .order_by(feedback.c.id))


def tally(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Per rule, the counts and the rate, from :func:`override_query`'s rows in its order."""
    latest: dict[str, Any] = {}
    for row in rows:
        latest[row.request_id] = row  # ordered by id: the last one wins
    counts: dict[RuleKey, list[int]] = {}
    reasons: dict[RuleKey, Counter[Reason]] = {}
    displays: dict[Reason, str | None] = {}
    for row in latest.values():
        for fired in _fired(row.fired):
            key = (str(row.table_id), str(row.version), fired["table"], fired["rule_id"])
            tally_ = counts.setdefault(key, [0, 0])
            overridden = row.outcome != "accepted"
            tally_[1 if overridden else 0] += 1
            if overridden and (row.reason_code or row.reason_display):
                # a reason is its code; one without a code is its display text
                reason = (row.reason_system, row.reason_code,
                          None if row.reason_code else row.reason_display)
                reasons.setdefault(key, Counter())[reason] += 1
                displays.setdefault(reason, row.reason_display)
    return [
        {"table_id": t, "version": v, "table": table, "rule_id": rule,
         "cards": a + o, "accepted": a, "overridden": o,
         "override_rate": round(o / (a + o), 4),
         "reasons": [{"system": reason[0], "code": reason[1], "display": displays[reason],
                      "cards": n}
                     for reason, n in sorted(
                         reasons.get((t, v, table, rule), Counter()).items(),
                         key=lambda item: (-item[1], str(item[0][1] or item[0][2])))[
                         :TOP_REASONS]]}
        for (t, v, table, rule), (a, o) in sorted(counts.items())
    ]


def override_rates(connection: sa.Connection, audit: sa.Table, feedback: sa.Table,
                   where: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """:func:`tally` of the feedback in the database ``connection`` reads."""
    return tally(connection.execute(override_query(audit, feedback, where)))


def _fired(value: Any) -> list[dict[str, Any]]:
    """The fired rules of an audit row: a list, or its JSON text where a reflected column
    reads as text."""
    if isinstance(value, str | bytes):
        import json

        value = json.loads(value)
    return list(value or [])
