"""The override rate per rule in ``triage coverage``: the service is started with its default
table names, as `triage serve` does; real CDS Hooks calls and feedback are posted to it
(tests/cds/calls.py), and the rate is read three ways — the audit API
(``GET /v1/admin/audit/overrides``), the coverage endpoint and ``triage coverage`` — on
SQLite and, through a role that may only read, on PostgreSQL.

The expected numbers are counted here from what was posted and the fired rules of each
card's audit row, not by the SQL under test.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

import engine
from engine.cli import main
from service import contract, create_app
from service.state import KEY, State
from tests.cds.calls import decision_card, feedback
from tests.cds.conftest import SERVICE
from tests.impact.conftest import WORKBOOK, fill, random_facts
from tests.service.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REASONS = ("clinical-judgement", "answers-incorrect", "already-addressed")
Key = tuple[str, str]  # decision table, rule id


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def service(url: str, tmp_path: Path) -> Flask:
    """The service on ``url`` with the default table names, JWT verification off."""
    folder = tmp_path / "tables"
    folder.mkdir(exist_ok=True)
    shutil.copy(WORKBOOK, folder / WORKBOOK.name)
    return create_app({"TESTING": True, "TABLES_DIR": str(folder), "DATABASE_URL": url,
                       "WATCH": False, "LOG_REQUESTS": False, "CDS_VERIFY_JWT": False,
                       "ADMIN_TOKEN": ADMIN_TOKEN})


def close(app: Flask) -> None:
    state: State = app.extensions[KEY]
    state.close()
    state.database.dispose()


def post_feedback(app: Flask, cards: int = 16, seed: int = 3) -> dict[Key, dict[str, Any]]:
    """Hook calls on random cases and feedback on each card (some sent twice: the latest
    counts); what each rule should show, counted from the cards' audit rows."""
    rng = random.Random(seed)
    model = engine.load(WORKBOOK)
    client = app.test_client()
    final: dict[str, tuple[str, str | None]] = {}
    for n in range(cards):
        card = decision_card(app, random_facts(model, rng))["uuid"]
        for _ in range(2 if n % 5 == 0 else 1):
            outcome = rng.choice(["accepted", "overridden"])
            code = rng.choice(REASONS) if outcome == "overridden" else None
            answer = client.post(SERVICE + "/feedback", json=feedback(card, outcome, code))
            assert answer.status_code == 200, answer.get_json()
            final[card] = (outcome, code)
    fired = {r["request_id"]: r["fired"] for r in app.extensions[KEY].audit.read(None, 500)}
    expected: dict[Key, dict[str, Any]] = {}
    for card, (outcome, code) in final.items():
        for rule in fired[uuid.UUID(card).hex]:
            counts = expected.setdefault((rule["table"], rule["rule_id"]),
                                         {"accepted": 0, "overridden": 0, "reasons": Counter()})
            counts[outcome] += 1
            if code is not None:
                counts["reasons"][code] += 1
    assert any(c["accepted"] and c["overridden"] for c in expected.values())
    return expected


def _counts(overrides: dict[str, Any]) -> tuple[int, int, int, float | None, dict[str, int]]:
    return (overrides["cards"], overrides["accepted"], overrides["overridden"],
            overrides["override_rate"], {r["code"]: r["cards"] for r in overrides["reasons"]})


def _expected(counts: dict[str, Any]) -> tuple[int, int, int, float, dict[str, int]]:
    a, o = counts["accepted"], counts["overridden"]
    top = dict(sorted(counts["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    return a + o, a, o, round(o / (a + o), 4), top


def check_three_readers(app: Flask, reader_url: str, expected: dict[Key, dict[str, Any]]
                        ) -> None:
    client = app.test_client()
    api = client.get("/v1/admin/audit/overrides", headers=ADMIN)
    assert api.status_code == 200
    contract.OverridePage.model_validate(api.json)
    by_api = {(r["table"], r["rule_id"]): _counts(r) for r in api.json["rules"]}
    assert by_api == {k: _expected(v) for k, v in expected.items()}

    endpoint = client.get("/v1/admin/tables/muscle_twitching/coverage", headers=ADMIN)
    assert endpoint.status_code == 200
    contract.Coverage.model_validate(endpoint.json)
    assert endpoint.json["feedback"] is True

    cli = run("coverage", "--database-url", reader_url, "--format", "json")
    assert cli.exit_code == 0, cli.output
    report = json.loads(cli.output)
    assert report["feedback"] is True
    for versions in (report["versions"], endpoint.json["versions"]):
        (version,) = versions
        by_rule = {(r["table"], r["rule_id"]): _counts(r["overrides"])
                   for r in version["rules"] if r["overrides"]["cards"]}
        assert by_rule == by_api  # one definition: the API and coverage cannot disagree
        without = [r for r in version["rules"] if (r["table"], r["rule_id"]) not in by_api]
        assert without and all(r["overrides"]["override_rate"] is None for r in without)

    text = run("coverage", "--database-url", reader_url)
    assert text.exit_code == 0, text.output
    (table, rule), counts = max(expected.items(), key=lambda kv: kv[1]["overridden"])
    cards, _, overridden, rate, reasons = _expected(counts)
    line = next(t for t in text.output.splitlines() if f" {table}/{rule} " in t)
    assert (f"; {cards} cards with feedback, {overridden} overridden ({100 * rate:.1f}%: "
            in line), line
    first_reason = next(iter(reasons))
    assert f"{first_reason} {reasons[first_reason]}" in line


def test_override_rate_in_coverage_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    app = service(url, tmp_path)
    try:
        expected = post_feedback(app)
        check_three_readers(app, url, expected)
    finally:
        close(app)


@pytest.fixture
def served_postgres(postgres_server: sa.URL, reader_role: str) -> Iterator[tuple[str, str]]:
    """(owner URL, read-only URL); the service's tables dropped afterwards."""
    owner = postgres_server.render_as_string(hide_password=False)
    yield owner, (postgres_server.set(username=reader_role, password=None)
                  .render_as_string(hide_password=False))
    engine_ = sa.create_engine(postgres_server)
    metadata = sa.MetaData()
    metadata.reflect(engine_)
    metadata.drop_all(engine_)
    engine_.dispose()


def test_override_rate_in_coverage_on_postgresql(
    served_postgres: tuple[str, str], tmp_path: Path
) -> None:
    owner, reader = served_postgres
    app = service(owner, tmp_path)
    try:
        expected = post_feedback(app, seed=5)
        check_three_readers(app, reader, expected)
    finally:
        close(app)


def test_no_feedback_table_says_nothing_about_overrides(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    fill(url, engine.load(WORKBOOK), 30)  # the audit trail alone, as before CDS Hooks
    report = json.loads(run("coverage", "--database-url", url, "--format", "json").output)
    assert report["feedback"] is False
    assert report["versions"] and all(r["overrides"] is None
                                      for v in report["versions"] for r in v["rules"])
    text = run("coverage", "--database-url", url, "--workbook", str(WORKBOOK))
    assert text.exit_code == 0, text.output
    assert "feedback" not in text.output and "overrid" not in text.output


def test_feedback_table_without_feedback_says_so_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    app = service(url, tmp_path)
    try:
        decision_card(app, random_facts(engine.load(WORKBOOK), random.Random(1)))
    finally:
        close(app)
    report = json.loads(run("coverage", "--database-url", url, "--format", "json").output)
    assert report["feedback"] is True
    assert all(r["overrides"]["cards"] == 0 for r in report["versions"][0]["rules"])
    text = run("coverage", "--database-url", url).output
    assert text.count("no card feedback from the EHR for this version") == 1
    assert "cards with feedback" not in text


def test_the_definition_latest_feedback_and_reasons() -> None:
    """:func:`tally` on hand-made rows: the latest feedback of a card counts; a reason without
    a code is its display text; an override without a reason counts, but names none; at most
    three reasons, most frequent first."""
    from types import SimpleNamespace

    from engine.impact.overrides import tally

    fired = [{"table": "disposition", "rule_id": "D1"}]

    def row(card: str, outcome: str, code: str | None = None,
            display: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(table_id="t", version="v1", fired=json.dumps(fired),
                               request_id=card, outcome=outcome, reason_system="urn:r",
                               reason_code=code, reason_display=display)

    rows = [row("a", "overridden", "x"), row("a", "accepted"),  # changed their mind
            row("b", "overridden", "x"), row("c", "overridden", "x"),
            row("d", "overridden", None, "Patient prefers to wait"),
            row("e", "overridden", "y"), row("f", "overridden", "z"), row("g", "overridden"),
            row("h", "overridden", "z")]
    (rule,) = tally(rows)
    assert (rule["cards"], rule["accepted"], rule["overridden"], rule["override_rate"]) == (
        8, 1, 7, 0.875)
    assert [(r["code"], r["display"], r["cards"]) for r in rule["reasons"]] == [
        ("x", None, 2), ("z", None, 2), (None, "Patient prefers to wait", 1)]
