"""Words people read, for names and codes: the Inputs sheet's Label and Value labels columns
and a decision table's Labels row (docs/workbook-format.md).

Clinicians and patients read "See a doctor today", not ``URGENT_SAME_DAY``; integrators
keep the codes. Where the workbook gives no label, the name or code itself is shown with its
underscores read as spaces, so a label is never missing, only plainer.
"""

from __future__ import annotations

import weakref
from typing import Any

from engine.conditions import format_value
from engine.hitpolicy import value_key
from engine.model import Kind, Model


def plain(code: str) -> str:
    """``at_rest_or_lying_flat`` -> ``at rest or lying flat``."""
    return code.replace("_", " ").strip()


class Labels:
    """The words of one model, indexed once: the explanation asks for them on every
    evaluation, and a scan of every input per word would cost more than the rules do."""

    def __init__(self, model: Model) -> None:
        self._names = {i.name: i.label for i in model.inputs if i.label}
        self._values: dict[str, dict[tuple[bool, Any], str]] = {}
        for definition in model.inputs:
            allowed = (
                (True, False) if definition.kind is Kind.BOOLEAN else definition.allowed_values
            )
            self._index(definition.name, allowed, definition.value_labels)
        for table in model.tables:
            for output in table.outputs:
                if output.name not in self._values:  # an input of that name comes first
                    self._index(output.name, output.allowed_values, output.labels)

    def _index(self, name: str, values: tuple[Any, ...], labels: tuple[str, ...]) -> None:
        self._values[name] = {
            value_key(v): label for v, label in zip(values, labels, strict=False)
        }

    def name(self, name: str) -> str:
        """The label of an input or an output (an output's label is its name, read plainly)."""
        return self._names.get(name) or plain(name)

    def value(self, name: str, value: Any) -> str:
        """The words for ``value`` of input or output ``name``; lists read item by item."""
        if isinstance(value, list | tuple):
            return ", ".join(self.value(name, v) for v in value) if value else "none"
        if value is None:
            return "not known"
        try:
            return self._values[name][value_key(value)]
        except (KeyError, TypeError):  # no label, or an unhashable value
            pass
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, str):
            return plain(value)
        return format_value(value)


# One index per loaded model, dropped with the model: a page asks for hundreds of words, and
# indexing the model for each would cost more than drawing the page.
_INDEXED: weakref.WeakKeyDictionary[Model, Labels] = weakref.WeakKeyDictionary()


def labels_of(model: Model) -> Labels:
    """The words of ``model``, indexed once."""
    found = _INDEXED.get(model)
    if found is None:
        found = _INDEXED[model] = Labels(model)
    return found


def name_label(model: Model, name: str) -> str:
    """The label of an input or an output (an output's label is its name, read plainly)."""
    return labels_of(model).name(name)


def value_label(model: Model, name: str, value: Any) -> str:
    """The words for ``value`` of input or output ``name``; lists read item by item."""
    return labels_of(model).value(name, value)
