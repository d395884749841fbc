"""An input column as a finite set of *atoms*, so that any cell becomes a bitmask.

The analysis never looks at values one by one: a column's possible values are cut into a
few atoms, and a cell is the set of atoms it accepts, held in a Python int (bit ``i`` =
atom ``i``). Intersection, union, complement and subset tests are then single integer
operations, whatever the cells say.

* **number / integer** — the column's constants ``c0 < c1 < … < cn-1`` (every number any
  cell names, and the bounds of the Inputs sheet's range) cut the line into ``2n+1`` atoms,
  exactly like :mod:`engine.compiler`'s rank encoding: atom ``2i+1`` is the point ``ci``,
  atom ``2i`` the open interval between ``ci-1`` and ``ci``. Atoms outside the allowed
  range, and for integers open intervals holding no whole number, are impossible.
* **enum / boolean / text** — one atom per value; a free-text column adds one atom for
  "any other text".
* **missing** — every dimension ends with a *null* atom, possible only for optional inputs
  and outputs that may be empty.
* **lists** (an input fed by a multi-hit table) — not one dimension but one *flag* per
  value the list may hold (atom 0: absent, atom 1: present); see :mod:`.space`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
    Compare,
    Condition,
    Equals,
    IsNull,
    Item,
    Value,
    format_value,
)


def run_mask(lo: int, hi: int) -> int:
    """Atoms ``lo`` to ``hi`` inclusive."""
    return ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1) if lo <= hi else 0


def runs_of(mask: int) -> list[tuple[int, int]]:
    """Maximal runs of set bits, lowest first: ``0b1101`` -> ``[(0, 0), (2, 3)]``."""
    runs = []
    while mask:
        lo = (mask & -mask).bit_length() - 1
        shifted = mask >> lo
        length = (~shifted & (shifted + 1)).bit_length() - 1
        runs.append((lo, lo + length - 1))
        mask &= ~run_mask(lo, lo + length - 1)
    return runs


def _key(value: Value) -> tuple[bool, Value]:
    """Booleans never equal numbers here (Python says True == 1)."""
    return (isinstance(value, bool), value)


@dataclass(frozen=True, eq=False)
class Dim:
    """One dimension of a table's input space. ``possible`` holds the atoms that can occur;
    ``unanalysed`` those that gap analysis leaves out (a free-text column's other texts)."""

    name: str
    column: int
    kind: str  # "number", "values" or "flag"
    constants: tuple[Value, ...]
    size: int
    possible: int
    free_text: bool = False
    flag_value: Value | None = None
    integer: bool = False

    OTHER_TEXT = "\u2063any other text"  # stands for a text no cell names

    def sample(self, atom: int) -> Value | None:
        """A value inside ``atom`` (None for the null atom; for a flag, whether the list
        holds the value)."""
        if self.kind == "flag":
            return atom == 1
        if atom == self.size - 1:
            return None
        if self.kind == "values":
            return (
                self.OTHER_TEXT
                if self.free_text and atom == self.size - 2
                else self.constants[atom]
            )
        if atom % 2 == 1:
            return self.constants[atom // 2]
        value, _ = _inside(self.constants, atom // 2, self.integer)  # type: ignore[arg-type]
        return int(value) if self.integer else value

    @property
    def null_bit(self) -> int:
        return 0 if self.kind == "flag" else 1 << (self.size - 1)

    @property
    def present(self) -> int:
        """Every atom but the null atom, possible or not."""
        return (1 << self.size) - 1 if self.kind == "flag" else (1 << (self.size - 1)) - 1

    @property
    def other_bit(self) -> int:
        return 1 << (self.size - 2) if self.free_text else 0

    @property
    def unanalysed(self) -> int:
        return self.other_bit

    # --- cells to masks -------------------------------------------------------------------

    def mask(self, condition: Condition) -> int:
        """Atoms a (non-list) cell accepts, before removing impossible ones."""
        if isinstance(condition, AnyValue):
            return (1 << self.size) - 1
        accepted = 0
        for item in condition.items:
            accepted |= self.item_mask(item)
        if isinstance(condition, AnyOf):
            return accepted
        return self.present & ~accepted  # not(...): a present value matching no item

    def item_mask(self, item: Item) -> int:
        if isinstance(item, IsNull):
            return self.null_bit
        if self.kind == "number":
            return self._numeric_item(item)
        index = self._index(item.value) if isinstance(item, Equals | Compare) else None
        if isinstance(item, Equals):
            return 0 if index is None else 1 << index
        if isinstance(item, Compare) and item.op == "!=":
            return self.present & ~(0 if index is None else 1 << index)
        return 0  # order tests on values: rejected by the builder

    def _index(self, value: Value) -> int | None:
        for i, constant in enumerate(self.constants):
            if _key(constant) == _key(value):
                return i
        return None

    def code(self, value: Value) -> int:
        """The atom of a number: ``2i+1`` for constant ``i``, else the interval it falls in."""
        i = bisect_left(self.constants, value)  # type: ignore[arg-type]
        return 2 * i + 1 if i < len(self.constants) and self.constants[i] == value else 2 * i

    def _numeric_item(self, item: Item) -> int:
        top = 2 * len(self.constants)
        if isinstance(item, Between):
            lo = self.code(item.low) + (0 if item.low_closed else 1)
            hi = self.code(item.high) - (0 if item.high_closed else 1)
            return run_mask(lo, hi)
        assert isinstance(item, Equals | Compare)
        value = item.value
        if isinstance(value, bool | str):
            return 0
        c = self.code(value)
        if isinstance(item, Equals):
            return 1 << c
        return {
            "<": run_mask(0, c - 1),
            "<=": run_mask(0, c),
            ">": run_mask(c + 1, top),
            ">=": run_mask(c, top),
            "!=": run_mask(0, top) & ~(1 << c),
        }[item.op]

    # --- masks to words -------------------------------------------------------------------

    def phrase(self, mask: int) -> str:
        """``age_years < 18 or >= 65``, ``pattern is "focal"``, ``temperature_c is missing``."""
        if self.kind == "flag":
            word = "contains" if mask & 2 else "does not contain"
            return f"{self.name} {word} {format_value(self.flag_value)}"  # type: ignore[arg-type]
        parts = self._present_words(mask & self.present & self.possible, phrase=True)
        if mask & self.null_bit & self.possible:
            parts.append("is missing")
        return f"{self.name} " + " or ".join(parts)

    def cell(self, mask: int) -> str:
        """The unary test a clinician would type for ``mask``."""
        if self.kind == "flag":
            shown = format_value(self.flag_value)  # type: ignore[arg-type]
            return shown if mask & 2 else f"not({shown})"
        present = mask & self.present & self.possible
        words = self._present_words(present, phrase=False)
        if mask & self.null_bit & self.possible:
            if present == self.present & self.possible:
                return "-"  # every value, and null
            if words and words[0].startswith("not(") and self.kind == "values":
                # "null, not(x)" is no cell (not(…) stands alone, and refuses null): name
                # the values instead
                words = [self._value_text(i) for i in range(self.size - 1)
                         if present >> i & 1 and not (self.free_text and i == self.size - 2)]
            return ", ".join(["null", *words]) if words else "null"
        if present == self.present & self.possible:
            return "not(null)" if self.null_bit & self.possible else "-"
        return ", ".join(words)

    def _present_words(self, present: int, phrase: bool) -> list[str]:
        if not present:
            return []
        if self.kind == "number":
            return self._number_words(present, phrase)
        values = [i for i in range(self.size - 1) if present >> i & 1]
        others = [i for i in range(self.size - 1) if (self.possible & ~present) >> i & 1]
        shown = [self._value_text(i) for i in values]
        if not others:
            return ["is given"] if phrase else ["not(null)"]
        if phrase:
            if len(others) < len(values) and not self.free_text:
                hidden = [self._value_text(i) for i in others]
                if len(hidden) == 1:
                    return [f"is not {hidden[0]}"]
                return ["is none of " + ", ".join(hidden)]
            if len(shown) <= 2:
                return ["is " + " or ".join(shown)]
            return ["is one of " + ", ".join(shown)]
        if len(others) < len(values) and not (present & self.other_bit):
            return [f"not({', '.join(self._value_text(i) for i in others)})"]
        return [s for s in shown if s != "any other text"]

    def _value_text(self, index: int) -> str:
        if self.free_text and index == self.size - 2:
            return "any other text"
        return format_value(self.constants[index])

    def _number_words(self, present: int, phrase: bool) -> list[str]:
        """Runs of atoms as comparisons and ranges; impossible atoms count as accepted so
        that ``[16..17], [18..20]`` over whole numbers reads ``< 21``."""
        top = 2 * len(self.constants)
        loose = present | (run_mask(0, top) & ~self.possible)
        if loose == run_mask(0, top):
            return ["is given"] if phrase else ["not(null)"]
        words = []
        for lo, hi in runs_of(loose):
            if present & run_mask(lo, hi):
                words.append(self._interval(lo, hi, top, phrase))
        return words

    def _interval(self, lo: int, hi: int, top: int, phrase: bool) -> str:
        c = self.constants
        low = None if lo == 0 else format_value(c[(lo - 1) // 2])
        low_closed = lo % 2 == 1
        high = None if hi == top else format_value(c[hi // 2] if hi % 2 == 0 else c[(hi - 1) // 2])
        high_closed = hi % 2 == 1
        if low is not None and low == high:
            return f"= {low}" if phrase else low
        if low is None and high is not None:
            return f"{'<=' if high_closed else '<'} {high}"
        if high is None and low is not None:
            return f"{'>=' if low_closed else '>'} {low}"
        text = f"{'[' if low_closed else '('}{low}..{high}{']' if high_closed else ')'}"
        return f"in {text}" if phrase else text


def numeric_dim(
    name: str,
    column: int,
    constants: set[int | float],
    integer: bool,
    allowed: Condition | None,
    nullable: bool,
    points_only: bool = False,
) -> Dim:
    """``allowed``: the Inputs sheet's range; ``points_only``: only the constants themselves
    can occur (an upstream table's numeric output: the values its rules give)."""
    from engine.conditions import matches

    ordered = tuple(sorted(constants))
    top = 2 * len(ordered)
    possible = 0
    for atom in range(top + 1):
        if atom % 2 == 1:
            value: float = ordered[atom // 2]
            ok = not integer or float(value).is_integer()
        elif points_only:
            continue
        else:
            value, ok = _inside(ordered, atom // 2, integer)
        if ok and (allowed is None or matches(allowed, value)):
            possible |= 1 << atom
    null = 1 << (top + 1)
    possible |= null if nullable else 0
    return Dim(name, column, "number", ordered, top + 2, possible, integer=integer)


def _inside(ordered: tuple[int | float, ...], i: int, integer: bool) -> tuple[float, bool]:
    """A value strictly between constants ``i-1`` and ``i``, and whether one exists."""
    low = ordered[i - 1] if i > 0 else None
    high = ordered[i] if i < len(ordered) else None
    if integer:
        if low is None:
            whole = math.ceil(high) - 1 if high is not None else 0
        else:
            whole = math.floor(low) + 1
        return float(whole), high is None or whole < high
    if low is None and high is None:
        return 0.0, True
    if low is None:
        return float(high) - 1, True  # type: ignore[arg-type]
    if high is None:
        return float(low) + 1, True
    return (low + high) / 2, True


def values_dim(
    name: str, column: int, values: tuple[Value, ...], nullable: bool, free_text: bool = False
) -> Dim:
    count = len(values) + (1 if free_text else 0)
    possible = (1 << count) - 1
    if nullable:
        possible |= 1 << count
    return Dim(name, column, "values", values, count + 1, possible, free_text)


def flag_dim(name: str, column: int, value: Value) -> Dim:
    return Dim(name, column, "flag", (), 2, 0b11, flag_value=value)
