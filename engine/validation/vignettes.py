"""Every row of the Tests sheet run through durable-rules (``CompiledModel.evaluate``), exactly
as a request would be, and compared with the outputs the reviewer wrote down."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.conditions import format_value
from engine.dmn.xml import is_dmn_path
from engine.errors import TriageError
from engine.evaluator import CompiledModel
from engine.model import Decision, Model, Vignette
from engine.validation.codes import finding
from engine.validation.findings import Finding, VignetteResult


def run_vignettes(
    model: CompiledModel, columns: Mapping[str, str] | None = None
) -> tuple[list[VignetteResult], list[Finding]]:
    """``columns``: the Tests sheet's column letter of each output, to point at the cell of
    an unexpected result (without it, findings point at the vignette's id cell)."""
    results: list[VignetteResult] = []
    findings: list[Finding] = []
    if not model.vignettes:
        if is_dmn_path(model.source):
            findings.append(
                finding(
                    "TV504",
                    "the DMN model has no test cases, so no expected result is checked",
                    "convert the model (triage convert) and add cases with the outputs a "
                    "reviewer expects to the converted file",
                )
            )
        else:
            findings.append(
                finding(
                    "TV504",
                    "the workbook has no vignettes, so no expected result is checked",
                    "add a Tests sheet with a few cases and the outputs a reviewer expects",
                )
            )
        return results, findings
    for vignette in model.vignettes:
        result, found = _run(model, vignette, columns or {})
        results.append(result)
        findings.extend(found)
    return results, findings


def _run(
    model: CompiledModel, vignette: Vignette, columns: Mapping[str, str]
) -> tuple[VignetteResult, list[Finding]]:
    where = vignette.location
    sheet = where.sheet if where else None
    id_cell = where.cell if where and where.cell else None
    try:
        decision = model.evaluate(dict(vignette.facts))
    except Exception as error:  # TriageError, or an engine bug: either way, this vignette
        text = str(error) if isinstance(error, TriageError) else f"{type(error).__name__}: {error}"
        message = f"vignette {vignette.vignette_id} cannot be evaluated: {text}"
        fix = "correct its facts, or the rules that violate the hit policy"
        return VignetteResult(vignette.vignette_id, vignette.row, False, message), [
            finding("TV502", message, fix, sheet=sheet, cells=[id_cell] if id_cell else [])
        ]
    actual = outputs_by_name(model, decision)
    fired = tuple((f.table, f.rule_id) for f in decision.fired)
    findings = []
    for name, expected in vignette.expected.items():
        got = actual.get(name)
        if _same(got, expected):
            continue
        gave = [f.rule_id for f in decision.fired if name in f.outputs]
        because = f" (rules that fired: {', '.join(gave)})" if gave else " (no rule fired)"
        letter = columns.get(name)
        cell = f"{letter}{vignette.row}" if letter else id_cell
        findings.append(
            finding(
                "TV501",
                f"vignette {vignette.vignette_id}: {name} is {_show(got)}, "
                f"expected {_show(expected)}{because}",
                "correct the rules, or the expected value if the rules are right",
                sheet=sheet,
                cells=[cell] if cell else [],
                rules=gave,
            )
        )
    message = "; ".join(f.message for f in findings)
    result = VignetteResult(vignette.vignette_id, vignette.row, not findings, message, fired)
    return result, findings


def outputs_by_name(model: Model | CompiledModel, decision: Decision) -> dict[str, Any]:
    """Each output's value, whatever shape its table returns (a value, a dict of several
    outputs, a list of values or of dicts)."""
    values: dict[str, Any] = {}
    for table in model.tables:
        result = decision.outputs.get(table.name)
        if len(table.outputs) == 1:
            values[table.outputs[0].name] = result
        elif table.returns_list:
            for out in table.outputs:
                values[out.name] = [row.get(out.name) for row in result or []]
        else:
            for out in table.outputs:
                values[out.name] = (result or {}).get(out.name)
    return values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool | int | float | str):
        return format_value(value)
    return str(value)
