"""Every error is JSON with a clear 4xx (or a logged 500 without a traceback): malformed and
hostile bodies, wrong content types, oversized bodies, unknown routes, hit-policy
violations, and failures nobody planned for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.workbook import Sheet
from tests.conftest import make_minimal_sheets
from tests.service.conftest import TABLE, example_facts
from tests.xlsx import sheet, write_workbook

URL = f"/v1/tables/{TABLE}/evaluate"
JSON = {"Content-Type": "application/json"}


def _is_json_error(answer: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/json"
    body: dict[str, Any] = answer.get_json()
    assert {"error", "message", "request_id"} <= set(body)
    assert "Traceback" not in answer.get_data(as_text=True)
    if code:
        assert body["error"] == code
    return body


@pytest.mark.parametrize(
    "data",
    [b"{", b"", b"{'facts': {}}", b'{"facts": NaN}', b'{"facts": {"age_years": Infinity}}',
     b"\xff\xfe{}", b'{"facts": {}} trailing'],
    ids=["truncated", "empty", "single-quotes", "nan", "infinity", "not-utf8", "trailing"],
)
def test_malformed_json_is_400(client: FlaskClient, data: bytes) -> None:
    _is_json_error(client.post(URL, data=data, headers=JSON), 400, "malformed_json")


def test_deeply_nested_json_is_400(client: FlaskClient) -> None:
    data = b'{"facts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    body = _is_json_error(client.post(URL, data=data, headers=JSON), 400, "malformed_json")
    assert "nested too deeply" in body["message"]


def test_nested_values_within_the_limit_are_422_for_their_field(client: FlaskClient) -> None:
    facts = {**example_facts(), "age_years": {"a": [[[[{"b": 1}]]]]}}
    body = _is_json_error(client.post(URL, json={"facts": facts}), 422, "invalid_facts")
    assert body["errors"] == [{"field": "age_years", "message": "must be a number, not dict"}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [("1e999", "must be a finite number"), ("-1e999", "must be a finite number"),
     ("9" * 5000, "must be a finite number"), ("1" + "0" * 300, "outside the allowed range")],
)
def test_huge_numbers_are_422(client: FlaskClient, raw: str, message: str) -> None:
    facts = {k: v for k, v in example_facts().items() if k != "age_years"}
    data = ('{"facts": {"age_years": ' + raw + ", " + str(facts)[1:-1].replace("'", '"')
            .replace("False", "false").replace("True", "true") + "}}")
    body = _is_json_error(client.post(URL, data=data, headers=JSON), 422, "invalid_facts")
    assert message in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "(body)"),
        ("facts", "(body)"),
        ({}, "facts"),
        ({"facts": None}, "facts"),
        ({"facts": [1, 2]}, "facts"),
        ({"facts": "age_years=40"}, "facts"),
        ({"facts": 42}, "facts"),
        ({"facts": {}, "fatcs": {}}, "fatcs"),
        ({"facts": {}, "version": 7}, "version"),
        ({"facts": {}, "version": None}, "version"),  # found by schemathesis: null is no text
        ({"facts": {}, "version": ""}, "version"),
    ],
)
def test_request_shape_errors_are_422_naming_the_field(
    client: FlaskClient, body: Any, field: str
) -> None:
    answer = _is_json_error(client.post(URL, json=body), 422)
    assert answer["errors"][0]["field"] == field


def test_very_long_strings_are_422_and_not_echoed_back_whole(client: FlaskClient) -> None:
    long = "x" * 500_000
    facts = {**example_facts(), "weakness": long, long: 1}
    answer = client.post(URL, json={"facts": facts})
    body = _is_json_error(answer, 422)
    assert len(answer.get_data()) < 5_000
    assert all(len(e["field"]) <= 300 and len(e["message"]) <= 300 for e in body["errors"])


def test_too_many_fields_are_refused_before_any_is_checked(client: FlaskClient) -> None:
    facts = {f"field_{i}": i for i in range(5_000)}
    body = _is_json_error(client.post(URL, json={"facts": facts}), 422)
    assert body["errors"] == [{"field": "facts",
                               "message": "has 5000 fields; at most 200 are accepted"}]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_wrong_content_type_is_415(client: FlaskClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.post(URL, data=b'{"facts": {}}', headers=headers)
    _is_json_error(answer, 415, "unsupported_media_type")


def test_body_over_the_limit_is_413(make_app: Callable[..., Flask]) -> None:
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    data = b'{"facts": {"comment": "' + b"x" * 2000 + b'"}}'
    _is_json_error(client.post(URL, data=data, headers=JSON), 413)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("GET", URL, 405), ("DELETE", "/v1/tables", 405),
     ("PUT", "/healthz", 405)],
)
def test_routing_errors_are_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    _is_json_error(client.open(path, method=method), status)


def test_an_unexpected_failure_is_a_logged_500_without_traceback(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: Any) -> None:
        raise RuntimeError("secret internal detail")

    model = app.extensions["triage"].registry.snapshot.slots[TABLE].current.model
    object.__setattr__(model, "evaluate", explode)  # shadows the method on this instance
    body = _is_json_error(client.post(URL, json={"facts": example_facts()}), 500, "internal_error")
    assert "secret" not in body["message"]
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)


def _overlapping_unique_workbook(path: Path) -> Path:
    """The minimal workbook whose UNIQUE Disposition table has two rules for severity 'low'
    and age 100 or more; no vignette goes there, so it loads when the validator is off."""
    sheets: list[Sheet] = list(make_minimal_sheets())
    sheets[3] = sheet("Disposition", [
        ["Table", "disposition"],
        ["Hit policy", "UNIQUE"],
        ["Description", "Where the patient goes"],
        [],
        ["Kind", "Input", "Input", "Output", "Citation"],
        ["Name", "severity", "age_years", "disposition"],
        ["Output values", None, None, "EMERGENCY, GP, SELF_CARE"],
        ["Default"],
        ["D1", '"high"', "-", "EMERGENCY", "Local pathway 1"],
        ["D2", '"medium"', "-", "GP", "Local pathway 2"],
        ["D3", '"low"', "-", "SELF_CARE", "Local pathway 3"],
        ["D4", '"low"', ">= 100", "GP", "Local pathway 4"],
    ])
    return write_workbook(path, sheets)


def test_hit_policy_violation_is_409_naming_the_rules(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    folder = tmp_path / "unique"
    folder.mkdir()
    _overlapping_unique_workbook(folder / "mini.xlsx")
    client = make_app(TABLES_DIR=str(folder), GATE_WITH_VALIDATOR=False).test_client()
    facts = {"red_flag": False, "pattern": "focal", "age_years": 110, "duration_weeks": 1}
    body = _is_json_error(client.post("/v1/tables/mini_triage/evaluate", json={"facts": facts}),
                          409, "hit_policy_violation")
    assert body["table"] == "disposition" and body["rules"] == ["D3", "D4"]
    batch = client.post("/v1/tables/mini_triage/evaluate-batch",
                        json={"cases": [{"facts": facts}, {"facts": {**facts, "age_years": 40}}]})
    assert [r["status"] for r in batch.get_json()["results"]] == [409, 200]
    assert batch.get_json()["results"][0]["rules"] == ["D3", "D4"]
