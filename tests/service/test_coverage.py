"""``GET /v1/admin/tables/<id>/coverage``: production coverage of a served table, per version,
counted from the audit rows the service wrote for real requests.

The expected counts are computed here from the answers the service gave (each answer lists
the rules that fired), independently of the SQL that counts them in the endpoint.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import engine
from service import contract
from tests.impact.cases import random_facts
from tests.service.conftest import TABLE, WORKBOOK, admin, edit_workbook

URL = f"/v1/admin/tables/{TABLE}/coverage"


def _evaluate(client: FlaskClient, count: int, seed: int) -> tuple[str, Counter[str]]:
    """``count`` random valid cases through the service: the version that answered and how
    often each rule fired."""
    model = engine.load(WORKBOOK)
    rng = random.Random(seed)
    fired: Counter[str] = Counter()
    versions = set()
    for _ in range(count):
        answer = client.post(f"/v1/tables/{TABLE}/evaluate",
                             json={"facts": random_facts(model, rng)})
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        versions.add(body["version"])
        fired.update(f"{f['table']}/{f['rule_id']}" for f in body["fired"])
    assert len(versions) == 1
    return versions.pop(), fired


def _rules(version: dict[str, Any]) -> dict[str, int]:
    return {f"{r['table']}/{r['rule_id']}": r["fired"] for r in version["rules"]}


def test_coverage_per_version_with_the_rules_that_never_fired(
    make_app: Callable[..., Flask], database_url: str, tables_dir: Path
) -> None:
    app = make_app(DATABASE_URL=database_url)
    client = app.test_client()
    first, first_fired = _evaluate(client, 40, seed=1)
    edit_workbook(tables_dir / WORKBOOK.name, "Advice", "C12", "Book a GP appointment.")
    assert client.post("/v1/admin/reload", headers=admin()).status_code == 200
    second, second_fired = _evaluate(client, 25, seed=2)
    assert first != second

    answer = client.get(URL, headers=admin())
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    contract.Coverage.model_validate(body)
    assert body["table_id"] == TABLE
    assert [(v["version"], v["cases"]) for v in body["versions"]] == [(first, 40), (second, 25)]
    every = {f"{t.name}/{r.rule_id}" for t in engine.load(WORKBOOK).tables for r in t.rules}
    for version, fired in zip(body["versions"], (first_fired, second_fired), strict=True):
        assert version["rules_known"] is True
        counts = _rules(version)
        assert set(counts) == every
        assert {k: v for k, v in counts.items() if v} == dict(fired)
        never = {f"{r['table']}/{r['rule_id']}" for r in version["never_fired"]}
        assert never == every - set(fired) and never  # 65 cases cannot reach all 152 rules

    # a fresh worker holds only the serving version: the older one's rules come from the store
    fresh = make_app(DATABASE_URL=database_url, AUDIT_TABLE=app.config["AUDIT_TABLE"],
                     STORE_PREFIX=app.config["STORE_PREFIX"], KEEP_PREVIOUS_VERSIONS=0)
    again = fresh.test_client().get(URL, headers=admin()).get_json()
    assert [v["rules_known"] for v in again["versions"]] == [True, True]
    assert again["versions"] == body["versions"]


def test_since_and_until(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    _evaluate(client, 5, seed=3)
    later = client.get(URL, headers=admin(), query_string={"since": "2999-01-01"}).get_json()
    assert later["versions"] == [] and later["since"] == "2999-01-01T00:00:00Z"
    before = client.get(URL, headers=admin(), query_string={"until": "2000-01-01"}).get_json()
    assert before["versions"] == []
    now = client.get(URL, headers=admin(), query_string={"until": "2999-01-01T00:00:00+02:00"})
    assert now.get_json()["versions"][0]["cases"] == 5


@pytest.mark.parametrize(("query", "field"), [
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-01"}, "until"),
    ({"from": "2026-01-01"}, "from"),
])
def test_bad_parameters_are_422_naming_the_field(client: FlaskClient, query: dict[str, str],
                                                 field: str) -> None:
    answer = client.get(URL, headers=admin(), query_string=query)
    assert answer.status_code == 422
    body = answer.get_json()
    contract.ValidationError.model_validate(body)
    assert [e["field"] for e in body["errors"]] == [field]


def test_unknown_table_and_authorisation(client: FlaskClient) -> None:
    missing = client.get("/v1/admin/tables/no_such_table/coverage", headers=admin())
    assert missing.status_code == 404 and missing.get_json()["error"] == "unknown_table"
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer wrong"}).status_code == 401
    served = client.get(URL, headers=admin()).get_json()  # served, not yet asked: no cases
    assert served["versions"] == []


def test_a_table_no_longer_served_still_has_its_coverage(client: FlaskClient) -> None:
    _evaluate(client, 3, seed=4)
    assert client.post(f"/v1/admin/tables/{TABLE}/retire", headers=admin()).status_code == 200
    body = client.get(URL, headers=admin()).get_json()
    assert body["versions"][0]["cases"] == 3
    assert body["versions"][0]["rules_known"] is True  # from the version store


def test_the_audit_database_down_is_503(client: FlaskClient, app: Flask,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.impact.auditdb import AuditSource, AuditSourceError

    def down(*_: Any) -> Any:
        raise AuditSourceError("cannot read the audit trail: connection refused")

    monkeypatch.setattr(AuditSource, "fired_counts", down)
    answer = client.get(URL, headers=admin())
    assert answer.status_code == 503 and answer.get_json()["error"] == "audit_unavailable"


def test_openapi_describes_the_endpoint(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    path = document["paths"]["/v1/admin/tables/{table_id}/coverage"]["get"]
    assert {p["name"] for p in path["parameters"]} == {"table_id", "since", "until"}
    assert set(path["responses"]) >= {"200", "401", "403", "404", "422", "503"}
    assert "Coverage" in document["components"]["schemas"]
