"""Batch evaluation on pandas: a DataFrame of cases in, a DataFrame of answers out.

One row is one case; the columns that name inputs of the model are its facts (other columns
are ignored, so an identifier may travel beside the facts). A missing value (``None``,
``NaN``, ``NaT``, ``pd.NA``) is a fact not given, exactly as a key left out of a request.
Every row is evaluated through :meth:`engine.CompiledModel.evaluate`, so a frame gets the
answers a request would get, durable-rules included; a refused row (bad facts, a hit-policy
violation) gets its message in the ``error`` column and empty outputs, and never fails the
frame.

Why a loop and not vectorised arithmetic: the answer must be the engine's own, and a second
implementation of the tables over columns would be a second home for their meaning. The
frame path costs the loop plus turning columns into Python values once per column (numpy
scalars are not the ``int``, ``float`` and ``bool`` the fact checker accepts).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engine.errors import EngineFailure, TriageError
from engine.validation.vignettes import outputs_by_name

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from engine.evaluator import CompiledModel

ERROR = "error"
FIRED = "fired"


def output_names(model: CompiledModel) -> list[str]:
    """Every output of every table, in evaluation order: the frame's output columns."""
    return [o.name for t in model.tables for o in t.outputs]


def evaluate_frame(model: CompiledModel, cases: pd.DataFrame, fired: bool = False,
                   unknown: str = "ignore") -> pd.DataFrame:
    """The answers for ``cases``, one row per case with the same index: one column per output
    (:func:`output_names`), ``error`` (None, or why the case has no answer) and, with
    ``fired``, the rules that fired as ``"table/rule_id"`` strings. Columns that name no
    input are ignored, or with ``unknown="refuse"`` a value in one is an unknown fact, and
    refuses its row as a request would be refused (replaying stored requests)."""
    import pandas as pd

    names = output_names(model)
    columns: dict[str, list[Any]] = {n: [] for n in names}
    errors: list[str | None] = []
    fired_lists: list[list[str] | None] = []
    for facts in iter_facts(model, cases, unknown == "refuse"):
        try:
            decision = model.evaluate(facts)
        except EngineFailure:
            raise  # a bug in the engine, never a property of one case
        except TriageError as error:
            for n in names:
                columns[n].append(None)
            errors.append(str(error))
            fired_lists.append(None)
            continue
        by_output = outputs_by_name(model, decision)
        for n in names:
            columns[n].append(by_output.get(n))
        errors.append(None)
        if fired:
            fired_lists.append([f"{f.table}/{f.rule_id}" for f in decision.fired])
    data: dict[str, list[Any]] = {**columns, ERROR: errors}
    if fired:
        data[FIRED] = fired_lists
    return pd.DataFrame(data, index=cases.index, dtype=object)


def iter_facts(model: CompiledModel, cases: pd.DataFrame,
               every_column: bool = False) -> Iterator[dict[str, Any]]:
    """Each row's facts: the input columns (every column with ``every_column``), as plain
    Python values, missing ones left out."""
    if every_column:
        names = [str(c) for c in cases.columns]
    else:
        names = [i.name for i in model.inputs if i.name in cases.columns]
    values = [python_values(cases[n]) for n in names] if not every_column else [
        python_values(cases[c]) for c in cases.columns]
    for row in zip(*values, strict=True) if values else ([] for _ in range(len(cases))):
        yield {n: v for n, v in zip(names, row, strict=True) if v is not None}


def python_values(column: pd.Series) -> list[Any]:
    """A column as plain Python values, ``None`` wherever pandas sees a missing value."""
    return [None if _missing(v) else v for v in column.tolist()]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | dict | str | bool | int):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
