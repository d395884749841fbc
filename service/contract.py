"""The HTTP contract, declared once, as pydantic models.

The same declarations do two jobs: the request models validate every request body
(:func:`validate`, used by :mod:`service.body`), and every model — requests, answers and
errors — gives its JSON Schema to ``/openapi.json`` (:mod:`service.openapi`). What a request
may hold and what the document says it may hold therefore cannot drift apart. A table's own
facts and outputs are described by the schemas derived from its workbook
(:mod:`service.schema`), put in place of the generic ``facts`` and ``outputs`` in that
table's paths.

The answers are written as JSON text directly (:mod:`service.api`: one serialisation for the
answer and the audit row); the answer models here describe them, and the tests validate real
answers against them.

Limits that the configuration sets (cases in a batch, fields in a case, rows of audit) make
the request models depend on the app: :func:`models` builds them once per set of limits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticError

MAX_NAME = 100  # characters in a fact name; no input name is longer
VERSION_HELP = ("must be the version hash of a loaded table; leave it out to use the version "
                "now serving")
FACTS_HELP = "an object of fact names and values"

FactName = Annotated[str, StringConstraints(max_length=MAX_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- errors ----------------------------------------------------------------------------------


class FieldError(_Answer):
    field: str
    message: str


class Error(_Answer):
    """Every error answer: a stable code, a sentence for people, and the request id."""

    error: str
    message: str
    request_id: str | None


class ValidationError(Error):
    errors: list[FieldError]


class HitPolicyError(Error):
    table: str
    hit_policy: str
    rules: list[str]


# --- evaluation ------------------------------------------------------------------------------


class MatchedCondition(_Answer):
    input: str
    test: str
    value: Any


class FiredRule(_Answer):
    table: str
    rule_id: str
    sheet: str
    row: int
    citation: str
    conditions: list[MatchedCondition]
    outputs: dict[str, Any]


class Evaluation(_Answer):
    table_id: str
    version: str
    table_version: str
    released: bool = Field(description="The version passed `triage validate --release` "
                           "(review fields filled in, every property proven, every rule "
                           "covered); false for a draft, whatever its answers")
    review_status: str = Field(description="Who reviewed this version and when, or why it "
                               "is a draft")
    outputs: dict[str, Any]
    fired: list[FiredRule]
    explanation: str
    request_id: str
    correlation_id: str | None = Field(None, description="The caller's X-Request-ID, if any")


class CaseResult(_Answer):
    index: int
    status: int
    outputs: dict[str, Any] | None = None
    fired: list[FiredRule] | None = None
    explanation: str | None = None
    error: str | None = None
    message: str | None = None
    errors: list[FieldError] | None = None


class BatchEvaluation(_Answer):
    table_id: str
    version: str
    table_version: str
    released: bool = Field(description="The version passed `triage validate --release` "
                           "(review fields filled in, every property proven, every rule "
                           "covered); false for a draft, whatever its answers")
    review_status: str = Field(description="Who reviewed this version and when, or why it "
                               "is a draft")
    results: list[CaseResult]
    request_id: str
    correlation_id: str | None = None


# --- tables, operations, admin -----------------------------------------------------------


class FileStatus(_Answer):
    source: str = Field(description="The file's name, relative to the tables folder")
    status: Literal["ok", "failed", "missing"]
    at: str
    table_id: str | None
    version: str | None
    errors: list[dict[str, Any]]


class PreviousVersion(_Answer):
    version: str
    table_version: str
    accepted_at: str
    loaded_at: str


class TableSummary(_Answer):
    id: str
    title: str
    version: str
    table_version: str
    released: bool = Field(description="The version passed `triage validate --release` "
                           "(review fields filled in, every property proven, every rule "
                           "covered); false for a draft, whatever its answers")
    review_status: str = Field(description="Who reviewed this version and when, or why it "
                               "is a draft")
    accepted_at: str
    loaded_at: str
    source: str = Field(description="The workbook's name, relative to the tables folder")
    source_missing: bool = Field(description="The workbook is no longer in the tables folder; "
                                 "its last good version keeps serving")
    validation: dict[str, Any]
    previous_versions: list[PreviousVersion]
    last_reload: FileStatus | None


class StoredVersionInfo(_Answer):
    version: str
    source: str
    accepted_at: str
    validation: dict[str, Any]


class TableDescription(TableSummary):
    about: dict[str, str]
    inputs: dict[str, Any]
    outputs: list[dict[str, Any]]
    outputs_schema: dict[str, Any]
    evaluation_order: list[str]
    versions: list[StoredVersionInfo] | None = Field(
        description="Every version ever accepted (any can be pinned); null while the version "
        "store cannot be read")


class TableList(_Answer):
    tables: list[TableSummary]
    files: list[FileStatus]
    request_id: str


class AuditState(_Answer):
    status: Literal["ok", "unavailable"]
    reason: str | None
    since: str
    backend: str


class Ready(_Answer):
    status: str
    tables: int
    audit: AuditState


class NotReady(Error):
    tables: int
    audit: AuditState


class AuditRecord(_Answer):
    id: int
    request_id: str
    correlation_id: str | None
    case_index: int | None
    evaluated_at: str
    table_id: str
    version: str
    facts: dict[str, Any]
    outputs: dict[str, Any]
    fired: list[Any]
    hook_instance: str | None = Field(None, description="The CDS Hooks call's hookInstance, "
                                      "when the decision was asked for through CDS Hooks")


class AuditPage(_Answer):
    records: list[AuditRecord]
    count: int
    request_id: str


class ReloadResult(_Answer):
    reloaded: list[FileStatus]
    tables: dict[str, str]
    request_id: str


class Retired(_Answer):
    retired: str
    version: str
    retired_at: str | None
    request_id: str


class OverrideReasonCount(_Answer):
    """One of a rule's most frequent override reasons (engine/impact/overrides.py)."""

    system: str | None
    code: str | None
    display: str | None
    cards: int


class RuleOverrideCounts(_Answer):
    """Counted and defined in engine/impact/overrides.py, as the audit API counts them."""

    cards: int
    accepted: int
    overridden: int
    override_rate: float | None
    reasons: list[OverrideReasonCount]


class CoverageRule(_Answer):
    table: str
    rule_id: str
    sheet: str | None
    row: int | None
    fired: int
    share: float
    overrides: RuleOverrideCounts | None = Field(
        description="the cards with feedback the rule fired in; null when the database has "
                    "no card feedback table")


class NeverFired(_Answer):
    table: str
    rule_id: str
    sheet: str | None
    row: int | None


class CoverageVersion(_Answer):
    table_id: str
    version: str
    cases: int
    first: str
    last: str
    rules_known: bool = Field(description="whether the version's workbook was at hand; when "
                              "not, rules lists only those that fired and never_fired is null")
    rules: list[CoverageRule]
    never_fired: list[NeverFired] | None


class Coverage(_Answer):
    """How often each rule fired in the audited cases, per version (oldest first)."""

    table_id: str
    since: str | None
    until: str | None
    feedback: bool = Field(description="whether the card feedback was read (rules then have "
                           "their override counts)")
    versions: list[CoverageVersion]
    request_id: str


class Alive(_Answer):
    status: str


# --- CDS Hooks 2.0 (service/cds/) -------------------------------------------------------


class _Open(BaseModel):
    """CDS Hooks objects may carry members this service does not read (``extension``)."""

    model_config = ConfigDict(strict=True, extra="allow")


class FhirAuthorization(_Open):
    access_token: str = Field(max_length=8192)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str


class CdsRequest(_Open):
    """A call of a service: the hook, the context, and the prefetched FHIR data."""

    hook: str = Field(max_length=200)
    hookInstance: str = Field(min_length=1, max_length=200)  # noqa: N815 - the spec's name
    fhirServer: str | None = Field(None, max_length=2000)  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class Coding(_Open):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class OverrideReason(_Open):
    reason: Coding | None = None
    userComment: str | None = Field(None, max_length=4000)  # noqa: N815


class AcceptedSuggestion(_Open):
    id: str


class CardFeedback(_Open):
    card: str = Field(max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815
    outcomeTimestamp: str = Field(max_length=64)  # noqa: N815


class FeedbackRequest(_Open):
    feedback: list[CardFeedback] = Field(min_length=1, max_length=100)


class CardSource(_Answer):
    label: str
    url: str | None = None
    topic: Coding | None = None


class CardLink(_Answer):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class Card(_Answer):
    uuid: str
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    links: list[CardLink] | None = None
    overrideReasons: list[Coding] | None = None  # noqa: N815


class CdsResponse(_Answer):
    cards: list[Card]


class CdsService(_Answer):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


class CdsServices(_Answer):
    services: list[CdsService]


class FeedbackStored(_Answer):
    stored: int
    request_id: str


class RuleOverrides(_Answer):
    table_id: str
    version: str
    table: str
    rule_id: str
    cards: int
    accepted: int
    overridden: int
    override_rate: float
    reasons: list[OverrideReasonCount]


class OverridePage(_Answer):
    rules: list[RuleOverrides]
    request_id: str


# --- requests, with the app's limits -------------------------------------------------------


@dataclass(frozen=True)
class Requests:
    """The request models for one set of limits."""

    evaluate: type[BaseModel]
    batch: type[BaseModel]
    case: type[BaseModel]
    audit_query: type[BaseModel]


@functools.lru_cache(maxsize=8)
def models(max_batch: int, max_facts: int, max_audit: int) -> Requests:
    """The request models for these limits (made once per set of limits)."""
    facts_field = Field(description="Fact names and values; each table's Inputs sheet says "
                        "which (see its own path)", max_length=max_facts)
    version_field = Field(None, min_length=1, max_length=64,
                          description="Pin a version of the table (any version ever "
                          "accepted); leave it out for the version now serving")

    class EvaluateRequest(_Strict):
        facts: dict[FactName, Any] = facts_field
        version: str = version_field  # type: ignore[assignment]  # absent is None; null is refused

    class BatchCase(_Strict):
        facts: dict[FactName, Any] = facts_field

    class BatchRequest(_Strict):
        cases: list[Any] = Field(
            min_length=1, max_length=max_batch,
            description='Each case is {"facts": {...}} and is checked on its own: a case '
            "that is not gets its own 422 (or 409) in results, and the others are answered.")
        version: str = version_field  # type: ignore[assignment]

    class AuditQuery(_Strict):
        since: str | None = Field(None, description="ISO 8601 time; UTC when no offset is "
                                  "given", json_schema_extra={"format": "date-time"})
        limit: int = Field(100, ge=1, le=max_audit)
        table_id: str | None = None

    return Requests(EvaluateRequest, BatchRequest, BatchCase, AuditQuery)


def problems(error: PydanticError, prefix: str = "",
             fields: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """A pydantic error as (field, message) pairs in the service's words; ``prefix`` names
    where the validated object sits (a batch case), ``fields`` are the object's fields."""
    found = []
    items = sorted(error.errors(include_url=False),  # unknown fields first: they explain
                   key=lambda e: e["type"] != "extra_forbidden")  # the missing ones
    for item in items:
        loc = [str(part) for part in item["loc"]]
        kind = item["type"]
        ctx = item.get("ctx") or {}
        top = loc[0] if loc else ""
        field = ".".join(loc) if loc else "(body)"
        if prefix:
            field = f"{prefix}.{field}" if loc else prefix
        if kind == "model_type" or kind == "model_attributes_type":
            message = "must be a JSON object such as {\"facts\": {...}}"
        elif kind == "extra_forbidden":
            message = ("is not a field of a case" if prefix else
                       f"is not a field of this request (fields: {', '.join(fields)})")
        elif len(loc) == 3 and loc[2] == "[key]":
            field = f"{prefix}.{loc[1]}" if prefix else loc[1]
            message = f"is not an input of this table (a name of {len(loc[1])} characters)"
        elif top == "facts" and kind == "too_long":
            message = (f"has {len(item['input'])} fields; at most "
                       f"{ctx.get('max_length')} are accepted")
        elif top == "facts":
            message = (f"is required: {FACTS_HELP}" if kind == "missing"
                       else f"must be {FACTS_HELP}")
        elif top == "version":
            message = VERSION_HELP
        elif top == "cases" and kind in ("too_long", "too_short"):
            message = (f"must hold 1 to {ctx.get('max_length', ctx.get('min_length'))} "
                       f"cases, not {ctx.get('actual_length')}")
        elif top == "cases":
            message = 'is required: a list of {"facts": {...}} objects'
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
        found.append((field, message))
    return found


def schemas(*classes: type[BaseModel]) -> dict[str, Any]:
    """JSON Schemas of ``classes`` (and every model they use) by name, referring to each
    other as ``#/components/schemas/<name>``."""
    found: dict[str, Any] = {}
    for cls in classes:
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[cls.__name__] = schema
    return found
