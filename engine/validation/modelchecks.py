"""The checks that need a loaded model: cells that can never match, hit-policy analysis of
every table, and inputs no table uses.

Tables are analysed in evaluation order, so that each table knows what the tables it reads
can really produce (their outputs' values, and whether they can be empty).
"""

from __future__ import annotations

from engine.model import Model
from engine.validation.cells import cell_findings, unused_inputs
from engine.validation.chaining import unread_values
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.policies import MAX_NODES, analyse_table
from engine.validation.space import Produced, build_space, output_production
from engine.validation.tablefindings import table_finding


def check_model(model: Model, max_nodes: int = MAX_NODES) -> list[Finding]:
    findings: list[Finding] = []
    produced: dict[str, Produced] = {}
    for table in model.tables:
        may_miss = True
        try:
            space = build_space(table, model, produced)
            findings.extend(cell_findings(space, model))
            if space.too_many:
                ids = ", ".join(space.rule_ids(space.too_many))
                findings.append(
                    table_finding(
                        table,
                        "TV602",
                        f"rules {ids} are left out of the analysis: their cells combine into "
                        "too many cases",
                        "split them into several rules with shorter value lists",
                    )
                )
            analysis = analyse_table(space, max_nodes)
            findings.extend(analysis.findings)
            may_miss = analysis.may_miss
        except Exception as exc:  # a bug here must not hide the other tables' findings
            findings.append(
                finding(
                    "TV602",
                    f"table '{table.name}' not analysed: the validator failed "
                    f"({type(exc).__name__}: {exc})",
                    "please report this, with the file",
                    sheet=table.sheet,
                    table=table.name,
                )
            )
        produced.update(output_production(table, may_miss))
    findings.extend(unused_inputs(model))
    findings.extend(unread_values(model))
    return findings
