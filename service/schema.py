"""JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) derived from a model.

The Inputs sheet is the contract with integrators, so the schema is read from it and nothing
else: each input's type, its enum values, its numeric range (the unary test in *Allowed
values*, such as ``[16..120]`` or ``>= 0``), which inputs are required, and no other
property. An optional input may also be ``null`` — the engine reads ``null`` as "not
supplied". Outputs are described the same way from each table's output columns, so that a
client can be generated from ``/openapi.json`` and check answers as well as requests.
"""

from __future__ import annotations

from typing import Any

from engine.conditions import AnyValue, Between, Compare, Condition, Equals, Item, NoneOf
from engine.fhir.hooks import hook_of
from engine.model import InputDef, Kind, Model, OutputDef, Table

_TYPES = {
    Kind.BOOLEAN: "boolean",
    Kind.NUMBER: "number",
    Kind.INTEGER: "integer",
    Kind.ENUM: "string",
    Kind.TEXT: "string",
}


def input_schema(model: Model) -> dict[str, Any]:
    """The schema of a request's ``facts`` object."""
    return {
        "type": "object",
        "title": f"Facts for {model.about.table_id}",
        "properties": {i.name: _input(i) for i in model.inputs},
        "required": [i.name for i in model.inputs if i.required],
        "additionalProperties": False,
    }


def _input(definition: InputDef) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _TYPES[definition.kind]}
    if definition.kind is Kind.ENUM:
        schema["enum"] = list(definition.allowed_values)
    if definition.value_range is not None:
        schema.update(range_schema(definition.value_range))
    if definition.description:
        schema["description"] = definition.description
    if definition.unit:
        schema["x-unit"] = definition.unit
    if not definition.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def range_schema(condition: Condition) -> dict[str, Any]:
    """A numeric unary test as JSON Schema keywords: ``[16..120]`` is minimum 16, maximum
    120; ``(0..1]`` uses exclusiveMinimum; a list of tests becomes ``anyOf``."""
    if isinstance(condition, AnyValue):
        return {}
    if isinstance(condition, NoneOf):
        return {"not": {"anyOf": [_item(i) for i in condition.items]}}
    parts = [part for part in map(_item, condition.items) if part]
    if len(parts) == 1:
        return parts[0]
    return {"anyOf": parts} if parts else {}


def _item(item: Item) -> dict[str, Any]:
    if isinstance(item, Between):
        low = "minimum" if item.low_closed else "exclusiveMinimum"
        high = "maximum" if item.high_closed else "exclusiveMaximum"
        return {low: item.low, high: item.high}
    if isinstance(item, Compare):
        keyword = {
            ">=": "minimum",
            ">": "exclusiveMinimum",
            "<=": "maximum",
            "<": "exclusiveMaximum",
        }.get(item.op)
        return {keyword: item.value} if keyword else {"not": {"const": item.value}}
    if isinstance(item, Equals):
        return {"const": item.value}
    return {}  # null: the input's optionality says whether null is allowed


def output_value_schema(output: OutputDef) -> dict[str, Any]:
    """The schema of one output cell's value; null where no rule and no default gave one."""
    schema: dict[str, Any] = {"type": _TYPES[output.kind]}
    if output.allowed_values:
        schema["enum"] = list(output.allowed_values)
    return {"anyOf": [schema, {"type": "null"}]}


def table_result_schema(table: Table) -> dict[str, Any]:
    """What ``outputs[table.name]`` holds: a value, an object of values (several output
    columns), a list of either (multi-hit without aggregation), or a number (aggregation)."""
    if table.aggregation is not None:
        return {"type": ["number", "null"]}
    if len(table.outputs) == 1:
        one = output_value_schema(table.outputs[0])
    else:
        one = {
            "type": "object",
            "properties": {o.name: output_value_schema(o) for o in table.outputs},
        }
    return {"type": "array", "items": one} if table.returns_list else one


def outputs_schema(model: Model) -> dict[str, Any]:
    """The schema of a decision's ``outputs``: one property per table, in evaluation order."""
    return {
        "type": "object",
        "properties": {t.name: table_result_schema(t) for t in model.tables},
        "required": [t.name for t in model.tables],
    }


def outputs_description(model: Model) -> list[dict[str, Any]]:
    """Each output column with its table, type, allowed values (priority order) and default."""
    return [
        {
            "name": o.name,
            "table": t.name,
            "sheet": t.sheet,
            "hit_policy": t.hit_policy.value
            + (f" {t.aggregation.value}" if t.aggregation else ""),
            "type": o.kind.value,
            "allowed_values": list(o.allowed_values),
            "default": o.default if o.has_default else None,
            "list": t.returns_list,
        }
        for t in model.tables
        for o in t.outputs
    ]


def about(model: Model) -> dict[str, str]:
    """The About sheet's fields."""
    a = model.about
    return {
        "table_id": a.table_id,
        "title": a.title,
        "version": a.version,
        "owner": a.owner,
        "clinical_reviewer": a.clinical_reviewer,
        "review_date": a.review_date,
        "description": a.description,
        "cds_hook": hook_of(a),
    }


def is_enumerable(output: OutputDef) -> bool:
    """Outputs whose values are few and known: only these are counted per value in /metrics
    (a free-text output such as advice would make a label per sentence)."""
    return output.kind is Kind.BOOLEAN or bool(output.allowed_values)

