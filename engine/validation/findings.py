"""What the validator reports: findings, vignette results and the report that holds them.

A finding is data, never an exception: every check appends findings and carries on, so that
one run shows a clinician everything that needs fixing. Each finding has a stable code from
:mod:`engine.validation.codes`, a severity, where it is (sheet, cells, table, rules) and a
message with a fix written for the person who maintains the workbook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.prover import PropertyResult

_A1 = re.compile(r"[A-Z]{1,3}[0-9]+")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Sort order: errors first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing the validator found. ``cells`` are A1 names on ``sheet``; ``rules`` are rule
    ids of ``table``. A finding about the whole workbook has no sheet."""

    code: str
    severity: Severity
    message: str
    fix: str = ""
    sheet: str | None = None
    cells: tuple[str, ...] = ()
    table: str | None = None
    rules: tuple[str, ...] = ()
    detail: str = ""  # more to read or paste, such as a counterexample's Tests row

    @property
    def where(self) -> str:
        """``Severity!A9, A12``, ``Severity`` or '' for the whole workbook."""
        if self.sheet is None:
            return ""
        sheet = self.sheet
        if any(ch in sheet for ch in " !'-") or not sheet:
            sheet = "'" + sheet.replace("'", "''") + "'"
        shown = list(self.cells[:6]) + (["…"] if len(self.cells) > 6 else [])
        if not self.cells:
            return sheet
        if not all(_A1.fullmatch(c) for c in self.cells):  # a DMN model's parts, not cells
            return ", ".join([self.sheet, *shown])
        return f"{sheet}!{', '.join(shown)}"

    def as_dict(self) -> dict[str, Any]:
        found = {
            "code": self.code,
            "severity": self.severity.value,
            "sheet": self.sheet,
            "cells": list(self.cells),
            "table": self.table,
            "rules": list(self.rules),
            "message": self.message,
            "fix": self.fix,
        }
        if self.detail:
            found["detail"] = self.detail
        return found

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{self.code} {self.severity}: {where}{self.message}{fix}"


@dataclass(frozen=True)
class VignetteResult:
    """One row of the Tests sheet run through the engine."""

    vignette_id: str
    row: int
    passed: bool
    message: str = ""
    fired: tuple[tuple[str, str], ...] = ()  # (table, rule id) of every rule that fired

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.vignette_id,
            "row": self.row,
            "passed": self.passed,
            "message": self.message,
            "fired": [{"table": t, "rule_id": r} for t, r in self.fired],
        }


@dataclass
class Report:
    """Everything one validation found. ``readable`` is False when the file could not be read
    at all (the CLI's exit code 2); ``analysed`` is True when the model loaded and the deeper
    checks ran."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    vignettes: list[VignetteResult] = field(default_factory=list)
    readable: bool = True
    analysed: bool = False
    sheets: tuple[str, ...] = ()  # sheet names in workbook order, for grouping output
    properties: list[PropertyResult] = field(default_factory=list)  # the Safety sheet's
    coverage: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # table->rule->ids
    release: bool = False  # checked for release (--release): warnings fail too

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def failed(self, strict: bool = False) -> bool:
        """Errors (and, when ``strict`` or checked for release, warnings) or failing
        vignettes."""
        strict = strict or self.release
        worst = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
        return any(f.severity in worst for f in self.findings) or any(
            not v.passed for v in self.vignettes
        )

    def exit_code(self, strict: bool = False) -> int:
        if not self.readable:
            return 2
        return 1 if self.failed(strict) else 0

    def sorted_findings(self) -> list[Finding]:
        """Workbook-level findings first, then by sheet order, severity and cell."""
        order = {name: i for i, name in enumerate(self.sheets)}

        def key(f: Finding) -> tuple[int, int, int, str]:
            sheet = -1 if f.sheet is None else order.get(f.sheet, len(order))
            return (sheet, f.severity.rank, _row_of(f.cells[0]) if f.cells else 0, f.code)

        return sorted(self.findings, key=key)

    def covered(self) -> tuple[int, int]:
        """(rules some vignette fires, rules)."""
        rules = [ids for table in self.coverage.values() for ids in table.values()]
        return sum(1 for ids in rules if ids), len(rules)

    def as_dict(self, strict: bool = False) -> dict[str, Any]:
        passed = sum(1 for v in self.vignettes if v.passed)
        covered, rules = self.covered()
        return {
            "source": self.source,
            "readable": self.readable,
            "analysed": self.analysed,
            "release": self.release,
            "exit_code": self.exit_code(strict),
            "summary": {
                "errors": self.count(Severity.ERROR),
                "warnings": self.count(Severity.WARNING),
                "infos": self.count(Severity.INFO),
                "vignettes_passed": passed,
                "vignettes_failed": len(self.vignettes) - passed,
                "properties_proven": self.proven,
                "properties": len(self.properties),
                "rules_covered": covered,
                "rules": rules,
            },
            "findings": [f.as_dict() for f in self.sorted_findings()],
            "vignettes": [v.as_dict() for v in self.vignettes],
            "coverage": self.coverage,
            "properties": [p.as_dict() for p in self.properties],
        }

    @property
    def proven(self) -> int:
        """How many of the Safety sheet's properties are proven."""
        return sum(1 for p in self.properties if p.verdict.value == "proven")


def _row_of(cell: str) -> int:
    digits = "".join(ch for ch in cell if ch.isdigit())
    return int(digits) if digits else 0
