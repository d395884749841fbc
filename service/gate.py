"""The reload gate: may this workbook replace the version being served?

A workbook passes when ``engine.load`` accepts it and the validator (``engine.validation``)
reports no error — its errors include every vignette on the Tests sheet that does not give
the outputs the reviewer wrote down. A gate that fails keeps the last good version serving,
so it must be strict: a table whose own test cases disagree with it never reaches patients.

Every workbook is checked for release too, as ``triage validate --release`` would: the
verdict travels with the version (its gate summary, kept in the version store), so every
answer says ``"released": false`` for a draft; ``RELEASE_ONLY`` refuses drafts outright.

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
from engine.release import CODE as RELEASE_CODE
from engine.release import review_status


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


def check(path: str | Path, use_validator: bool = True,
          release_only: bool = False) -> GateResult:
    """Load ``path`` and decide whether it may serve. Never raises for a bad workbook.

    Every workbook is also checked for release (``triage validate --release``): the verdict
    and its reasons are kept in ``summary["release"]``, so every answer can say whether a
    reviewed table gave it. With ``release_only`` a workbook that is not releasable is
    refused, with those reasons."""
    source = str(path)
    summary: dict[str, Any] = {}
    blockers: list[dict[str, Any]] = []
    model, problems = _validated(path, summary, blockers) if use_validator else (None, None)
    if model is None:
        try:
            model = load(path)
        except WorkbookError as error:
            return GateResult(source,
                              problems=tuple(_problem(p.as_dict()) for p in error.problems))
        except TriageError as error:  # durable-rules refused the compiled table
            return GateResult(source, problems=(_problem({"message": str(error)}),))
    if problems is None:
        problems = _vignette_failures(model)
        summary.update(validator=False, errors=len(problems),
                       vignettes={"total": len(model.vignettes),
                                  "failed": len({p["message"].split(":")[0] for p in problems})})
        blockers = [_problem({
            "message": "the validator did not run, so the release checks were not made",
            "fix": "serve with the validator (GATE_WITH_VALIDATOR) to have tables released",
        })]
    summary["release"] = {
        "released": not blockers,
        "review_status": review_status(model.about),
        "problems": blockers[:MAX_RELEASE_PROBLEMS],
        "more_problems": max(0, len(blockers) - MAX_RELEASE_PROBLEMS),
    }
    if release_only and not problems and blockers:
        problems = [_problem({
            "sheet": "About", "message": "this service serves released tables only "
            "(--release-only), and this workbook does not pass `triage validate --release`",
            "fix": "fix the problems listed after this one, then save the workbook again",
        }), *blockers]
    return GateResult(source, model if not problems else None, tuple(problems), summary)


MAX_RELEASE_PROBLEMS = 20  # kept with each version; `triage validate --release` lists them all


def released(summary: Mapping[str, Any]) -> bool:
    """Whether the version whose gate ``summary`` this is passed the release checks. A
    version stored before they existed is not released."""
    release = summary.get("release")
    return isinstance(release, Mapping) and release.get("released") is True


def review_status_of(summary: Mapping[str, Any]) -> str:
    release = summary.get("release")
    if isinstance(release, Mapping) and isinstance(release.get("review_status"), str):
        return str(release["review_status"])
    return "unknown: this version was accepted before release checks were recorded"


def _problem(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sheet": raw.get("sheet"),
        "cell": raw.get("cell"),
        "message": raw.get("message", ""),
        "fix": raw.get("fix", ""),
        **({"code": raw["code"]} if raw.get("code") else {}),
    }


def _validated(path: str | Path, summary: dict[str, Any], blockers: list[dict[str, Any]]
               ) -> tuple[CompiledModel | None, list[dict[str, Any]] | None]:
    """What ``triage validate --release`` says of the file, and the model it loaded: the
    errors that keep it from serving at all are returned (None when there is no validator,
    and no model when the file does not load: the loader then says why); everything that
    keeps it from being released (those errors, warnings, the review fields) goes into
    ``blockers``. Fills ``summary`` with what it found."""
    try:
        from engine.validation import Severity
        from engine.validation.runner import validate_and_load
    except ImportError:
        return None, None
    report, model = validate_and_load(path, release=True)
    if model is None:
        return None, None
    drafting = [f for f in report.findings if f.code != RELEASE_CODE]
    summary.update(
        validator=True,
        errors=sum(1 for f in drafting if f.severity is Severity.ERROR),
        warnings=sum(1 for f in drafting if f.severity is Severity.WARNING),
        infos=sum(1 for f in drafting if f.severity is Severity.INFO),
        warning_codes=sorted({f.code for f in drafting
                              if f.severity is Severity.WARNING and f.code}),
        vignettes={"total": len(report.vignettes),
                   "failed": sum(1 for v in report.vignettes if not v.passed)},
        properties={"total": len(report.properties), "proven": report.proven},
    )
    problems: list[dict[str, Any]] = []
    for f in report.sorted_findings():
        if f.severity in (Severity.ERROR, Severity.WARNING):
            problem = _problem({**f.as_dict(), "cell": f.cells[0] if f.cells else None})
            blockers.append(problem)
            if f.severity is Severity.ERROR and f.code != RELEASE_CODE:
                problems.append(problem)
    reported = {p.get("code") for p in problems}
    for result in report.vignettes:
        if not result.passed and not reported & {"TV501", "TV502", "TV503"}:
            message = f"vignette {result.vignette_id} fails: {result.message}"
            where = {"sheet": "Tests", "cell": f"A{result.row}"}
            problems.append(_problem({**where, "message": message}))
            blockers.append(problems[-1])
    return model, problems


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


def check_bytes(content: bytes, name: str, use_validator: bool = True,
                release_only: bool = False) -> GateResult:
    """:func:`check` on a workbook's bytes, read once by the caller: the bytes stored in the
    version store are then exactly the ones that passed, even if the file changes meanwhile.
    ``name`` is the file's name (its suffix says how to read it)."""
    with tempfile.TemporaryDirectory(prefix="triage-gate-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        result = check(path, use_validator, release_only)
    return replace(result, path=name)
