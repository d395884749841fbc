"""A counterexample a reviewer can act on: one patient, replayed through durable-rules.

The solver's model is turned into facts (:meth:`InputSpace.facts` picks readable numbers),
the facts are evaluated with :meth:`CompiledModel.evaluate` exactly as a request would be,
and the property is checked on what the engine answered (:func:`engine.prover.check.breaks`).
Only a case the engine really answers wrongly is reported; a replay that does not break the
property is a prover bug, and the property is then reported as not proven, never proven.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.conditions import format_value
from engine.errors import HitPolicyViolation, TriageError
from engine.evaluator import CompiledModel
from engine.model import FiredRule, SafetyProperty
from engine.prover.check import breaks

TEST_ID = "Test id"
NOTE = "Note"


@dataclass(frozen=True)
class Counterexample:
    """A patient who breaks a property: every input (``None``: not given), the outputs the
    engine gives (``None`` when it gives no answer, with ``no_answer`` saying why), the rules
    that fired, and the patient as a row of the Tests sheet (``tests_columns`` in the sheet's
    order, ``tests_row`` the cells, tab-separated by :attr:`tests_line`)."""

    facts: Mapping[str, Any]
    outputs: Mapping[str, Any] | None
    fired: tuple[FiredRule, ...]
    no_answer: str
    tests_columns: tuple[str, ...]
    tests_row: tuple[str, ...]

    @property
    def tests_line(self) -> str:
        return "\t".join(self.tests_row)

    def as_dict(self) -> dict[str, Any]:
        return {
            "facts": dict(self.facts),
            "outputs": None if self.outputs is None else dict(self.outputs),
            "fired": [
                {"table": f.table, "rule_id": f.rule_id, "sheet": f.sheet, "row": f.row}
                for f in self.fired
            ],
            "no_answer": self.no_answer or None,
            "tests_columns": list(self.tests_columns),
            "tests_row": list(self.tests_row),
            "tests_line": self.tests_line,
        }

    def describe(self, prop: SafetyProperty | None = None) -> str:
        """One line a reviewer reads: what the property is about (its When inputs), what the
        tables give (its outputs), the rules that fired, then the whole patient."""
        when = [c.name for c in prop.when if c.name in self.facts] if prop else []
        named = [c.name for c in (*prop.then, *prop.when)] if prop else []
        head = ", ".join(f"{n} {_show(self.facts[n])}" for n in dict.fromkeys(when))
        whole = ", ".join(f"{k} {_show(v)}" for k, v in self.facts.items() if v is not None)
        missing = [k for k, v in self.facts.items() if v is None]
        if missing:
            whole += "; not given: " + ", ".join(missing)
        if self.outputs is None:
            got = f"no answer ({self.no_answer})"
        else:
            shown = [n for n in named if n in self.outputs] or list(self.outputs)
            got = ", ".join(f"{k} {_show(self.outputs[k])}" for k in dict.fromkeys(shown))
            rules = ", ".join(f"{f.rule_id} ({f.sheet} row {f.row})" for f in self.fired)
            got += f" (rules fired: {rules or 'none'})"
        case = f"a patient with {head} gets" if head else "a patient gets"
        return f"{case} {got}; the whole patient: {whole}"


def replay(
    compiled: CompiledModel,
    prop: SafetyProperty,
    candidates: Sequence[Mapping[str, Any]],
    tests_columns: Sequence[str] | None = None,
) -> Counterexample | str:
    """The first of ``candidates`` (facts) that really breaks ``prop`` through durable-rules,
    as a counterexample; or why none does."""
    from engine.validation.vignettes import outputs_by_name  # validation imports the prover

    why = "the solver's counterexample does not break the property when durable-rules runs it"
    for facts in candidates:
        fired: tuple[FiredRule, ...] = ()
        try:
            decision = compiled.evaluate(dict(facts))
        except HitPolicyViolation as exc:
            outputs, no_answer = None, str(exc)
        except TriageError as exc:
            why = f"durable-rules refused the solver's counterexample ({exc})"
            continue
        else:
            outputs, fired, no_answer = outputs_by_name(compiled, decision), decision.fired, ""
        values = {i.name: facts.get(i.name) for i in compiled.inputs}
        if breaks(prop, values, outputs):
            columns, row = tests_row(compiled, prop, values, outputs, tests_columns)
            return Counterexample(values, outputs, tuple(fired), no_answer, columns, row)
    return why + " (a prover bug: please report it with the workbook)"


def tests_row(
    compiled: CompiledModel,
    prop: SafetyProperty,
    facts: Mapping[str, Any],
    outputs: Mapping[str, Any] | None,
    columns: Sequence[str] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The patient as a Tests-sheet row, in the sheet's column order (or Test id, the
    inputs, Note). Expected outputs are left empty, for the reviewer to fill in with what the
    patient should get; the note says what the tables give today."""
    if not columns:
        columns = (TEST_ID, *(i.name for i in compiled.inputs), NOTE)
    if outputs is None:
        today = "the tables give no answer"
    else:
        shown = [c.name for c in prop.then] or list(outputs)
        today = ", ".join(f"{n} {_show(outputs.get(n))}" for n in dict.fromkeys(shown))
    note = f"counterexample to {prop.property_id}: today {today}"
    cells = []
    for column in columns:
        if column.strip().lower() == TEST_ID.lower():
            cells.append(f"CX-{prop.property_id}")
        elif column.strip().lower() == NOTE.lower():
            cells.append(note)
        elif column in facts:
            cells.append(_cell(facts[column]))
        else:
            cells.append("")
    return tuple(columns), tuple(cells)


def _cell(value: Any) -> str:
    """A fact as a Tests cell holds it: a value, not a test (text unquoted)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return format_value(value)


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "…"
    return format_value(value)
