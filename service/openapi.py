"""The OpenAPI 3.1 document, built from the tables being served.

Every endpoint is described with every status it can answer, and each loaded table gets its
own concrete paths (``/v1/tables/muscle_twitching/evaluate`` …) whose request schema is the
table's Inputs sheet (:mod:`service.schema`) and whose response schema lists the table's
outputs with their allowed values. A client generated from this document, or a fuzzer such
as schemathesis, therefore knows exactly which facts are valid and which answers are. The
templated paths (``/v1/tables/{table_id}/…``) describe the same endpoints for any table.
"""

from __future__ import annotations

import copy as copy_module
from collections.abc import Mapping
from typing import Any

from service import contract, schema
from service.registry import Snapshot

JSON = "application/json"
_ERRORS = {
    400: "The body is not valid UTF-8 JSON, holds a key twice, or a lone surrogate",
    401: "A bearer token is required, or the one sent is wrong",
    403: "Admin endpoints are disabled (no admin token configured)",
    404: "No such table, version or route",
    405: "The method is not allowed on this path",
    409: "A UNIQUE or ANY table matched rules it must not (the rules are named)",
    412: "CDS Hooks: the prefetch is missing and the request gives no fhirServer",
    413: "The body is larger than the configured limit",
    415: "The body is not sent as application/json, or declares a charset other than UTF-8",
    422: "The request or the facts are not valid; every bad field is listed",
    502: "CDS Hooks: the EHR's FHIR server failed or did not answer in time",
    503: "The audit trail cannot store the decision (so it is not given), or the version "
         "store cannot be read",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema_: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": dict(schema_)}}}


def _responses(ok: Mapping[str, Any], *codes: int, ok_text: str = "Success") -> dict[str, Any]:
    answers: dict[str, Any] = {"200": _json(ok, ok_text)}
    for code in (*codes, 405):
        name = "ValidationError" if code == 422 else "HitPolicyError" if code == 409 else "Error"
        answers[str(code)] = _json(_ref(name), _ERRORS[code])
    return answers


def _components(snapshot: Snapshot, max_batch: int, max_facts: int,
                max_audit: int) -> dict[str, Any]:
    """The schemas of :mod:`service.contract`, and each table's own variants: its facts (from
    its Inputs sheet) and outputs (from its output columns) in place of the generic ones."""
    requests = contract.models(max_batch, max_facts, max_audit)
    schemas = contract.schemas(
        contract.Error, contract.ValidationError, contract.HitPolicyError,
        contract.NotReady, contract.Ready, contract.Alive, contract.Evaluation,
        contract.BatchEvaluation, contract.TableList, contract.TableDescription,
        contract.AuditPage, contract.ReloadResult, contract.Retired, contract.Coverage,
        requests.evaluate, requests.batch, contract.CdsRequest, contract.CdsResponse,
        contract.CdsServices, contract.FeedbackRequest, contract.FeedbackStored,
        contract.OverridePage,
    )
    for table_id, slot in sorted(snapshot.slots.items()):
        facts, outputs = _ref(f"Facts_{table_id}"), _ref(f"Outputs_{table_id}")
        schemas[f"Facts_{table_id}"] = dict(slot.current.input_schema)
        schemas[f"Outputs_{table_id}"] = schema.outputs_schema(slot.current.model.model)
        schemas[f"EvaluateRequest_{table_id}"] = _with_property(
            schemas["EvaluateRequest"], "facts", facts)
        schemas[f"Evaluation_{table_id}"] = _with_property(
            schemas["Evaluation"], "outputs", outputs)
        case = {"type": "object", "required": ["facts"], "additionalProperties": False,
                "properties": {"facts": facts}}
        batch = _with_property(schemas["BatchRequest"], "cases", {
            **schemas["BatchRequest"]["properties"]["cases"], "items": {"anyOf": [case, {}]}})
        schemas[f"BatchRequest_{table_id}"] = batch
        schemas[f"CaseResult_{table_id}"] = _with_property(
            schemas["CaseResult"], "outputs", {"anyOf": [outputs, {"type": "null"}]})
        schemas[f"BatchEvaluation_{table_id}"] = _with_property(
            schemas["BatchEvaluation"], "results",
            {"type": "array", "items": _ref(f"CaseResult_{table_id}")})
    return schemas


def _nullable_dropped(schema_: Mapping[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: a parameter is absent rather than null."""
    found = dict(schema_)
    options = found.pop("anyOf", None)
    if options:
        found.update(next(o for o in options if o.get("type") != "null"))
    found.pop("default", None)
    found.pop("title", None)
    return found


def _with_property(base: Mapping[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of the object schema ``base`` whose property ``name`` is ``value``."""
    copy = copy_module.deepcopy(dict(base))
    copy["properties"][name] = value
    copy.pop("title", None)
    return copy


def _table_paths(prefix: str, suffix: str, parameters: list[Any], api_security: list[Any],
                 summary_of: str) -> dict[str, Any]:
    evaluate_codes = (400, 401, 404, 409, 413, 415, 422, 503)
    return {
        f"{prefix}/evaluate": {"post": {
            "operationId": f"evaluate{suffix}",
            "summary": f"Evaluate one case against {summary_of}",
            "description": "Checks the facts against the Inputs sheet, runs every table, "
            "stores the decision in the audit trail and answers with the outputs, the rules "
            "that fired (table, rule id, sheet row, citation, matched conditions) and a "
            "plain-language explanation. A 200 is only sent once the audit row is stored.",
            "parameters": parameters, "security": api_security,
            "requestBody": {"required": True, "content": {JSON: {
                "schema": _ref(f"EvaluateRequest{suffix}")}}},
            "responses": _responses(_ref(f"Evaluation{suffix}"), *evaluate_codes,
                                    ok_text="The decision"),
        }},
        f"{prefix}/evaluate-batch": {"post": {
            "operationId": f"evaluateBatch{suffix}",
            "summary": f"Evaluate several cases against {summary_of}",
            "description": "Results are in the order of the cases; a bad case gets its own "
            "status and errors without failing the others.",
            "parameters": parameters, "security": api_security,
            "requestBody": {"required": True, "content": {JSON: {
                "schema": _ref(f"BatchRequest{suffix}")}}},
            "responses": _responses(_ref(f"BatchEvaluation{suffix}"), *evaluate_codes),
        }},
        prefix: {"get": {
            "operationId": f"describeTable{suffix}",
            "summary": f"Describe {summary_of}: inputs (JSON Schema), outputs, About sheet",
            "parameters": parameters, "security": api_security,
            "responses": _responses(_ref("TableDescription"), 401, 404),
        }},
    }


def _cds_paths(table_id: list[Any], api_security: list[Any]) -> dict[str, Any]:
    """CDS Hooks 2.0 (docs/ehr.md). The calls carry the EHR's signed JWT (``cdsJwt``)."""
    jwt_security: list[Any] = [{"cdsJwt": []}]
    call_codes = (400, 401, 404, 412, 413, 415, 422, 502, 503)
    return {
        "/cds-services": {"get": {
            "operationId": "cdsDiscovery", "summary": "CDS Hooks discovery: one service per "
            "table, with its hook and prefetch templates", "security": [],
            "responses": _responses(_ref("CdsServices")),
        }},
        "/cds-services/{table_id}": {"post": {
            "operationId": "cdsCall",
            "summary": "Call a table's CDS service: facts from the prefetched "
            "QuestionnaireResponse, evaluated as /evaluate does, answered with a card",
            "parameters": table_id, "security": jwt_security,
            "requestBody": {"required": True, "content": {JSON: {
                "schema": _ref("CdsRequest")}}},
            "responses": _responses(_ref("CdsResponse"), *call_codes, ok_text="The cards"),
        }},
        "/cds-services/{table_id}/feedback": {"post": {
            "operationId": "cdsFeedback",
            "summary": "What the clinician did with each card (accepted or overridden)",
            "parameters": table_id, "security": jwt_security,
            "requestBody": {"required": True, "content": {JSON: {
                "schema": _ref("FeedbackRequest")}}},
            "responses": _responses(_ref("FeedbackStored"), 400, 401, 404, 413, 415, 422,
                                    503),
        }},
        "/v1/tables/{table_id}/questionnaire": {"get": {
            "operationId": "questionnaire",
            "summary": "The FHIR R4 Questionnaire made from the table's Inputs sheet",
            "parameters": table_id, "security": api_security,
            "responses": {**_responses({}, 401, 404), "200": {
                "description": "A FHIR R4 Questionnaire", "content": {
                    "application/fhir+json": {"schema": {"type": "object"}}}}},
        }},
        "/v1/admin/audit/overrides": {"get": {
            "operationId": "auditOverrides",
            "summary": "Override rate per rule, from CDS Hooks feedback (admin)",
            "security": [{"bearer": []}],
            "parameters": [{"name": "table_id", "in": "query", "schema": {"type": "string"}}],
            "responses": _responses(_ref("OverridePage"), 401, 403, 503),
        }},
    }


def document(
    snapshot: Snapshot, max_batch: int, api_token: bool, max_audit: int = 1000,
    max_facts: int = 200,
) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for the tables in ``snapshot``."""
    bearer: list[Any] = [{"bearer": []}]
    api_security = bearer if api_token else []
    text = {"description": "Text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    audit_query = contract.models(max_batch, max_facts, max_audit).audit_query
    query = audit_query.model_json_schema()["properties"]
    table_id = [{"name": "table_id", "in": "path", "required": True,
                 "schema": {"type": "string"}, "description": "The About sheet's Table id"}]
    paths: dict[str, Any] = {
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive",
                             "security": [], "responses": _responses(_ref("Alive"))}},
        "/readyz": {"get": {
            "operationId": "readyz",
            "summary": "A table is loaded, the audit database answers, and the worker is not "
            "shutting down",
            "security": [],
            "responses": {**_responses(_ref("Ready")),
                          "503": _json(_ref("NotReady"), "Not ready, and why")},
        }},
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics",
                             "security": [], "responses": {"200": text}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                  "security": [],
                                  "responses": _responses({"type": "object"})}},
        "/docs": {"get": {"operationId": "docs", "summary": "API documentation (HTML)",
                          "security": [], "responses": {"200": {
                              "description": "HTML", "content": {"text/html": {
                                  "schema": {"type": "string"}}}}}}},
        **_pages(table_id, api_security),
        "/v1/tables": {"get": {
            "operationId": "listTables",
            "summary": "Tables being served, and the last load result of every file",
            "security": api_security,
            "responses": _responses(_ref("TableList"), 401),
        }},
        "/v1/admin/reload": {"post": {
            "operationId": "reload", "summary": "Reload every workbook now (admin)",
            "security": bearer,
            "responses": _responses(_ref("ReloadResult"), 401, 403),
        }},
        "/v1/admin/tables/{table_id}/retire": {"post": {
            "operationId": "retireTable",
            "summary": "Stop serving a table on every worker and instance (admin)",
            "security": bearer, "parameters": table_id,
            "responses": _responses(_ref("Retired"), 401, 403, 404, 503),
        }},
        "/v1/admin/audit": {"get": {
            "operationId": "audit", "summary": "Read the audit trail (admin)",
            "security": bearer,
            "parameters": [
                {"name": name, "in": "query", "schema": _nullable_dropped(schema_)}
                for name, schema_ in query.items()
            ],
            "responses": _responses(_ref("AuditPage"), 401, 403, 422, 503),
        }},
        "/v1/admin/tables/{table_id}/coverage": {"get": {
            "operationId": "tableCoverage",
            "summary": "How often each rule fired, per version, and the rules that never "
                       "fired (admin)",
            "security": bearer,
            "parameters": [*table_id, *(
                {"name": name, "in": "query", "required": False,
                 "description": f"ISO 8601 time; UTC when no offset is given; cases {when}",
                 "schema": {"type": "string", "format": "date-time"}}
                for name, when in (("since", "at or after it"), ("until", "before it")))],
            "responses": _responses(_ref("Coverage"), 401, 403, 404, 422, 503),
        }},
    }
    paths.update(_table_paths("/v1/tables/{table_id}", "", table_id, api_security,
                              "any loaded table"))
    paths.update(_cds_paths(table_id, api_security))
    for key, slot in sorted(snapshot.slots.items()):
        paths.update(_table_paths(f"/v1/tables/{key}", f"_{key}", [], api_security,
                                  slot.current.model.about.title or key))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Triage decision tables",
            "version": "1",
            "description": "Clinical triage decision tables written in Excel, evaluated with "
            "an account of every rule that fired. Each loaded table has its own paths, "
            "whose schemas come from its Inputs sheet and its output columns.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": _components(snapshot, max_batch, max_facts, max_audit),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cdsJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The CDS client's signed JWT (CDS Hooks 2.0)"},
            },
        },
    }


def _pages(table_id: list[dict[str, Any]], api_security: list[Any]) -> dict[str, Any]:
    """The pages for browsers (:mod:`service.pages`): HTML, not part of the JSON API. An
    unknown table is a 404 page for a browser and the usual JSON error for others."""
    def page(operation: str, summary: str, kind: str = "text/html",
             **more: Any) -> dict[str, Any]:
        responses = {"200": {"description": kind, "content": {
            kind: {"schema": {"type": "string"}}}}, "405": _json(_ref("Error"), _ERRORS[405])}
        if more.get("parameters"):
            missing = _json(_ref("Error"), "No such table (an HTML page for a browser)")
            missing["content"]["text/html"] = {"schema": {"type": "string"}}
            responses["404"] = missing
        return {"get": {"operationId": operation, "summary": summary, "security": [], **more,
                        "responses": responses}}
    version = {"name": "version", "in": "query", "required": False,
               "schema": {"type": "string"},
               "description": "A version ever accepted (its content hash); none: the one serving"}
    grids = page("tableGrids", "One version's decision tables as grids (an HTML fragment the "
                 "table page swaps in when a pinned version answers)",
                 parameters=[*table_id, version])
    grids["get"]["security"] = api_security  # it may load a version from the version store
    for code in (401, 503):
        grids["get"]["responses"][str(code)] = _json(_ref("Error"), _ERRORS[code])
    return {
        "/tables/{table_id}": page("tablePage", "A page to try cases against a table (HTML)",
                                   parameters=table_id),
        "/tables/{table_id}/grids": grids,
        "/pages/page.js": page("pageScript", "The pages' script", "text/javascript"),
        "/pages/page.css": page("pageStyle", "The pages' style sheet", "text/css"),
    }
