"""The one error hierarchy of the engine.

::

    TriageError                 every error the engine raises on purpose
    ├── WorkbookError           the workbook (or DMN file) cannot be used; .problems lists all
    │   └── UnreadableFile      not a workbook at all: missing, corrupt, not a spreadsheet
    ├── FactError               the facts of one evaluation are not acceptable; .problems lists all
    ├── HitPolicyViolation      a UNIQUE or ANY table matched rules it must not
    └── EngineFailure           durable-rules itself failed; never caused by a table or a request

Every problem carries a :class:`Location`, so that ``str(error)`` reads like
``Disposition!C7: cannot read '>= 5 and' — write a comparison such as '>= 5'``.
durable-rules errors are translated into these classes in :mod:`engine.evaluator` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a value came from: a sheet and, where known, a cell (``A1`` notation)."""

    sheet: str
    cell: str | None = None

    def __str__(self) -> str:
        sheet = self.sheet
        if any(ch in sheet for ch in " !'-") or not sheet:
            sheet = "'" + sheet.replace("'", "''") + "'"
        return f"{sheet}!{self.cell}" if self.cell else sheet


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workbook: where, what, what to write instead, and the stable
    code of the check that found it (see docs/validation.md), set where it is found."""

    location: Location | None
    message: str
    fix: str = ""
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{where}{self.message}{fix}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code or None,
            "sheet": self.location.sheet if self.location else None,
            "cell": self.location.cell if self.location else None,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a fact: the field name and a message an integrator can act on."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class TriageError(Exception):
    """Base class of every error the engine raises deliberately."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkbookError(TriageError):
    """The workbook cannot be loaded; ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem], source: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        if count == 1:
            text = f"{head}{self.problems[0]}"
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            text = f"{head}{count} problems\n{lines}"
        super().__init__(text)


class UnreadableFile(WorkbookError):
    """The file cannot be read as a workbook at all (missing, corrupt, not a spreadsheet)."""


class FactError(TriageError):
    """The facts given to ``evaluate`` are not acceptable; ``problems`` names every field."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class HitPolicyViolation(TriageError):
    """A UNIQUE table matched several rules, or an ANY table's matches disagree."""

    def __init__(self, table: str, hit_policy: str, rule_ids: Iterable[str], detail: str) -> None:
        self.table = table
        self.hit_policy = hit_policy
        self.rule_ids: tuple[str, ...] = tuple(rule_ids)
        super().__init__(
            f"table '{table}' ({hit_policy}): {detail}: rules {', '.join(self.rule_ids)}"
        )


class EngineFailure(TriageError):
    """durable-rules reported an error. A table or a request can never cause this by design;
    seeing it means a bug in the compiler, so it is reported, never hidden."""
