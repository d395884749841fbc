"""Rule coverage: which vignettes fire each rule.

A rule that no vignette fires has never been seen to give its output, so nobody has checked
that it does what its author meant. Each such rule is a warning at its id cell (so
``--annotate`` marks the row), and ``--release`` refuses the table until every rule is
covered. "Fires" means what an answer reports: the rule whose outputs the table returned
(for PRIORITY and FIRST the one chosen, for multi-hit tables every match).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import Model
from engine.validation.codes import finding
from engine.validation.findings import Finding, VignetteResult
from engine.validation.tablefindings import in_dmn

Coverage = dict[str, dict[str, list[str]]]  # table -> rule id -> vignette ids, in sheet order


def rule_coverage(model: Model, results: Sequence[VignetteResult]) -> Coverage:
    coverage: Coverage = {t.name: {r.rule_id: [] for r in t.rules} for t in model.tables}
    for result in results:
        for table, rule_id in result.fired:
            coverage.setdefault(table, {}).setdefault(rule_id, []).append(result.vignette_id)
    return coverage


def coverage_findings(model: Model, coverage: Coverage) -> list[Finding]:
    """A warning for every rule no vignette fires. Without any vignette, the one finding
    about that (TV504) says it all, unless ``--release`` needs every rule covered."""
    findings = []
    for table in model.tables:
        for rule in table.rules:
            if coverage.get(table.name, {}).get(rule.rule_id):
                continue
            where = rule.location
            if in_dmn(table):
                message = f"no test case fires rule {rule.rule_id} of decision '{table.name}'"
                fix = "convert the model (triage convert) and add a case whose facts make "
                fix += "this rule fire, with the outputs a reviewer expects"
            else:
                message = f"no vignette fires rule {rule.rule_id} of table '{table.name}'"
                fix = "add a row to the Tests sheet whose facts make this rule fire, with the "
                fix += "outputs a reviewer expects"
            findings.append(
                finding(
                    "TV505",
                    f"{message}, so no expected result checks it",
                    fix,
                    sheet=where.sheet if where and not in_dmn(table) else table.sheet,
                    cells=[where.cell] if where and where.cell else [],
                    table=table.name,
                    rules=[rule.rule_id],
                )
            )
    return findings
