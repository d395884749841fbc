"""``validate(path)``: every check on one workbook or DMN file, as a :class:`Report`.

The stages, and why they are ordered so:

1. **read** — :func:`engine.workbook.read_workbook` (which refuses hostile files first); a
   file that cannot be read ends here with one finding and exit code 2;
2. **sheets** — sheets the engine would ignore, merged and hidden cells, formulas: these need
   the file, not the model, so they run even when the workbook does not load;
3. **load** — the builder's problems, all of them, become findings with stable codes; when
   there are any, the deeper checks cannot run and say so (``TV601``);
4. **analyse** — cells that can never match, hit-policy analysis, chaining, and the Safety
   sheet's properties proven (:mod:`engine.validation.safety`);
5. **vignettes** — every row of the Tests sheet through durable-rules.

The input file is only ever read.
"""

from __future__ import annotations

from pathlib import Path

from engine.dmn.xml import is_dmn_path
from engine.errors import TriageError, UnreadableFile, WorkbookError
from engine.evaluator import CompiledModel
from engine.loader import load, load_sheets
from engine.release import release_problems
from engine.validation.codes import finding
from engine.validation.coverage import coverage_findings, rule_coverage
from engine.validation.findings import Finding, Report
from engine.validation.layout import layout_findings
from engine.validation.modelchecks import check_model
from engine.validation.policies import MAX_NODES
from engine.validation.problems import SheetRoles, classify, file_finding
from engine.validation.safety import safety_findings
from engine.validation.sheetref import column_letter
from engine.validation.structure import unrecognised_sheets
from engine.validation.vignettes import run_vignettes
from engine.values import text_of
from engine.workbook import Sheet, read_workbook


def validate(
    path: str | Path,
    *,
    vignettes: bool = True,
    layout: bool = True,
    max_nodes: int = MAX_NODES,
    release: bool = False,
) -> Report:
    """Validate the workbook (or DMN file) at ``path``. With ``release``, also check what a
    release needs (the About sheet's review fields), and let warnings fail the report."""
    report, _ = validate_and_load(path, vignettes=vignettes, layout=layout,
                                  max_nodes=max_nodes, release=release)
    return report


def validate_and_load(
    path: str | Path,
    *,
    vignettes: bool = True,
    layout: bool = True,
    max_nodes: int = MAX_NODES,
    release: bool = False,
) -> tuple[Report, CompiledModel | None]:
    """:func:`validate`, and the model it loaded (None when the file does not load), for a
    caller that serves what it validated without reading and compiling the file twice."""
    path = Path(path)
    report = Report(str(path), release=release)
    sheets: tuple[Sheet, ...] = ()
    roles = SheetRoles()
    try:
        if is_dmn_path(path):
            model = load(path)
        else:
            sheets = read_workbook(path)
            report.sheets = tuple(s.name for s in sheets)
            roles = SheetRoles.of(sheets)
            report.findings.extend(unrecognised_sheets(sheets, roles))
            if layout:
                report.findings.extend(layout_findings(path, sheets, roles))
            model = load_sheets(sheets, source=str(path))
    except UnreadableFile as error:
        report.readable = False
        report.findings = [file_finding(p) for p in error.problems[:1]]
        return report, None
    except WorkbookError as error:
        report.findings.extend(classify(error.problems, roles))
        report.findings.append(_wait(is_dmn_path(path)))
        return report, None
    except TriageError as error:  # durable-rules refused the compiled rules: an engine bug
        report.findings.append(
            finding(
                "TV199",
                f"the rules cannot be loaded into the engine ({error})",
                "please report this, with the file",
            )
        )
        report.findings.append(_wait(is_dmn_path(path)))
        return report, None
    return _analyse(model, report, sheets, vignettes, max_nodes), model


def _wait(dmn: bool = False) -> Finding:
    checks = "overlaps, gaps and masked rules are checked once the model loads"
    if not dmn:
        checks = "overlaps, gaps, masked rules and vignettes are checked once the workbook loads"
    return finding(
        "TV601", f"{checks}; fix the errors above first", "fix the errors and validate again"
    )


def validate_model(
    model: CompiledModel,
    *,
    vignettes: bool = True,
    max_nodes: int = MAX_NODES,
    release: bool = False,
) -> Report:
    """The deeper checks on a model already loaded (from a workbook, DMN or sheets)."""
    return _analyse(model, Report(model.source, release=release), (), vignettes, max_nodes)


def _analyse(
    model: CompiledModel, report: Report, sheets: tuple[Sheet, ...], vignettes: bool, max_nodes: int
) -> Report:
    report.analysed = True
    if not report.sheets:
        report.sheets = tuple(dict.fromkeys(t.sheet for t in model.tables))
    report.findings.extend(check_model(model.model, max_nodes))
    report.properties, found = safety_findings(model, _tests_header(sheets))
    report.findings.extend(found)
    if vignettes:
        results, found = run_vignettes(model, _tests_columns(sheets))
        report.vignettes.extend(results)
        report.findings.extend(found)
        report.coverage = rule_coverage(model.model, results)
        if results or report.release:  # with no vignette at all, TV504 says it once
            report.findings.extend(coverage_findings(model.model, report.coverage))
    if report.release:
        report.findings.extend(classify(release_problems(model.about)))
    return report


def _tests_columns(sheets: tuple[Sheet, ...]) -> dict[str, str]:
    """Column letters of the Tests sheet's headings, to point at a vignette's cells."""
    tests = next((s for s in sheets if s.name.strip().lower() == "tests"), None)
    if tests is None:
        return {}
    return {
        text_of(tests.value(0, c)): column_letter(c)
        for c in range(tests.width)
        if text_of(tests.value(0, c))
    }


def _tests_header(sheets: tuple[Sheet, ...]) -> list[str]:
    """The Tests sheet's headings in column order ('' for an empty one), so that a
    counterexample's Tests row pastes under them."""
    tests = next((s for s in sheets if s.name.strip().lower() == "tests"), None)
    if tests is None:
        return []
    return [text_of(tests.value(0, c)) for c in range(tests.width)]
