"""POST /v1/tables/<id>/evaluate and /evaluate-batch through Flask's test client: answers,
explanations, pinned versions, per-case errors in a batch, and the API token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import engine
from engine.explanation import Explainer
from tests.service.conftest import TABLE, WORKBOOK, admin, edit_workbook, example_facts

URL = f"/v1/tables/{TABLE}/evaluate"
BATCH = f"/v1/tables/{TABLE}/evaluate-batch"


def test_example_case_is_answered_with_outputs_rules_and_explanation(client: FlaskClient) -> None:
    answer = client.post(URL, json={"facts": example_facts()})
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) >= {"table_id", "version", "outputs", "fired", "explanation", "request_id"}
    assert body["table_id"] == TABLE
    compiled = engine.load(WORKBOOK)
    model = compiled.model
    expected = compiled.evaluate(example_facts())
    assert body["version"] == expected.version
    assert body["outputs"] == dict(expected.outputs)
    assert body["outputs"]["disposition"] == "ROUTINE_GP"
    assert body["fired"] == [f.as_dict() for f in expected.fired]
    d15 = next(f for f in body["fired"] if f["rule_id"] == "D15")
    assert d15 == {**d15, "table": "disposition", "sheet": "Disposition", "row": 23}
    assert d15["citation"]
    assert d15["conditions"] == [{"input": "duration_days", "test": "> 14", "value": 21}]
    assert body["explanation"] == Explainer(model).explain(expected)
    disposition = model.output("disposition")
    assert disposition is not None
    words = disposition.labels[disposition.allowed_values.index("ROUTINE_GP")]
    assert f"Disposition: {words}, by rule D15 (row 23)" in body["explanation"]
    assert answer.headers["X-Request-ID"] == body["request_id"]


def test_every_vignette_gives_the_expected_outputs_over_http(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK)
    for vignette in model.vignettes:
        body = client.post(URL, json={"facts": dict(vignette.facts)}).get_json()
        for name, expected in vignette.expected.items():
            assert body["outputs"][name] == expected, vignette.vignette_id


def test_request_ids_are_the_servers_and_a_callers_id_is_kept_as_correlation_id(
    client: FlaskClient,
) -> None:
    first = client.post(URL, json={"facts": example_facts()}, headers={"X-Request-ID": "visit-123"})
    second = client.post(URL, json={"facts": example_facts()},
                         headers={"X-Request-ID": "visit-123"})
    ids = [first.get_json()["request_id"], second.get_json()["request_id"]]
    assert ids[0] != ids[1] and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] < ids[1]  # ordered by time
    assert first.headers["X-Request-ID"] == ids[0]
    assert first.get_json()["correlation_id"] == "visit-123"
    rows = client.get("/v1/admin/audit", headers=admin()).get_json()["records"]
    assert [(r["request_id"], r["correlation_id"]) for r in rows] == [
        (ids[0], "visit-123"), (ids[1], "visit-123")]
    strange = client.post(URL, json={"facts": example_facts()},
                          headers={"X-Request-ID": "<script>" + "x" * 100})
    assert "correlation_id" not in strange.get_json()
    assert len(strange.get_json()["request_id"]) == 32


def test_bad_unknown_and_missing_facts_are_all_listed(client: FlaskClient) -> None:
    facts = example_facts()
    facts["age_years"] = 12
    facts["weakness"] = "a lot"
    facts["temprature_c"] = 37
    del facts["pain"]
    answer = client.post(URL, json={"facts": facts})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_facts"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"age_years", "weakness", "temprature_c", "pain"}
    assert "outside the allowed range [16..120]" in fields["age_years"]
    assert "did you mean 'temperature_c'" in fields["temprature_c"]
    assert fields["pain"] == "is required but missing"


def test_a_pinned_version_that_is_loaded_is_used(client: FlaskClient) -> None:
    version = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    answer = client.post(URL, json={"facts": example_facts(), "version": version})
    assert answer.status_code == 200
    assert answer.get_json()["version"] == version


def test_previous_version_stays_pinnable_after_a_reload(
    client: FlaskClient, tables_dir: Any
) -> None:
    old = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    edit_workbook(tables_dir / WORKBOOK.name, "About", "B4", "1.0.1")
    assert client.post("/v1/admin/reload", headers=admin()).status_code == 200
    new = client.post(URL, json={"facts": example_facts()}).get_json()
    assert new["version"] != old and new["table_version"] == "1.0.1"
    pinned = client.post(URL, json={"facts": example_facts(), "version": old}).get_json()
    assert pinned["version"] == old and pinned["table_version"] == "2.0.0"
    listed = client.get("/v1/tables").get_json()["tables"][0]["previous_versions"]
    assert [p["version"] for p in listed] == [old]


def test_a_version_not_kept_compiled_is_loaded_from_the_version_store(
    make_app: Callable[..., Flask], tables_dir: Any
) -> None:
    client = make_app(KEEP_PREVIOUS_VERSIONS=0).test_client()
    old = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    edit_workbook(tables_dir / WORKBOOK.name, "About", "B4", "1.0.1")
    client.post("/v1/admin/reload", headers=admin())
    assert client.get(f"/v1/tables/{TABLE}").get_json()["previous_versions"] == []
    answer = client.post(URL, json={"facts": example_facts(), "version": old})
    assert answer.status_code == 200
    assert answer.get_json()["version"] == old and answer.get_json()["table_version"] == "2.0.0"


@pytest.mark.parametrize(
    ("table", "version", "code"),
    [("no_such_table", None, "unknown_table"), (TABLE, "0123456789abcdef", "unknown_version")],
)
def test_unknown_table_or_version_is_404(
    client: FlaskClient, table: str, version: str | None, code: str
) -> None:
    body: dict[str, Any] = {"facts": example_facts()}
    if version:
        body["version"] = version
    answer = client.post(f"/v1/tables/{table}/evaluate", json=body)
    assert answer.status_code == 404
    assert answer.get_json()["error"] == code


def test_batch_answers_in_order_and_a_bad_case_fails_alone(
    client: FlaskClient, app: Flask
) -> None:
    good = example_facts()
    reassuring = {**good, "duration_days": 5, "distribution": "focal", "caffeine_mg_per_day": 0,
                  "sleep_hours": 8, "high_stress": False}
    cases = [{"facts": good}, {"facts": {**good, "age_years": "old"}}, {"facts": reassuring},
             {"fact": {}}, "not a case"]
    answer = client.post(BATCH, json={"cases": cases})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [200, 422, 200, 422, 422]
    assert results[0]["outputs"]["disposition"] == "ROUTINE_GP"
    assert results[2]["outputs"]["disposition"] == "SELF_CARE"
    bad_age = {"field": "age_years", "message": 'must be a number, not "old"'}
    assert results[1]["errors"] == [bad_age]
    assert results[3]["errors"][0]["field"] == "cases[3].fact"
    assert "explanation" in results[2] and results[2]["fired"]
    rows = client.get("/v1/admin/audit", headers=admin()).get_json()["records"]
    assert [r["case_index"] for r in rows] == [0, 2]
    assert {r["request_id"] for r in rows} == {answer.get_json()["request_id"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cases": []}, "cases"),
        ({"cases": {"facts": {}}}, "cases"),
        ({}, "cases"),
        ({"cases": [{"facts": {}}], "extra": 1}, "extra"),
    ],
)
def test_batch_shape_errors_are_422(client: FlaskClient, body: Any, field: str) -> None:
    answer = client.post(BATCH, json=body)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == field


def test_batch_size_is_bounded_by_configuration(make_app: Callable[..., Flask]) -> None:
    client = make_app(MAX_BATCH=3).test_client()
    answer = client.post(BATCH, json={"cases": [{"facts": example_facts()}] * 4})
    assert answer.status_code == 422
    assert "1 to 3 cases" in answer.get_json()["errors"][0]["message"]
    assert client.post(BATCH, json={"cases": [{"facts": example_facts()}] * 3}).status_code == 200


def test_api_token_protects_evaluation_when_configured(make_app: Callable[..., Flask]) -> None:
    client = make_app(API_TOKEN="evaluation-token").test_client()
    missing = client.post(URL, json={"facts": example_facts()})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.post(URL, json={"facts": example_facts()},
                        headers={"Authorization": "Bearer evaluation-tokeX"})
    assert wrong.status_code == 401
    assert client.get("/v1/tables").status_code == 401
    right = client.post(URL, json={"facts": example_facts()},
                        headers={"Authorization": "Bearer evaluation-token"})
    assert right.status_code == 200
    assert client.get("/healthz").status_code == 200  # operations stay open


def test_an_integer_beyond_64_bits_is_answered_and_audited_exactly(client: FlaskClient) -> None:
    # duration_days is only bounded below (>= 0): 10**30 days is a valid, if odd, fact. The
    # answer and the audit row are written with orjson, which cannot write such an integer;
    # the standard library then writes it, digit for digit.
    facts = {**example_facts(), "duration_days": 10**30}
    answer = client.post(URL, json={"facts": facts})
    assert answer.status_code == 200
    assert '"value":1000000000000000000000000000000' in answer.get_data(as_text=True)
    rows = client.get("/v1/admin/audit", headers=admin()).get_json()["records"]
    assert rows[-1]["request_id"] == answer.get_json()["request_id"]
    assert rows[-1]["facts"]["duration_days"] == 10**30
