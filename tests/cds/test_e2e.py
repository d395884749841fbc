"""End to end: a real ``triage serve`` (two worker processes) called as an EHR would, with a
signed JWT: discovery, the questionnaire, a hook call, feedback, and a replayed token
refused whichever worker receives it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

import engine
from tests.cds.conftest import ISSUER, bearer
from tests.cds.fhirdata import bundle, hook_request, patient, response, routine
from tests.service.conftest import WORKBOOK, example_facts
from tests.service.servers import Serve


def test_an_ehr_calls_the_served_table(tmp_path: Path, serve: list[Any], jwks_file: Path,
                                       token: Callable[..., str]) -> None:
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}))
    server = Serve(tmp_path, f"sqlite:///{tmp_path / 'audit.sqlite3'}",
                   env={"TRIAGE_CDS_ISSUERS": str(issuers)})
    serve.append(server)
    server.wait()
    base = f"http://127.0.0.1:{server.port}"
    service = "/cds-services/muscle_twitching"

    [described] = server.call("GET", "/cds-services").body["services"]
    assert described["id"] == "muscle_twitching" and described["hook"] == "patient-view"

    document = server.call("GET", "/v1/tables/muscle_twitching/questionnaire")
    assert document.kind == "application/fhir+json"
    assert Questionnaire.model_validate(document.body).url == \
        f"{base}/Questionnaire/muscle_twitching"
    model = engine.load(WORKBOOK).model
    request = hook_request({"questionnaireResponse": bundle(
        response(model, example_facts(), base_url=base)), "patient": patient()})

    signed = token(aud=base + service)
    answer = server.call("POST", service, request, bearer(signed))
    assert answer.status == 200, answer.body
    [card] = answer.body["cards"]
    assert card["summary"].startswith(routine(model)) and card["indicator"] == "info"

    replays = [server.call("POST", service, request, bearer(signed)) for _ in range(4)]
    assert {r.status for r in replays} == {401}  # on every worker: the jti is in the database
    assert all("jti replayed" in r.body["message"] for r in replays)

    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted",
                              "outcomeTimestamp": "2026-12-02T10:05:00Z"}]}
    stored = server.call("POST", service + "/feedback", feedback,
                         bearer(token(aud=base + service + "/feedback")))
    assert stored.status == 200 and stored.body["stored"] == 1

    unsigned = server.call("POST", service, hook_request(None, fhir_server=None))
    assert unsigned.status == 401
    missing = server.call("POST", service, hook_request(None, fhir_server=None),
                          bearer(token(aud=base + service)))
    assert missing.status == 412
