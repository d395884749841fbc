"""The catalogue of checks: every finding's code, its severity and a short title.

Codes are stable: a CI rule, a suppression list or a clinician's notes may name them, so a
code is never reused for another check. The hundreds group the checks:

* ``TV0xx`` the file cannot be read at all (the CLI exits with 2);
* ``TV1xx`` structure: sheets, headers, names, column kinds, merged/hidden cells, formulas;
* ``TV2xx`` cells: unary tests, types, allowed values and ranges, rules that cannot match;
* ``TV3xx`` hit policy: overlaps, gaps, duplicates, subsumed and masked rules, outputs;
* ``TV4xx`` chaining between tables;
* ``TV5xx`` vignettes (the Tests sheet);
* ``TV6xx`` what was not analysed, and why;
* ``TV7xx`` safety properties (the Safety sheet);
* ``TV8xx`` what a release needs (``triage validate --release``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.validation.findings import Finding, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741 - short table columns


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    title: str


_CHECKS = (
    Check("TV001", E, "the file cannot be read"),
    Check("TV002", E, "the workbook is password-protected or encrypted"),
    Check("TV003", E, "the file is too large or is a zip bomb"),
    Check("TV004", E, "the file declares XML entities"),
    Check("TV005", E, "a sheet has too many rows or columns"),
    Check("TV006", E, "the workbook holds macros"),
    Check("TV007", E, "the workbook holds an embedded object"),
    Check("TV101", E, "a required sheet is missing"),
    Check("TV102", E, "the workbook has no decision table"),
    Check("TV103", W, "a sheet is not recognised and is ignored"),
    Check("TV104", E, "a header or row label is wrong"),
    Check("TV105", E, "an About field is missing or wrong"),
    Check("TV106", E, "a name is not valid"),
    Check("TV107", E, "an input is declared twice"),
    Check("TV108", E, "a table reads an unknown input"),
    Check("TV109", E, "a table or output name is used twice"),
    Check("TV110", E, "a column's kind is missing or misplaced"),
    Check("TV111", E, "a Tests column names no input or output"),
    Check("TV112", E, "an Output values or Default cell is misplaced"),
    Check("TV113", E, "the hit policy is unknown or does not fit the outputs"),
    Check("TV114", E, "a citation is missing"),
    Check("TV115", E, "a rule id is missing or used twice"),
    Check("TV116", E, "a size limit is exceeded"),
    Check("TV117", E, "an input's type is unknown"),
    Check("TV118", E, "an input's allowed values are wrong"),
    Check("TV119", E, "an input's Required cell is not yes or no"),
    Check("TV120", E, "merged cells change what the cells hold"),
    Check("TV121", W, "a sheet, row or column is hidden"),
    Check("TV122", W, "a cell holds a formula"),
    Check("TV123", E, "a formula has no saved result"),
    Check("TV124", I, "a sheet is not read by the engine"),
    Check("TV125", E, "a cell holds an Excel error value"),
    Check("TV126", E, "a DMN construct outside the supported subset"),
    Check("TV127", E, "a DMN element lacks a part it needs"),
    Check("TV199", E, "another problem in the workbook"),
    Check("TV201", E, "a cell cannot be read as a test"),
    Check("TV202", E, "a value has the wrong type"),
    Check("TV203", E, "a value is not one of the allowed values"),
    Check("TV204", E, "a test lies outside the input's allowed range"),
    Check("TV205", E, "an output value is not in the Output values list"),
    Check("TV206", E, "a range contains no value"),
    Check("TV207", E, "a rule can never match"),
    Check("TV208", W, "part of a cell can never match"),
    Check("TV209", E, "an output cell is empty"),
    Check("TV210", W, "a bare number in a number column tests equality"),
    Check("TV301", E, "rules overlap in a UNIQUE table"),
    Check("TV302", E, "overlapping rules give different outputs in an ANY table"),
    Check("TV303", W, "no rule matches some cases and there is no default"),
    Check("TV304", W, "rules are duplicates"),
    Check("TV305", W, "a rule is covered by another with the same output"),
    Check("TV306", W, "a rule is never chosen (masked by earlier or higher-priority rules)"),
    Check("TV307", W, "an output value is produced by no rule"),
    Check("TV308", W, "a PRIORITY or OUTPUT ORDER table lists no output values"),
    Check("TV401", E, "a table reads another table's output with the wrong type"),
    Check("TV402", E, "tables read each other's outputs in a cycle"),
    Check("TV403", W, "an input is used by no table"),
    Check("TV404", W, "a cell tests a value the other table never produces"),
    Check("TV405", E, "an output value is read by no rule of a table that reads the output"),
    Check("TV501", E, "a vignette gives a different result"),
    Check("TV502", E, "a vignette cannot be evaluated"),
    Check("TV503", E, "a Tests cell is wrong"),
    Check("TV504", I, "the workbook has no vignettes"),
    Check("TV505", W, "no vignette fires a rule"),
    Check("TV601", I, "deeper checks not run"),
    Check("TV602", I, "analysis stopped early"),
    Check("TV603", I, "a free-text column is not analysed for gaps"),
    Check("TV604", I, "sheet layout not checked"),
    Check("TV701", E, "a safety property does not hold (at the property's severity)"),
    Check("TV702", W, "a safety property is not proven"),
    Check("TV703", W, "a safety property's When can never hold"),
    Check("TV704", E, "a Safety column names no input or output, or has no role"),
    Check("TV705", E, "a Safety column requires something of an input (Then on an input)"),
    Check("TV706", E, "a safety property has no Then"),
    Check("TV707", E, "a Safety sheet cell is wrong (id, severity, citation)"),
    Check("TV801", E, "the About sheet's release fields are not filled in"),
)

CHECKS: dict[str, Check] = {c.code: c for c in _CHECKS}


def finding(
    code: str,
    message: str,
    fix: str = "",
    *,
    sheet: str | None = None,
    cells: tuple[str, ...] | list[str] = (),
    table: str | None = None,
    rules: tuple[str, ...] | list[str] = (),
    severity: Severity | None = None,
    detail: str = "",
) -> Finding:
    """A finding with the catalogue's severity for ``code`` (unknown codes are a bug)."""
    check = CHECKS[code]
    return Finding(
        code,
        severity or check.severity,
        message,
        fix,
        sheet,
        tuple(cells),
        table,
        tuple(rules),
        detail,
    )
