"""The reload gate: may this workbook replace the version being served?

A workbook passes when ``engine.load`` accepts it and the validator (``engine.validation``)
reports no error — its errors include every vignette on the Tests sheet that does not give
the outputs the reviewer wrote down. A gate that fails keeps the last good version serving,
so it must be strict: a table whose own test cases disagree with it never reaches patients.

When the validator is not available (or is switched off with ``GATE_WITH_VALIDATOR``), the
gate still runs every vignette itself, so the minimum bar never drops.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import TriageError, WorkbookError
from engine.evaluator import CompiledModel
from engine.loader import load


@dataclass(frozen=True)
class GateResult:
    """``model`` is set when the workbook passed; ``problems`` says why it did not, each with
    a location (sheet, cell) where known and a fix."""

    path: str
    model: CompiledModel | None = None
    problems: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    # what the checks found, kept with the version in the version store: findings by
    # severity, with the warnings' codes, and the vignettes passed
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.model is not None and not self.problems


def check(path: str | Path, use_validator: bool = True) -> GateResult:
    """Load ``path`` and decide whether it may serve. Never raises for a bad workbook."""
    source = str(path)
    try:
        model = load(path)
    except WorkbookError as error:
        return GateResult(source, problems=tuple(_problem(p.as_dict()) for p in error.problems))
    except TriageError as error:  # durable-rules refused the compiled table
        return GateResult(source, problems=(_problem({"message": str(error)}),))
    summary: dict[str, Any] = {}
    problems = _validator_errors(model, summary) if use_validator else None
    if problems is None:
        problems = _vignette_failures(model)
        summary.update(validator=False, errors=len(problems),
                       vignettes={"total": len(model.vignettes),
                                  "failed": len({p["message"].split(":")[0] for p in problems})})
    return GateResult(source, model if not problems else None, tuple(problems), summary)


def _problem(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sheet": raw.get("sheet"),
        "cell": raw.get("cell"),
        "message": raw.get("message", ""),
        "fix": raw.get("fix", ""),
        **({"code": raw["code"]} if raw.get("code") else {}),
    }


def _validator_errors(model: CompiledModel,
                      summary: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The validator's errors and failing vignettes, or None when there is no validator.
    Fills ``summary`` with what it found."""
    try:
        from engine.validation import Severity, validate_model
    except ImportError:
        return None
    report = validate_model(model)
    summary.update(
        validator=True,
        errors=report.count(Severity.ERROR),
        warnings=report.count(Severity.WARNING),
        infos=report.count(Severity.INFO),
        warning_codes=sorted({f.code for f in report.findings
                              if f.severity is Severity.WARNING and f.code}),
        vignettes={"total": len(report.vignettes),
                   "failed": sum(1 for v in report.vignettes if not v.passed)},
    )
    problems = [
        _problem({**f.as_dict(), "cell": f.cells[0] if f.cells else None})
        for f in report.findings
        if f.severity is Severity.ERROR
    ]
    reported = {p.get("code") for p in problems}
    for result in report.vignettes:
        if not result.passed and not reported & {"TV501", "TV502", "TV503"}:
            message = f"vignette {result.vignette_id} fails: {result.message}"
            where = {"sheet": "Tests", "cell": f"A{result.row}"}
            problems.append(_problem({**where, "message": message}))
    return problems


def _vignette_failures(model: CompiledModel) -> list[dict[str, Any]]:
    """Every vignette run through the model; each output the reviewer expects compared."""
    problems: list[dict[str, Any]] = []
    for vignette in model.vignettes:
        where = vignette.location
        try:
            outputs = model.evaluate(dict(vignette.facts))
        except TriageError as error:
            problems.append(
                _problem(
                    {
                        "sheet": where.sheet if where else "Tests",
                        "cell": where.cell if where else None,
                        "message": f"vignette {vignette.vignette_id} fails: {error}",
                        "fix": "correct the vignette's facts or the table",
                    }
                )
            )
            continue
        for name, expected in vignette.expected.items():
            got = _output(outputs.outputs, name)
            if got != expected:
                problems.append(
                    _problem(
                        {
                            "sheet": where.sheet if where else "Tests",
                            "cell": where.cell if where else None,
                            "message": f"vignette {vignette.vignette_id}: {name} is {got!r}, "
                            f"the Tests sheet expects {expected!r}",
                            "fix": "correct the table's rules or the expected value",
                        }
                    )
                )
    return problems


def _output(outputs: Mapping[str, Any], name: str) -> Any:
    """An output by its name: a table's own result, or one column of a multi-output table."""
    if name in outputs:
        return outputs[name]
    for value in outputs.values():
        if isinstance(value, Mapping) and name in value:
            return value[name]
    return None


def check_bytes(content: bytes, name: str, use_validator: bool = True) -> GateResult:
    """:func:`check` on a workbook's bytes, read once by the caller: the bytes stored in the
    version store are then exactly the ones that passed, even if the file changes meanwhile.
    ``name`` is the file's name (its suffix says how to read it)."""
    with tempfile.TemporaryDirectory(prefix="triage-gate-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        result = check(path, use_validator)
    return replace(result, path=name)
