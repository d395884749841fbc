"""What a property means for one concrete case: the definition the prover must agree with.

For every case the Inputs sheet allows, if every ``When`` cell holds, every ``Then`` cell
must hold. A case for which the tables give no answer (a UNIQUE table matches two rules, an
ANY table's matches disagree) has no outputs: it breaks every property whose ``When`` cells
on inputs hold, since nothing about its outputs can be relied on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.conditions import matches
from engine.model import SafetyProperty


def breaks(
    prop: SafetyProperty, inputs: Mapping[str, Any], outputs: Mapping[str, Any] | None
) -> bool:
    """Does this case break ``prop``? ``inputs``: every input's value (``None`` missing);
    ``outputs``: every output's value by name, or ``None`` when the tables give no answer."""
    when_inputs = [c for c in prop.when if c.name in inputs]
    if not all(matches(c.condition, inputs[c.name]) for c in when_inputs):
        return False
    if outputs is None:
        return True
    values = {**outputs, **inputs}
    if not all(matches(c.condition, values.get(c.name)) for c in prop.when):
        return False
    return not all(matches(c.condition, values.get(c.name)) for c in prop.then)
