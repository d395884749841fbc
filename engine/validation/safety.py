"""The Safety sheet's properties, proven (:mod:`engine.prover`) and reported as findings.

* ``TV701`` a property does not hold — at the property's own severity, with the patient who
  breaks it, the outputs and rules that patient gets, and the patient as a Tests-sheet row;
* ``TV702`` a property is not proven (a solver timeout, or something the prover cannot state
  exactly) — a warning, and never read as proven;
* ``TV703`` a property's ``When`` can never hold — a warning: it protects nobody.

Mistakes in the sheet itself (``TV704``-``TV707``, and ``TV201``-``TV206`` for cells) are
found where it is read, :mod:`engine.properties`.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.evaluator import CompiledModel
from engine.prover import PropertyResult, Verdict, prove_properties
from engine.validation.codes import finding
from engine.validation.findings import Finding, Severity


def safety_findings(
    model: CompiledModel, tests_columns: Sequence[str] | None = None
) -> tuple[list[PropertyResult], list[Finding]]:
    """Every property's result, and a finding for each one not proven."""
    if not model.properties:
        return [], []
    try:
        results = prove_properties(model, tests_columns=tests_columns)
    except Exception as exc:  # a prover bug must not hide the other findings, nor pass
        reason = f"the prover failed ({type(exc).__name__}: {exc}); please report this"
        results = [PropertyResult(p, Verdict.NOT_PROVEN, reason) for p in model.properties]
    return results, [f for r in results if (f := _finding(r)) is not None]


def _finding(result: PropertyResult) -> Finding | None:
    prop = result.prop
    where = prop.location
    sheet = where.sheet if where else None
    cells = [where.cell] if where and where.cell else []
    name = f"property {prop.property_id}"
    if result.verdict is Verdict.VIOLATED:
        example = result.counterexample
        assert example is not None
        return finding(
            "TV701",
            f"{name} does not hold: {example.describe(prop)}",
            "correct the rules so this patient gets what the property requires (or the "
            "property, if it is wrong); paste the Tests row to keep the case as a vignette",
            sheet=sheet,
            cells=cells,
            rules=[f.rule_id for f in example.fired],
            severity=Severity(prop.severity),
            detail="Tests row: " + example.tests_line,
        )
    if result.verdict is Verdict.NOT_PROVEN:
        return finding(
            "TV702",
            f"{name} is not proven: {result.reason}",
            "simplify the tables it depends on, or check it with vignettes until it is proven",
            sheet=sheet,
            cells=cells,
        )
    if result.verdict is Verdict.VACUOUS:
        return finding(
            "TV703",
            f"{name} can never apply: no case the Inputs sheet allows satisfies its When cells",
            "correct its When cells (a range outside the allowed values, or tests that "
            "exclude each other)",
            sheet=sheet,
            cells=cells,
        )
    return None
