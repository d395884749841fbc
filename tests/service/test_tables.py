"""GET /v1/tables, /v1/tables/<id>, and the operational endpoints: health, readiness,
metrics, the OpenAPI document and the docs page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
from flask import Flask
from flask.testing import FlaskClient

from tests.service.conftest import TABLE, example_facts


def test_tables_lists_the_served_table_and_its_file(client: FlaskClient) -> None:
    body = client.get("/v1/tables").get_json()
    (table,) = body["tables"]
    assert table["id"] == TABLE
    assert table["title"].startswith("Muscle twitching")
    assert re.fullmatch(r"[0-9a-f]{16}", table["version"])
    assert table["table_version"] == "2.0.0"
    assert table["source"].endswith("muscle_twitching.xlsx")
    assert table["loaded_at"].endswith("Z")
    assert table["last_reload"]["status"] == "ok" and table["last_reload"]["errors"] == []
    assert [f["status"] for f in body["files"]] == ["ok"]


def test_table_description_has_the_inputs_as_json_schema(client: FlaskClient) -> None:
    body = client.get(f"/v1/tables/{TABLE}").get_json()
    schema = body["inputs"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["age_years"] | {"type": "integer", "minimum": 16, "maximum": 120} == props[
        "age_years"]
    assert props["duration_days"]["minimum"] == 0 and props["duration_days"]["type"] == "number"
    assert props["distribution"]["enum"] == ["focal", "multifocal", "widespread"]
    assert props["progressive"]["type"] == "boolean"
    assert props["potassium_mmol_l"]["anyOf"][1] == {"type": "null"}  # optional
    assert "potassium_mmol_l" not in schema["required"]
    assert "age_years" in schema["required"] and len(schema["required"]) == 21
    jsonschema.validate(example_facts(), schema)
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["disposition"]["allowed_values"][0] == "EMERGENCY"
    assert outputs["disposition"]["default"] == "ROUTINE_GP"
    assert outputs["red_flags"]["list"] is True
    assert body["about"]["table_id"] == TABLE and body["about"]["version"] == "2.0.0"
    assert body["evaluation_order"] == ["electrolyte_abnormal", "red_flags", "disposition",
                                      "likely_causes", "advice"]


def test_an_answer_fits_the_outputs_schema(client: FlaskClient) -> None:
    schema = client.get(f"/v1/tables/{TABLE}").get_json()["outputs_schema"]
    answer = client.post(f"/v1/tables/{TABLE}/evaluate", json={"facts": example_facts()})
    jsonschema.validate(answer.get_json()["outputs"], schema)


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "alive"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["tables"] == 1
    assert ready["audit"]["status"] == "ok" and ready["audit"]["backend"] == "sqlite"


def test_not_ready_without_tables(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    client = make_app(TABLES_DIR=str(empty)).test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["error"] == "not_ready"


def test_metrics_count_requests_evaluations_and_output_values(client: FlaskClient) -> None:
    client.post(f"/v1/tables/{TABLE}/evaluate", json={"facts": example_facts()})
    client.post(f"/v1/tables/{TABLE}/evaluate", json={"facts": {}})
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    text = answer.get_data(as_text=True)
    route = "/v1/tables/<table_id>/evaluate"
    assert f'triage_http_requests_total{{method="POST",route="{route}",status="200"}} 1.0' in text
    assert f'triage_http_requests_total{{method="POST",route="{route}",status="422"}} 1.0' in text
    assert f'triage_http_request_duration_seconds_count{{route="{route}"}} 2.0' in text
    assert f'triage_evaluations_total{{table_id="{TABLE}"}} 1.0' in text
    assert ('triage_evaluation_outputs_total{output="disposition",table_id="muscle_twitching",'
            'value="ROUTINE_GP"} 1.0') in text
    assert 'value="lifestyle_trigger"' in text
    assert 'output="advice"' not in text  # free text is not a label
    assert 'triage_reloads_total{result="ok",source="muscle_twitching.xlsx"} 1.0' in text


def test_openapi_describes_every_endpoint_and_the_table_schema(
    client: FlaskClient, app: Flask
) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/v1/tables",
                 "/v1/tables/{table_id}", "/v1/tables/{table_id}/evaluate",
                 "/v1/tables/{table_id}/evaluate-batch", "/v1/admin/reload", "/v1/admin/audit",
                 f"/v1/tables/{TABLE}/evaluate", f"/v1/tables/{TABLE}/evaluate-batch"):
        assert path in paths, path
    rules = {r.rule.replace("<table_id>", "{table_id}") for r in app.url_map.iter_rules()
             if r.endpoint != "static"}
    assert rules - {"/"} <= set(paths)
    facts = document["components"]["schemas"][f"Facts_{TABLE}"]
    assert facts == client.get(f"/v1/tables/{TABLE}").get_json()["inputs"]
    responses = paths[f"/v1/tables/{TABLE}/evaluate"]["post"]["responses"]
    assert {"200", "400", "404", "409", "413", "415", "422", "503"} <= set(responses)


def test_docs_page_is_self_contained_html(client: FlaskClient) -> None:
    answer = client.get("/docs")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "<script" not in page and "cdn" not in page.lower()
    assert not re.search(r"(src|href)=['\"]?https?://", page)
    assert "age_years" in page and "/v1/tables/{table_id}/evaluate" in page
    assert f"/v1/tables/{TABLE}/evaluate" in page  # the curl example


def test_answers_are_what_the_contract_declares(client: FlaskClient) -> None:
    """The pydantic models that generate /openapi.json also describe the real answers."""
    from service import contract
    from tests.service.conftest import admin

    facts = example_facts()
    url = f"/v1/tables/{TABLE}"
    contract.Evaluation.model_validate(client.post(f"{url}/evaluate", json={"facts": facts},
                                                   headers={"X-Request-ID": "c-1"}).get_json())
    contract.BatchEvaluation.model_validate(client.post(
        f"{url}/evaluate-batch", json={"cases": [{"facts": facts}, {"facts": {}}]}).get_json())
    contract.TableList.model_validate(client.get("/v1/tables").get_json())
    described = contract.TableDescription.model_validate(client.get(url).get_json())
    assert described.versions and described.versions[0].version == described.version
    contract.Ready.model_validate(client.get("/readyz").get_json())
    contract.AuditPage.model_validate(client.get("/v1/admin/audit", headers=admin()).get_json())
    contract.ReloadResult.model_validate(
        client.post("/v1/admin/reload", headers=admin()).get_json())
    contract.ValidationError.model_validate(
        client.post(f"{url}/evaluate", json={"facts": {}, "x": 1}).get_json())
    retired = client.post(f"/v1/admin/tables/{TABLE}/retire", headers=admin())
    contract.Retired.model_validate(retired.get_json())
    assert client.post(f"{url}/evaluate", json={"facts": facts}).status_code == 404
    contract.NotReady.model_validate(client.get("/readyz").get_json())
