"""The one place that turns a :class:`Report` into output: readable text grouped by sheet
(coloured for a terminal), JSON for programs, JUnit XML for CI systems.

JUnit has no warnings: an error is a ``<failure>``; a warning is a failure only under
``--strict`` and otherwise a passing test case whose ``<system-out>`` carries it; what was not
analysed is ``<skipped>``. Each vignette is its own test case, so a CI page lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from xml.etree import ElementTree as ET

import click

from engine.dmn.xml import is_dmn_path
from engine.validation.findings import Finding, Report, Severity

FORMATS = ("text", "json", "junit")
_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
WORKBOOK = "Workbook"
MODEL = "Model"  # a DMN file


def render(report: Report, fmt: str = "text", *, color: bool = False, strict: bool = False) -> str:
    if fmt == "json":
        return json.dumps(report.as_dict(strict), indent=2, ensure_ascii=False, default=str)
    if fmt == "junit":
        return render_junit(report, strict)
    return render_text(report, color, strict)


# --- text --------------------------------------------------------------------------------


def render_text(report: Report, color: bool = False, strict: bool = False) -> str:
    def style(text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    lines = [style(report.source, bold=True)]
    for sheet, findings in _by_sheet(report).items():
        lines.append("")
        lines.append(style(sheet, bold=True, underline=True))
        for f in findings:
            lines.extend(_text_finding(f, style))
    lines.append("")
    lines.append(_summary(report, strict, style))
    return "\n".join(lines) + "\n"


def _by_sheet(report: Report) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in report.sorted_findings():
        grouped.setdefault(f.sheet or _whole(report), []).append(f)
    return grouped


def _whole(report: Report) -> str:
    """The heading of findings about the whole file."""
    return MODEL if is_dmn_path(report.source) else WORKBOOK


def _text_finding(f: Finding, style: Callable[..., str]) -> list[str]:
    label = style(
        f"{f.severity.value:<7}", fg=_COLOURS[f.severity], bold=f.severity is Severity.ERROR
    )
    cells = ", ".join(f.cells[:6]) + (", …" if len(f.cells) > 6 else "")
    head = f"  {label} {f.code}  " + (f"{cells}: " if cells else "") + f.message
    lines = [head]
    if f.fix:
        lines.append(" " * 17 + style("fix: ", dim=True) + f.fix)
    if f.detail:
        lines.append(" " * 17 + f.detail)
    return lines


def _summary(report: Report, strict: bool, style: Callable[..., str]) -> str:
    if not report.readable:
        return style("cannot be read", fg="red", bold=True)
    parts = [
        _plural(report.count(Severity.ERROR), "error"),
        _plural(report.count(Severity.WARNING), "warning"),
        _plural(report.count(Severity.INFO), "note"),
    ]
    if report.vignettes:
        passed = sum(1 for v in report.vignettes if v.passed)
        parts.append(f"vignettes: {passed} of {len(report.vignettes)} pass")
    if report.properties:
        parts.append(f"{report.proven} of {len(report.properties)} properties proven")
    covered, rules = report.covered()
    if rules:
        parts.append(f"{covered} of {rules} rules covered")
    verdict = "FAILED" if report.failed(strict) else "OK"
    if report.release:
        verdict = "NOT RELEASABLE" if report.failed(strict) else "RELEASABLE"
    colour = "red" if report.failed(strict) else "green"
    return style(verdict, fg=colour, bold=True) + " — " + ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- JUnit XML ---------------------------------------------------------------------------


def render_junit(report: Report, strict: bool = False) -> str:
    root = ET.Element("testsuites", name=f"triage validate {report.source}")
    grouped = _by_sheet(report)
    names = [_whole(report), *report.sheets, *(s for s in grouped if s not in report.sheets)]
    for sheet in dict.fromkeys(names):
        findings = grouped.get(sheet, [])
        if sheet == _whole(report) and not findings:
            continue
        suite = ET.SubElement(root, "testsuite", name=f"checks: {sheet}")
        classname = f"triage.validate.{sheet}"
        if not findings:
            ET.SubElement(suite, "testcase", classname=classname, name="all checks pass")
        for f in findings:
            _junit_case(suite, classname, f, strict)
        _count(suite)
    if report.vignettes:
        suite = ET.SubElement(root, "testsuite", name="vignettes")
        for v in report.vignettes:
            case = ET.SubElement(
                suite,
                "testcase",
                classname="triage.vignettes",
                name=f"{v.vignette_id} (row {v.row})",
            )
            if not v.passed:
                ET.SubElement(case, "failure", type="TV501", message=v.message).text = v.message
        _count(suite)
    if report.properties:
        _junit_properties(root, report, strict)
    totals = {k: 0 for k in ("tests", "failures", "errors", "skipped")}
    for suite in root:
        for k in totals:
            totals[k] += int(suite.get(k, "0"))
    for key, total in totals.items():
        root.set(key, str(total))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _junit_properties(root: ET.Element, report: Report, strict: bool) -> None:
    """One test case per Safety property: proven passes; one that fails is a failure at an
    error property's severity (a warning one only under ``--strict``), as is one not proven
    or that can never apply under ``--strict``."""
    suite = ET.SubElement(root, "testsuite", name="safety properties")
    for result in report.properties:
        prop = result.prop
        case = ET.SubElement(
            suite,
            "testcase",
            classname="triage.properties",
            name=f"{prop.property_id} (row {prop.row}): {result.verdict.value}",
        )
        verdict = result.verdict.value
        if verdict == "proven":
            continue
        example = result.counterexample
        text = result.reason or (example.describe(prop) if example else "its When can never hold")
        if example is not None:
            text += "\nTests row: " + example.tests_line
        if strict or (verdict == "violated" and prop.severity == "error"):
            ET.SubElement(case, "failure", type=verdict, message=text.splitlines()[0]).text = text
        else:
            ET.SubElement(case, "system-out").text = f"{verdict}: {text}"
    _count(suite)


def _junit_case(suite: ET.Element, classname: str, f: Finding, strict: bool) -> None:
    where = ", ".join(f.cells)
    case = ET.SubElement(
        suite, "testcase", classname=classname, name=f"{f.code} {where}".strip() + f": {f.message}"
    )
    text = str(f)
    if f.severity is Severity.INFO:
        ET.SubElement(case, "skipped", message=f.message).text = text
    elif f.severity is Severity.ERROR or strict:
        ET.SubElement(case, "failure", type=f.code, message=f.message).text = text
    else:
        ET.SubElement(case, "system-out").text = f"warning: {text}"


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", "0")
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
