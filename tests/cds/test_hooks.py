"""CDS Hooks calls against the bundled table, with requests shaped like the specification's
examples: discovery, a card for each disposition, 412, the missing-answer card, the FHIR
server read, and every bad input answered 4xx by name."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import engine
from engine.labels import name_label, value_label
from engine.model import Model
from service import contract
from service.state import KEY
from tests.cds.conftest import SERVICE
from tests.cds.fhirdata import PATIENT_ID, bundle, hook_request, patient, response, routine
from tests.service.conftest import ADMIN_TOKEN, WORKBOOK, edit_workbook, example_facts

BASE = "http://localhost"  # the test client's own URL: no PUBLIC_URL is set
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXPECTED_INDICATOR = {"EMERGENCY": "critical", "URGENT_SAME_DAY": "warning",
                      "URGENT_REFERRAL": "warning", "ROUTINE_GP": "info", "SELF_CARE": "info"}


@pytest.fixture(scope="module")
def bundled() -> Model:
    return engine.load(WORKBOOK).model


@pytest.fixture
def client(open_app: Flask) -> FlaskClient:
    return open_app.test_client()


def _call(client: FlaskClient, facts: dict[str, Any] | None, model: Model,
          **kwargs: Any) -> Any:
    prefetch = {"questionnaireResponse": bundle(response(model, facts, base_url=BASE)),
                "patient": patient()} if facts is not None else None
    return client.post(SERVICE, json=hook_request(prefetch, **kwargs))


def test_discovery_lists_one_service_per_table(client: FlaskClient, bundled: Model) -> None:
    answer = client.get("/cds-services")
    assert answer.status_code == 200
    contract.CdsServices.model_validate(answer.json)
    [service] = answer.json["services"]
    assert service["id"] == "muscle_twitching" and service["hook"] == "patient-view"
    assert service["title"] == bundled.about.title and service["description"]
    prefetch = service["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    query = prefetch["questionnaireResponse"]
    assert query.startswith("QuestionnaireResponse?subject=Patient/{{context.patientId}}&")
    assert f"questionnaire={BASE}/Questionnaire/muscle_twitching%7C2.0.0" in query
    assert "_sort=-authored" in query


def test_the_about_sheet_sets_the_hook_and_the_indicators(
        make_app: Callable[..., Flask], tables_dir: Path, bundled: Model) -> None:
    path = tables_dir / WORKBOOK.name
    edit_workbook(path, "About", "A10", "CDS hook")
    edit_workbook(path, "About", "B10", "encounter-start")
    edit_workbook(path, "About", "A11", "Card indicators")
    edit_workbook(path, "About", "B11", "ROUTINE_GP: warning; SELF_CARE: info")
    client = make_app(CDS_VERIFY_JWT=False).test_client()
    assert client.get("/cds-services").json["services"][0]["hook"] == "encounter-start"
    wrong = _call(client, example_facts(), bundled)  # a patient-view call: not declared
    assert wrong.status_code == 422
    assert wrong.json["errors"] == [{"field": "hook", "message":
                                     "this service answers 'encounter-start', not 'patient-view'"}]
    answer = _call(client, example_facts(), bundled, hook="encounter-start")
    assert answer.status_code == 200
    assert answer.json["cards"][0]["indicator"] == "warning"  # ROUTINE_GP, overridden


@pytest.mark.parametrize("cell", ["Patient View", "ROUTINE_GP critical", "LATER: warning"])
def test_bad_cds_fields_in_the_about_sheet_are_found_at_their_cell(
        tmp_path: Path, cell: str) -> None:
    path = tmp_path / WORKBOOK.name
    path.write_bytes(WORKBOOK.read_bytes())
    field = "CDS hook" if cell == "Patient View" else "Card indicators"
    edit_workbook(path, "About", "A10", field)
    edit_workbook(path, "About", "B10", cell)
    with pytest.raises(engine.WorkbookError) as caught:
        engine.load(path)
    [problem] = caught.value.problems
    assert str(problem.location) == "About!B10" and problem.code == "TV105"


def _vignette_for(model: Model, disposition: str) -> dict[str, Any]:
    vignette = next(v for v in model.vignettes if v.expected.get("disposition") == disposition)
    return {k: v for k, v in vignette.facts.items() if v is not None}


@pytest.mark.parametrize("disposition", list(EXPECTED_INDICATOR))
def test_a_card_for_each_disposition(open_app: Flask, bundled: Model,
                                     disposition: str) -> None:
    client = open_app.test_client()
    facts = _vignette_for(bundled, disposition)
    plain = client.post("/v1/tables/muscle_twitching/evaluate", json={"facts": facts}).json
    request = hook_request({"questionnaireResponse": bundle(response(bundled, facts,
                                                                     base_url=BASE))})
    answer = client.post(SERVICE, json=request)
    assert answer.status_code == 200, answer.json
    contract.CdsResponse.model_validate(answer.json)
    [card] = answer.json["cards"]
    assert card["indicator"] == EXPECTED_INDICATOR[disposition]
    assert len(card["summary"]) < 140
    assert card["summary"].startswith(value_label(bundled, "disposition", disposition) + ": ")
    detail = card["detail"]
    for fired in plain["fired"]:  # every fired rule, with its row and citation
        assert f"rule {fired['rule_id']} (row {fired['row']})" in detail
        assert fired["citation"].split(" ")[0].replace("_", "\\_") in detail
    assert "**Advice**" in detail
    assert plain["outputs"]["advice"][:60] in detail
    source = card["source"]
    assert bundled.about.title in source["label"] and "version 2.0.0" in source["label"]
    assert "draft: not reviewed" in source["label"]
    assert card["links"] == [{"label": f"Decision table: {bundled.about.title}",
                              "url": f"{BASE}/tables/muscle_twitching", "type": "absolute"}]
    # the same decision as /evaluate, in an audit row that names the hook call
    rows = open_app.extensions[KEY].audit.read(None, 10)
    hooked = [r for r in rows if r["hook_instance"] == request["hookInstance"]]
    assert len(hooked) == 1
    assert hooked[0]["outputs"] == plain["outputs"] and hooked[0]["fired"] == plain["fired"]
    assert card["uuid"].replace("-", "") == hooked[0]["request_id"]


def test_no_prefetch_and_no_fhir_server_is_412(client: FlaskClient, bundled: Model) -> None:
    answer = _call(client, None, bundled, fhir_server=None)
    assert answer.status_code == 412
    assert answer.json["error"] == "prefetch_missing"
    assert "prefetch.questionnaireResponse is missing" in answer.json["message"]


def test_missing_required_answers_give_an_info_card(client: FlaskClient,
                                                    bundled: Model) -> None:
    facts = example_facts()
    del facts["weakness"], facts["pain"]
    answer = _call(client, facts, bundled)
    assert answer.status_code == 200
    contract.CdsResponse.model_validate(answer.json)
    [card] = answer.json["cards"]
    assert card["indicator"] == "info"
    weakness, pain = name_label(bundled, "weakness"), name_label(bundled, "pain")
    assert card["summary"] == ("Triage not done: 2 required questions unanswered: "
                               f"{weakness}, {pain}")
    assert f"- {weakness} (`weakness`)" in card["detail"]
    assert f"- {pain} (`pain`)" in card["detail"]


def test_an_empty_search_lists_every_required_question(client: FlaskClient,
                                                       bundled: Model) -> None:
    answer = client.post(SERVICE, json=hook_request({"questionnaireResponse": bundle(),
                                                     "patient": patient()}))
    [card] = answer.json["cards"]
    required = [i.name for i in bundled.inputs if i.required and i.name != "age_years"]
    assert card["indicator"] == "info" and f"{len(required)} required" in card["summary"]
    assert "No completed response" in card["detail"]


def test_age_comes_from_the_birth_date(open_app: Flask, bundled: Model) -> None:
    facts = example_facts()
    del facts["age_years"]
    answer = _call(open_app.test_client(), facts, bundled)
    assert answer.status_code == 200
    [card] = answer.json["cards"]
    assert "was taken from the patient's date of birth" in card["detail"]
    row = open_app.extensions[KEY].audit.read(None, 1)[0]
    assert 40 <= row["facts"]["age_years"] <= 50  # born 1980-05-17


def test_the_response_may_come_in_the_context(client: FlaskClient, bundled: Model) -> None:
    context = {"userId": "Practitioner/example", "patientId": PATIENT_ID,
               "questionnaireResponse": response(bundled, example_facts(), base_url=BASE)}
    answer = client.post(SERVICE, json=hook_request(None, fhir_server=None, context=context))
    assert answer.status_code == 200
    assert answer.json["cards"][0]["summary"].startswith(routine(bundled))


def test_several_responses_use_the_latest_and_say_so(client: FlaskClient,
                                                     bundled: Model) -> None:
    emergency = _vignette_for(bundled, "EMERGENCY")
    older = response(bundled, emergency, "2026-01-01T00:00:00Z", BASE, "old")
    newer = response(bundled, example_facts(), "2026-11-30T09:15:00Z", BASE, "new")
    answer = client.post(SERVICE, json=hook_request({"questionnaireResponse":
                                                     bundle(newer, older)}))
    [card] = answer.json["cards"]
    assert card["summary"].startswith(routine(bundled))
    assert "2 questionnaire responses were found; the latest (authored " \
           "2026-11-30T09:15:00Z) was used." in card["detail"]


def _broken(model: Model, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = response(model, example_facts(), base_url=BASE)
    change(document)
    return hook_request({"questionnaireResponse": document, "patient": patient()})


def _set_answer(name: str, answer: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        next(i for i in document["item"] if i["linkId"] == name)["answer"] = [answer]
    return change


@pytest.mark.parametrize(("change", "status", "field", "words"), [
    (lambda d: d.update(questionnaire="http://other.org/Questionnaire/x|1.0.0"), 422,
     "prefetch.questionnaireResponse.questionnaire", "another questionnaire"),
    (lambda d: d.update(questionnaire=f"{BASE}/Questionnaire/muscle_twitching|1.0.0"), 422,
     "prefetch.questionnaireResponse.questionnaire", "version 1.0.0"),
    (_set_answer("age_years", {"valueString": "40"}), 422, "age_years", "send valueInteger"),
    (_set_answer("weakness", {"valueCoding": {"code": "slight"}}), 422, "weakness",
     "is not one of"),
    (_set_answer("temperature_c", {"valueDecimal": 99}), 422, "temperature_c",
     "outside the allowed range"),
    (lambda d: d["item"].append({"linkId": "shoesize", "answer": [{"valueInteger": 9}]}), 422,
     "shoesize", "not a question of this questionnaire"),
    (lambda d: d.update(resourceType="Bundle", entry=[{"resource": "x"}]), 422,
     "prefetch.questionnaireResponse.entry[0].resource", "must be a FHIR resource"),
])
def test_bad_input_is_4xx_naming_the_field(client: FlaskClient, bundled: Model, change: Any,
                                           status: int, field: str, words: str) -> None:
    answer = client.post(SERVICE, json=_broken(bundled, change))
    assert answer.status_code == status, answer.json
    fields = {e["field"]: e["message"] for e in answer.json["errors"]}
    assert field in fields and words in fields[field], answer.json


@pytest.mark.parametrize(("body", "field"), [
    ({"hook": "patient-view", "context": {}}, "hookInstance"),
    ({"hookInstance": "x", "context": {}}, "hook"),
    ({"hook": "patient-view", "hookInstance": "x", "context": [], "prefetch": {}}, "context"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {}, "prefetch": {},
      "fhirAuthorization": {"access_token": "t"}}, "fhirAuthorization.token_type"),
])
def test_requests_that_are_not_hook_calls_are_422(client: FlaskClient, body: dict[str, Any],
                                                  field: str) -> None:
    answer = client.post(SERVICE, json=body)
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json["errors"]]


def test_an_unknown_service_is_404(client: FlaskClient, bundled: Model) -> None:
    answer = client.post("/cds-services/nothing", json=hook_request(None))
    assert answer.status_code == 404 and answer.json["error"] == "unknown_table"


def test_the_prefetch_patient_must_be_a_patient(client: FlaskClient, bundled: Model) -> None:
    facts = example_facts()
    del facts["age_years"]
    prefetch = {"questionnaireResponse": response(bundled, facts, base_url=BASE),
                "patient": {"resourceType": "Practitioner"}}
    answer = client.post(SERVICE, json=hook_request(prefetch))
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "prefetch.patient"


# --- reading from the EHR's FHIR server -------------------------------------------------------


class _Fhir(BaseHTTPRequestHandler):
    resources: dict[str, Any] = {}
    seen: list[tuple[str, str | None]] = []
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.seen.append((self.path, self.headers.get("Authorization")))
        time.sleep(self.delay)
        kind = self.path.lstrip("/").split("?")[0].split("/")[0]
        found = self.resources.get(kind)
        body = json.dumps(found).encode()
        self.send_response(200 if found is not None else 404)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def fhir_server(bundled: Model) -> Iterator[type[_Fhir]]:
    facts = example_facts()
    del facts["age_years"]
    handler = type("Handler", (_Fhir,), {
        "resources": {"QuestionnaireResponse": bundle(response(bundled, facts, base_url=BASE)),
                      "Patient": patient()},
        "seen": [], "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def test_without_prefetch_the_fhir_server_is_read_with_the_token(
        client: FlaskClient, bundled: Model, fhir_server: Any) -> None:
    answer = client.post(SERVICE, json=hook_request(None, fhir_server=fhir_server.url))
    assert answer.status_code == 200, answer.json
    assert answer.json["cards"][0]["summary"].startswith(routine(bundled))
    paths = [p for p, _ in fhir_server.seen]
    assert paths[0].startswith(f"/QuestionnaireResponse?subject=Patient/{PATIENT_ID}&")
    assert paths[1] == f"/Patient/{PATIENT_ID}"  # the age, from the birth date
    assert {a for _, a in fhir_server.seen} == {"Bearer some-opaque-fhir-access-token"}


def test_a_slow_fhir_server_is_a_502_within_the_time_limit(
        make_app: Callable[..., Flask], bundled: Model, fhir_server: Any) -> None:
    fhir_server.delay = 2.0
    client = make_app(CDS_VERIFY_JWT=False, CDS_FHIR_TIMEOUT=0.3).test_client()
    started = time.monotonic()
    answer = client.post(SERVICE, json=hook_request(None, fhir_server=fhir_server.url))
    assert answer.status_code == 502 and answer.json["error"] == "fhir_server_failed"
    assert time.monotonic() - started < 1.5


def test_a_fhir_server_that_fails_is_a_502(client: FlaskClient, bundled: Model,
                                          fhir_server: Any) -> None:
    fhir_server.resources = {}
    answer = client.post(SERVICE, json=hook_request(None, fhir_server=fhir_server.url))
    assert answer.status_code == 502 and "HTTP 404" in answer.json["message"]


def test_the_questionnaire_endpoint_gives_the_document(client: FlaskClient,
                                                       bundled: Model) -> None:
    from engine.fhir.questionnaire import questionnaire

    answer = client.get("/v1/tables/muscle_twitching/questionnaire")
    assert answer.status_code == 200 and answer.content_type == "application/fhir+json"
    assert json.loads(answer.data) == questionnaire(bundled, BASE)
    assert client.get("/v1/tables/none/questionnaire").status_code == 404
