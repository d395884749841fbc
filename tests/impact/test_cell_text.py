"""The cells a diff region is written with (``when`` in JSON, the cells of the HTML page)
against brute force: for every set of atoms of small dimensions — numbers, whole numbers,
enums, free text, each with and without "not given" — the text written must be read back by
the engine's cell parser and, tested with :func:`engine.conditions.matches` on a value of
every atom, accept exactly that set. Sets that mix "not given" with "none of these" (a cell
DMN cannot write as one test) are where writing goes wrong."""

from __future__ import annotations

import itertools

import pytest

from engine.conditions import matches, parse_condition
from engine.impact.diff import cell_text
from engine.impact.space import _other_text
from engine.validation.domains import Dim, numeric_dim, values_dim

DIMS = [
    values_dim("pattern", 0, ("focal", "multifocal", "widespread", "none"), True),
    values_dim("pattern", 0, ("focal", "multifocal", "widespread"), False),
    values_dim("comment", 0, ("a", "b", "c"), True, free_text=True),
    values_dim("comment", 0, ("a", "b", "c", "d"), False, free_text=True),
    numeric_dim("age", 0, {18, 65}, True, parse_condition("[0..120]"), True),
    numeric_dim("temperature", 0, {36.5, 38}, False, None, False),
]


def _value(dim: Dim, atom: int) -> object:
    value = dim.sample(atom)
    return _other_text(dim) if value == Dim.OTHER_TEXT else value


@pytest.mark.parametrize("dim", DIMS, ids=lambda d: f"{d.name}-{d.size}-{d.possible:b}")
def test_every_set_of_atoms_is_written_as_cells_that_accept_exactly_it(dim: Dim) -> None:
    atoms = [a for a in range(dim.size) if dim.possible >> a & 1]
    for chosen in itertools.chain.from_iterable(
            itertools.combinations(atoms, k) for k in range(1, len(atoms) + 1)):
        mask = sum(1 << a for a in chosen)
        text = cell_text(dim, mask)
        cells = [parse_condition(t) for t in (text if isinstance(text, list) else [text])]
        for atom in atoms:
            value = _value(dim, atom)
            accepted = any(matches(c, value) for c in cells)
            assert accepted == bool(mask >> atom & 1), (
                f"{dim.name}: atoms {chosen} written {text!r}, which "
                f"{'accepts' if accepted else 'refuses'} {value!r}")
