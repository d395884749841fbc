"""Words people read, for names and codes: the Inputs sheet's Label and Value labels columns
and a decision table's Labels row (docs/workbook-format.md).

Clinicians and patients read "See a doctor today", not ``URGENT_SAME_DAY``; integrators
keep the codes. Where the workbook gives no label, the name or code itself is shown with its
underscores read as spaces, so a label is never missing, only plainer.
"""

from __future__ import annotations

from typing import Any

from engine.conditions import format_value
from engine.hitpolicy import same_value
from engine.model import Kind, Model


def plain(code: str) -> str:
    """``at_rest_or_lying_flat`` -> ``at rest or lying flat``."""
    return code.replace("_", " ").strip()


def name_label(model: Model, name: str) -> str:
    """The label of an input or an output (an output's label is its name, read plainly)."""
    definition = model.input(name)
    if definition is not None and definition.label:
        return definition.label
    return plain(name)


def value_label(model: Model, name: str, value: Any) -> str:
    """The words for ``value`` of input or output ``name``; lists read item by item."""
    if isinstance(value, list | tuple):
        return ", ".join(value_label(model, name, v) for v in value) if value else "none"
    if value is None:
        return "not known"
    values, labels = _labelled(model, name)
    for listed, label in zip(values, labels, strict=False):
        if same_value(listed, value):
            return label
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return plain(value)
    return format_value(value)


def _labelled(model: Model, name: str) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    definition = model.input(name)
    if definition is not None:
        values = (True, False) if definition.kind is Kind.BOOLEAN else definition.allowed_values
        return values, definition.value_labels
    output = model.output(name)
    if output is not None:
        return output.allowed_values, output.labels
    return (), ()
