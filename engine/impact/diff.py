"""``triage diff``: what changed between two versions of a workbook, in cells and in
behaviour, with every behaviour change classed by urgency, down-triage first.

The behaviour part is :func:`engine.impact.semantic.semantic_diff`: exact regions of the
input space. Each region here gets readable conditions (the validator's wording), the
conditions as cells a reviewer could type (``when``), and one example patient, whose old and
new answers are computed by durable-rules itself through both compiled versions — and must
agree with the analysis, or the diff fails loudly rather than report something untrue.

An output whose table orders its values (PRIORITY and OUTPUT ORDER tables with Output values:
first is most urgent) is *ordered*; a change in it is **down-triage** when the new value comes
later in that order (less urgent), **up-triage** when earlier. No value at all ranks after
every listed value, so losing an answer is down-triage: unknown is never reassuring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.conditions import format_value
from engine.errors import EngineFailure, FactError, HitPolicyViolation, TriageError
from engine.evaluator import CompiledModel
from engine.hitpolicy import priority_rank
from engine.impact.rowdiff import RowDiff, row_diff
from engine.impact.semantic import (
    ANSWERS_VARY,
    MAX_NODES,
    Answer,
    Difference,
    freeze,
    semantic_diff,
)
from engine.impact.space import JointSpace
from engine.model import Model, OutputDef
from engine.validation.domains import Dim
from engine.validation.vignettes import outputs_by_name

# the classes of a behaviour change, in the order every report lists them
DOWN, NO_ANSWER, UP, CHANGED, ANSWERED = (
    "down-triage", "no answer", "up-triage", "changed", "newly answered")
CLASSES = (DOWN, NO_ANSWER, UP, CHANGED, ANSWERED)


def ordered_outputs(model: Model) -> list[OutputDef]:
    """Outputs with a priority order: the Output values of PRIORITY and OUTPUT ORDER tables."""
    return [o for t in model.tables if t.hit_policy.ordered_by_output for o in t.outputs
            if o.allowed_values]


def urgency(output: OutputDef, value: Any) -> int:
    """0 is most urgent. A list is as urgent as its most urgent value; nothing ranks last."""
    if isinstance(value, list | tuple):
        return min((priority_rank(output, v) for v in value), default=len(output.allowed_values))
    return priority_rank(output, value)


def direction(output: OutputDef, old: Any, new: Any) -> str:
    """``down``, ``up`` or ``same`` (same urgency, perhaps another value)."""
    before, after = urgency(output, old), urgency(output, new)
    return "down" if after > before else "up" if after < before else "same"


@dataclass
class Region:
    """A region where the versions answer differently, ready to be shown."""

    description: str  # "age_years < 18 and pattern is \"focal\""
    when: dict[str, str | list[str]]  # input -> a cell that says the same (or cells)
    old: Answer
    new: Answer
    triage: str  # one of CLASSES
    changed: list[str]  # outputs that differ
    directions: dict[str, str]  # ordered output -> down / up / same
    example: dict[str, Any]
    example_old: dict[str, Any] | str  # outputs by name, or why there is no answer
    example_new: dict[str, Any] | str

    def as_dict(self) -> dict[str, Any]:
        return {
            "triage": self.triage,
            "description": self.description,
            "when": self.when,
            "changed_outputs": self.changed,
            "directions": self.directions,
            "old": _answer_dict(self.old),
            "new": _answer_dict(self.new),
            "example": {"facts": self.example, "old": self.example_old, "new": self.example_new},
        }


def _answer_dict(answer: Answer) -> dict[str, Any]:
    if answer.outputs is not None:
        return {"outputs": answer.outputs}
    return {"outputs": None, "refused": answer.refused, "reason": answer.reason}


@dataclass
class DiffReport:
    old_source: str
    new_source: str
    old_version: str
    new_version: str
    rows: RowDiff
    regions: list[Region]
    ordered: list[str]
    limits: list[str] = field(default_factory=list)
    explored: int = 0
    listed: dict[str, list[str]] = field(default_factory=dict)  # ordered output -> labels

    @property
    def identical(self) -> bool:
        return not self.regions

    def counts(self) -> dict[str, int]:
        return {c: sum(1 for r in self.regions if r.triage == c) for c in CLASSES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": {"source": self.old_source, "version": self.old_version},
            "new": {"source": self.new_source, "version": self.new_version},
            "identical_behaviour": self.identical,
            "exact": not self.limits,
            "limits": self.limits,
            "ordered_outputs": self.ordered,
            "counts": self.counts(),
            "regions": [r.as_dict() for r in self.regions],
            "row_changes": self.rows.as_dict(),
            "regions_explored": self.explored,
        }


def diff(old: CompiledModel, new: CompiledModel, max_nodes: int | None = None,
         outputs: Sequence[str] = ()) -> DiffReport:
    """The full report, on every output both versions have or on ``outputs`` only. Raises
    :class:`engine.impact.semantic.DiffTooLarge`."""
    semantic = semantic_diff(old.model, new.model, max_nodes or MAX_NODES, outputs)
    ordered = {o.name: o for o in ordered_outputs(new.model)
               if old.output(o.name) is not None and o.name in semantic.shared_outputs}
    regions = [
        _region(semantic.space, d, old, new, semantic.shared_outputs, ordered)
        for d in semantic.differences
    ]
    regions.sort(key=lambda r: (CLASSES.index(r.triage), r.description))
    listed = {n: [v if isinstance(v, str) else format_value(v) for v in o.allowed_values]
              for n, o in ordered.items()}
    return DiffReport(old.source, new.source, old.version, new.version,
                      row_diff(old.model, new.model), regions, list(ordered),
                      semantic.space.limits, semantic.nodes, listed)


def _region(space: JointSpace, difference: Difference, old: CompiledModel, new: CompiledModel,
            shared: Sequence[str], ordered: dict[str, OutputDef]) -> Region:
    box = difference.box
    facts = space.facts([_example_atom(d, m) for d, m in zip(space.dims, box, strict=True)])
    example_old = _checked(old, facts, difference.old, shared, "old")
    example_new = _checked(new, facts, difference.new, shared, "new")
    old_out = difference.old.outputs if difference.old.answered else (
        example_old if isinstance(example_old, dict) else None)
    new_out = difference.new.outputs if difference.new.answered else (
        example_new if isinstance(example_new, dict) else None)
    changed, directions, triage = _classify(difference, old_out, new_out, shared, ordered)
    restricted = [(d, m) for d, m in zip(space.dims, box, strict=True) if m != d.possible]
    return Region(
        description=describe(restricted),
        when={d.name: cell_text(d, m) for d, m in restricted},
        old=difference.old,
        new=difference.new,
        triage=triage,
        changed=changed,
        directions=directions,
        example=facts,
        example_old=example_old,
        example_new=example_new,
    )


def _classify(difference: Difference, old: dict[str, Any] | None, new: dict[str, Any] | None,
              shared: Sequence[str], ordered: dict[str, OutputDef]
              ) -> tuple[list[str], dict[str, str], str]:
    if old is None or new is None:
        changed = list(shared)
        if new is None and old is not None:
            return changed, {n: "down" for n in ordered}, NO_ANSWER
        if old is None and new is not None:
            return changed, {}, ANSWERED
        return changed, {}, CHANGED
    changed = [n for n in shared if freeze(old.get(n)) != freeze(new.get(n))]
    directions = {n: direction(o, old.get(n), new.get(n)) for n, o in ordered.items()
                  if n in changed}
    if not (difference.old.answered and difference.new.answered):
        # one version refuses these cases: the example shows what the other gives
        return changed, directions, NO_ANSWER if not difference.new.answered else ANSWERED
    if "down" in directions.values():
        return changed, directions, DOWN
    if "up" in directions.values():
        return changed, directions, UP
    return changed, directions, CHANGED


def _example_atom(dim: Dim, mask: int) -> int:
    """A value a reader takes in at a glance: an input the region does not restrict is left
    out where it may be; one it restricts gets a value rather than "not given", and a number
    the cells name rather than one between them."""
    atoms = [a for a in range(dim.size) if mask >> a & 1]
    if mask == dim.possible and dim.null_bit & mask:
        return dim.size - 1
    present = [a for a in atoms if not dim.null_bit >> a & 1] or atoms
    if dim.kind == "number":
        points = [a for a in present if a % 2 == 1]
        return (points or present)[0]
    return present[0]


def _checked(model: CompiledModel, facts: dict[str, Any], predicted: Answer,
             shared: Sequence[str], which: str) -> dict[str, Any] | str:
    """The example run through durable-rules; it must give what the analysis says."""
    try:
        decision = model.evaluate(facts)
    except FactError as error:
        got: dict[str, Any] | str = str(error)
        agrees = predicted.refused
    except HitPolicyViolation as error:
        got = str(error)
        agrees = predicted is ANSWERS_VARY or predicted.violated == error.table
    except TriageError as error:
        raise EngineFailure(f"the {which} version failed on the diff's example: {error}") from error
    else:
        outputs = outputs_by_name(model, decision)
        got = {n: outputs.get(n) for n in shared}
        if predicted.outputs is None:
            agrees = predicted is ANSWERS_VARY
        else:
            agrees = all(freeze(v) == freeze(got.get(n)) for n, v in predicted.outputs.items()
                         if n in shared)
    if not agrees:
        raise EngineFailure(
            f"the semantic diff predicted {predicted} for the {which} version on {facts}, "
            f"but durable-rules gives {got}: a bug in the diff, please report it with both "
            "workbooks"
        )
    return got


def describe(restricted: Sequence[tuple[Dim, int]]) -> str:
    """The validator's wording of a region: ``age_years < 18 and pattern is "focal"``."""
    parts = [d.phrase(m) for d, m in restricted]
    if len(parts) > 1:
        parts = [f"({p})" if " or " in p else p for p in parts]
    return " and ".join(parts) if parts else "in every case"


def cell_text(dim: Dim, mask: int) -> str | list[str]:
    """A unary test accepting exactly the atoms of ``mask`` (among the possible ones). The
    validator's :meth:`Dim.cell` leaves out the texts no cell names; here they count. Where
    no one cell can say it (a free text that is missing or any but some texts), a list of
    cells, any of which holds."""
    if dim.free_text:
        null = bool(mask & dim.null_bit & dim.possible)
        if not mask & dim.other_bit:  # some named texts (and null): say which
            named = [format_value(dim.constants[a]) for a in range(dim.size - 2)
                     if dim.possible >> a & 1 and mask >> a & 1]
            return ", ".join(["null", *named] if null else named)
        others = [a for a in range(dim.size - 2) if dim.possible >> a & 1 and not mask >> a & 1]
        if not others:
            return "-" if null or not dim.null_bit & dim.possible else "not(null)"
        test = f"not({', '.join(format_value(dim.constants[a]) for a in others)})"
        return ["null", test] if null else test  # missing, or none of these: two cells
    return dim.cell(mask)
