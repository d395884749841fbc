"""The audit trail, on SQLite and (when TRIAGE_TEST_DATABASE_URL is set) PostgreSQL: a row
per answered evaluation, written before the 200; a failed write is a 503, never a 200; the
admin endpoint reads it back and needs the admin token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask

from tests.service.conftest import TABLE, admin, example_facts

URL = f"/v1/tables/{TABLE}/evaluate"


def test_each_answered_evaluation_has_its_row(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    client = make_app(DATABASE_URL=database_url).test_client()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    answer = client.post(URL, json={"facts": example_facts()}).get_json()
    client.post(URL, json={"facts": {}})  # 422: not an evaluation, no row
    rows = client.get("/v1/admin/audit", headers=admin()).get_json()
    assert rows["count"] == 1
    (row,) = rows["records"]
    assert row["request_id"] == answer["request_id"]
    assert row["table_id"] == TABLE and row["version"] == answer["version"]
    assert row["facts"] == example_facts()
    assert row["outputs"] == answer["outputs"]
    assert row["fired"] == answer["fired"]
    assert row["case_index"] is None
    when = dt.datetime.fromisoformat(row["evaluated_at"])
    assert before <= when <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_audit_reads_since_a_time_with_a_limit(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    client = make_app(DATABASE_URL=database_url).test_client()
    ids = [client.post(URL, json={"facts": example_facts()}).get_json()["request_id"]
           for _ in range(5)]
    everything = client.get("/v1/admin/audit?limit=1000", headers=admin()).get_json()["records"]
    assert [r["request_id"] for r in everything] == ids
    third = everything[2]["evaluated_at"]
    later = client.get("/v1/admin/audit", query_string={"since": third, "limit": 2},
                       headers=admin()).get_json()["records"]
    assert [r["request_id"] for r in later] == ids[2:4]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get("/v1/admin/audit", query_string={"since": future},
                      headers=admin()).get_json()["count"] == 0
    other = client.get("/v1/admin/audit?table_id=other", headers=admin()).get_json()
    assert other["count"] == 0


def test_a_failed_audit_write_is_503_and_no_decision(
    make_app: Callable[..., Flask], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(DATABASE_URL=database_url)
    audit = app.extensions["triage"].audit
    audit.table.drop(audit.engine)  # the database refuses every write from now on
    answer = app.test_client().post(URL, json={"facts": example_facts()})
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["error"] == "audit_unavailable"
    assert "outputs" not in body and "fired" not in body
    assert "audit write failed" in caplog.text
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "triage_audit_failures_total 1.0" in metrics
    batch = app.test_client().post(f"/v1/tables/{TABLE}/evaluate-batch",
                                   json={"cases": [{"facts": example_facts()}]})
    assert batch.status_code == 503
    audit.create_schema()  # so that the fixture can drop it again


def test_audit_read_failure_is_503(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    audit = app.extensions["triage"].audit
    audit.table.drop(audit.engine)
    answer = app.test_client().get("/v1/admin/audit", headers=admin())
    assert answer.status_code == 503 and answer.get_json()["error"] == "audit_unavailable"


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=yesterday", "since"), ("limit=0", "limit"), ("limit=100000", "limit"),
     ("limit=-1", "limit"), ("limit=ten", "limit"), ("sort=asc", "sort")],
)
def test_bad_audit_parameters_are_422(
    make_app: Callable[..., Flask], query: str, field: str
) -> None:
    answer = make_app().test_client().get(f"/v1/admin/audit?{query}", headers=admin())
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong-token-here"}, 401),
     ({"Authorization": "Basic dGVzdA=="}, 401), ({"Authorization": "Bearer"}, 401)],
)
def test_admin_endpoints_need_the_admin_token(
    make_app: Callable[..., Flask], headers: dict[str, str], status: int
) -> None:
    client = make_app().test_client()
    for method, path in (("GET", "/v1/admin/audit"), ("POST", "/v1/admin/reload")):
        answer = client.open(path, method=method, headers=headers)
        assert answer.status_code == status
        assert answer.get_json()["error"] == "unauthorized"


def test_admin_endpoints_are_off_without_a_configured_token(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(ADMIN_TOKEN=None).test_client()
    answer = client.get("/v1/admin/audit", headers={"Authorization": "Bearer anything-at-all"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "admin_disabled"
