"""The OpenAPI 3.1 document, built from the tables being served.

Every endpoint is described with every status it can answer, and each loaded table gets its
own concrete paths (``/v1/tables/muscle_twitching/evaluate`` …) whose request schema is the
table's Inputs sheet (:mod:`service.schema`) and whose response schema lists the table's
outputs with their allowed values. A client generated from this document, or a fuzzer such
as schemathesis, therefore knows exactly which facts are valid and which answers are. The
templated paths (``/v1/tables/{table_id}/…``) describe the same endpoints for any table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service import schema
from service.registry import Snapshot

JSON = "application/json"
_ERRORS = {
    400: "The body is not valid JSON",
    401: "A bearer token is required, or the one sent is wrong",
    403: "Admin endpoints are disabled (no admin token configured)",
    404: "No such table, version or route",
    405: "The method is not allowed on this path",
    409: "A UNIQUE or ANY table matched rules it must not (the rules are named)",
    413: "The body is larger than the configured limit",
    415: "The body is not sent as application/json",
    422: "The request or the facts are not valid; every bad field is listed",
    503: "The audit trail cannot store the decision, so it is not given",
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


def _components(snapshot: Snapshot, max_batch: int, max_facts: int) -> dict[str, Any]:
    nullable_text = {"type": ["string", "null"]}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message", "request_id"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                           "request_id": nullable_text},
        },
        "FieldError": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        },
        "ValidationError": {
            "allOf": [_ref("Error")],
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "items": _ref("FieldError")}},
        },
        "HitPolicyError": {
            "allOf": [_ref("Error")],
            "required": ["table", "rules"],
            "properties": {"table": {"type": "string"}, "hit_policy": {"type": "string"},
                           "rules": {"type": "array", "items": {"type": "string"}}},
        },
        "FiredRule": {
            "type": "object",
            "required": ["table", "rule_id", "sheet", "row", "citation", "conditions",
                         "outputs"],
            "properties": {
                "table": {"type": "string"}, "rule_id": {"type": "string"},
                "sheet": {"type": "string"}, "row": {"type": "integer"},
                "citation": {"type": "string"},
                "conditions": {"type": "array", "items": {
                    "type": "object", "required": ["input", "test", "value"],
                    "properties": {"input": {"type": "string"}, "test": {"type": "string"},
                                   "value": {}}}},
                "outputs": {"type": "object"},
            },
        },
        "Facts": {"type": "object", "description": "Fact names and values; see each table",
                  "maxProperties": max_facts, "propertyNames": {"maxLength": 100}},
        "Outputs": {"type": "object"},
        "FileStatus": {
            "type": "object",
            "required": ["source", "status", "at", "errors"],
            "properties": {
                "source": {"type": "string"},
                "status": {"enum": ["ok", "failed", "removed"]},
                "at": {"type": "string", "format": "date-time"},
                "table_id": nullable_text, "version": nullable_text,
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        },
        "TableSummary": {
            "type": "object",
            "required": ["id", "title", "version", "loaded_at", "source", "last_reload"],
            "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "version": {"type": "string"}, "table_version": {"type": "string"},
                "loaded_at": {"type": "string", "format": "date-time"},
                "source": {"type": "string"},
                "previous_versions": {"type": "array", "items": {"type": "object"}},
                "last_reload": {"anyOf": [_ref("FileStatus"), {"type": "null"}]},
            },
        },
        "TableDescription": {
            "allOf": [_ref("TableSummary")],
            "required": ["about", "inputs", "outputs"],
            "properties": {"about": {"type": "object"}, "inputs": {"type": "object"},
                           "outputs": {"type": "array", "items": {"type": "object"}},
                           "outputs_schema": {"type": "object"},
                           "evaluation_order": {"type": "array",
                                                "items": {"type": "string"}}},
        },
        "AuditRecord": {
            "type": "object",
            "required": ["id", "request_id", "evaluated_at", "table_id", "version", "facts",
                         "outputs", "fired"],
            "properties": {
                "id": {"type": "integer"}, "request_id": {"type": "string"},
                "case_index": {"type": ["integer", "null"]},
                "evaluated_at": {"type": "string", "format": "date-time"},
                "table_id": {"type": "string"}, "version": {"type": "string"},
                "facts": {"type": "object"}, "outputs": {"type": "object"},
                "fired": {"type": "array"},
            },
        },
    }
    for suffix, facts, outputs in [("", _ref("Facts"), _ref("Outputs"))] + [
        (f"_{k}", _ref(f"Facts_{k}"), _ref(f"Outputs_{k}")) for k in sorted(snapshot.slots)
    ]:
        schemas.update(_evaluation_schemas(suffix, facts, outputs, max_batch))
    for table_id, slot in sorted(snapshot.slots.items()):
        schemas[f"Facts_{table_id}"] = dict(slot.current.input_schema)
        schemas[f"Outputs_{table_id}"] = schema.outputs_schema(slot.current.model.model)
    return schemas


def _evaluation_schemas(
    suffix: str, facts: dict[str, str], outputs: dict[str, str], max_batch: int
) -> dict[str, Any]:
    version = {"type": "string", "minLength": 1, "maxLength": 64,
               "description": "Pin a version still loaded (its hash)"}
    answer = {
        "outputs": outputs,
        "fired": {"type": "array", "items": _ref("FiredRule")},
        "explanation": {"type": "string"},
    }
    return {
        f"EvaluateRequest{suffix}": {
            "type": "object", "required": ["facts"], "additionalProperties": False,
            "properties": {"facts": facts, "version": version},
        },
        f"Evaluation{suffix}": {
            "type": "object",
            "required": ["table_id", "version", "outputs", "fired", "explanation",
                         "request_id"],
            "properties": {"table_id": {"type": "string"}, "version": {"type": "string"},
                           "table_version": {"type": "string"}, **answer,
                           "request_id": {"type": "string"}},
        },
        f"BatchRequest{suffix}": {
            "type": "object", "required": ["cases"], "additionalProperties": False,
            "properties": {
                "cases": {
                    "type": "array", "minItems": 1, "maxItems": max_batch,
                    "description": "Each case is checked on its own: a case that is not "
                    "{\"facts\": {...}} with valid facts gets its own 422 (or 409) in "
                    "results, and the other cases are still answered.",
                    "items": {"anyOf": [
                        {"type": "object", "required": ["facts"],
                         "additionalProperties": False, "properties": {"facts": facts}},
                        {},
                    ]},
                },
                "version": version,
            },
        },
        f"BatchEvaluation{suffix}": {
            "type": "object",
            "required": ["table_id", "version", "results", "request_id"],
            "properties": {
                "table_id": {"type": "string"}, "version": {"type": "string"},
                "table_version": {"type": "string"}, "request_id": {"type": "string"},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["index", "status"],
                    "properties": {"index": {"type": "integer"}, "status": {"type": "integer"},
                                   **answer, "error": {"type": "string"},
                                   "message": {"type": "string"},
                                   "errors": {"type": "array", "items": _ref("FieldError")}},
                }},
            },
        },
    }


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


def document(
    snapshot: Snapshot, max_batch: int, api_token: bool, max_audit: int = 1000,
    max_facts: int = 200,
) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for the tables in ``snapshot``."""
    bearer: list[Any] = [{"bearer": []}]
    api_security = bearer if api_token else []
    text = {"description": "Text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    simple = {"type": "object", "required": ["status"],
              "properties": {"status": {"type": "string"}}}
    table_id = [{"name": "table_id", "in": "path", "required": True,
                 "schema": {"type": "string"}, "description": "The About sheet's Table id"}]
    paths: dict[str, Any] = {
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive",
                             "security": [], "responses": _responses(simple)}},
        "/readyz": {"get": {
            "operationId": "readyz", "summary": "At least one table is loaded",
            "security": [],
            "responses": {**_responses(simple),
                          "503": _json(_ref("Error"), "No table is loaded")},
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
        "/v1/tables": {"get": {
            "operationId": "listTables",
            "summary": "Tables being served, and the last load result of every file",
            "security": api_security,
            "responses": _responses({
                "type": "object", "required": ["tables", "files", "request_id"],
                "properties": {"tables": {"type": "array", "items": _ref("TableSummary")},
                               "files": {"type": "array", "items": _ref("FileStatus")},
                               "request_id": {"type": "string"}}}, 401),
        }},
        "/v1/admin/reload": {"post": {
            "operationId": "reload", "summary": "Reload every workbook now (admin)",
            "security": bearer,
            "responses": _responses({"type": "object",
                                     "required": ["reloaded", "tables", "request_id"]},
                                    401, 403),
        }},
        "/v1/admin/tables/{table_id}/retire": {"post": {
            "operationId": "retireTable",
            "summary": "Stop serving a table on every worker and instance (admin)",
            "security": bearer, "parameters": table_id,
            "responses": _responses({"type": "object",
                                     "required": ["retired", "version", "request_id"]},
                                    401, 403, 404, 503),
        }},
        "/v1/admin/audit": {"get": {
            "operationId": "audit", "summary": "Read the audit trail (admin)",
            "security": bearer,
            "parameters": [
                {"name": "since", "in": "query", "schema": {"type": "string",
                                                           "format": "date-time"}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": max_audit}},
                {"name": "table_id", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": _responses({
                "type": "object", "required": ["records", "count", "request_id"],
                "properties": {"records": {"type": "array", "items": _ref("AuditRecord")},
                               "count": {"type": "integer"},
                               "request_id": {"type": "string"}}}, 401, 403, 422, 503),
        }},
    }
    paths.update(_table_paths("/v1/tables/{table_id}", "", table_id, api_security,
                              "any loaded table"))
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
            "schemas": _components(snapshot, max_batch, max_facts),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
