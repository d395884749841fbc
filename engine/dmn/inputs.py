"""``inputData`` -> :class:`~engine.model.InputDef`: the input's kind (from its type, or
from the typeRefs of the input expressions that read it), its allowed values or range, and
what the extension elements add (unit, required, integer).

DMN can state an input's allowed values in several places (its itemDefinition, each input
clause's inputValues); the model has one set per input, so they must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from xml.etree.ElementTree import Element

from engine.builder import read_range
from engine.conditions import Condition
from engine.dmn.clauses import RawColumn, RawDecision
from engine.dmn.entries import value_list
from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import (
    EXTENSION_NAMESPACE,
    DmnLocation,
    Problems,
    dmn_name,
    local_name,
    namespace_of,
)
from engine.model import InputDef, Kind

T = TypeVar("T")
Constraints = list[tuple[str, DmnLocation]]  # allowed-values texts and where each is stated


def input_def(
    el: Element, decisions: list[RawDecision], types: TypeResolver, problems: Problems
) -> InputDef:
    """The input ``el`` declares, as the decisions' columns read it."""
    name = dmn_name(el.get("name"))
    where = DmnLocation(f"inputData '{name}'", None)
    vtype, description, extension = _read_input_data(el, where, types, problems)
    reading = [c for d in decisions for c in d.columns if c.reads_input and c.source == name]
    base = _base_type(name, where, vtype, reading, problems)
    constraints: Constraints = []
    if vtype is not None and vtype.allowed:
        constraints.append((vtype.allowed, where))
    for column in reading:
        if column.values:
            constraints.append((column.values, column.values_where))
        elif column.type is not None and column.type.allowed:
            constraints.append((column.type.allowed, column.where))
    allowed: tuple[str, ...] = ()
    value_range: Condition | None = None
    if base == "number":
        kind = Kind.INTEGER if extension.get("type") == "integer" else Kind.NUMBER
        value_range = _agree(name, constraints, _read_range, problems)
    elif base == "string":
        strings = _agree(name, constraints, _read_strings, problems)
        allowed = strings or ()
        kind = Kind.ENUM if allowed else Kind.TEXT
    else:
        kind = Kind.BOOLEAN
        for text, at in constraints:
            values = problems.read_or_report(value_list, text, at)
            if values is not None and not all(isinstance(v, bool) for v in values):
                problems.add(at, "a boolean input takes the values true and false only")
    required = extension.get("required", "no").strip().lower() in ("yes", "true")
    return InputDef(
        name,
        kind,
        extension.get("unit", ""),
        allowed,
        value_range,
        required,
        description,
        where,
    )


def _read_input_data(
    el: Element, where: DmnLocation, types: TypeResolver, problems: Problems
) -> tuple[DmnType | None, str, dict[str, str]]:
    """The inputData's own type (``None`` if unusable), description and extension attributes."""
    description = ""
    extension: dict[str, str] = {}
    vtype: DmnType | None = None
    for child in el:
        local = local_name(child)
        if local == "variable":
            vtype = types.resolve(child.get("typeRef"), where)
        elif local == "description":
            description = (child.text or "").strip()
        elif local == "extensionElements":
            for ext in child:
                if namespace_of(ext) == EXTENSION_NAMESPACE and local_name(ext) == "input":
                    extension = dict(ext.attrib)
        else:
            problems.add(where, f"element <{local}> in an inputData is not supported")
    if vtype is not None and (vtype.components or vtype.collection):
        problems.add(
            where,
            "structured and collection inputs are not supported",
            "use one inputData per value, of type number, string or boolean",
        )
        vtype = None
    return vtype, description, extension


def _base_type(
    name: str,
    where: DmnLocation,
    vtype: DmnType | None,
    reading: list[RawColumn],
    problems: Problems,
) -> str:
    """The built-in type of the input: its own, else that of the expressions reading it,
    which must all agree."""
    base = vtype.base if vtype else None
    for column in reading:
        if column.type is None or column.type.base is None:
            continue
        if base is None:
            base = column.type.base
        elif column.type.base != base:
            problems.add(
                column.where,
                f"the input expression's typeRef '{column.type.base}' differs from the type "
                f"of '{name}' ({base})",
                "give them the same type",
            )
    if base is None:
        problems.add(
            where,
            "the inputData has no type",
            "give its variable a typeRef of number, string or boolean",
        )
        base = "string"
    return base


def _agree(
    name: str,
    constraints: Constraints,
    read: Callable[[str, DmnLocation, Problems], T],
    problems: Problems,
) -> T | None:
    """Every inputValues / allowedValues stated for one input must say the same: the
    model has one set of allowed values per input. ``read`` gives ``None`` for a text it
    has reported."""
    first: T | None = None
    first_at = None
    for text, at in constraints:
        value = read(text, at, problems)
        if value is None:
            continue
        if first is None:
            first, first_at = value, at
        elif str(value) != str(first) and (
            not isinstance(value, tuple) or not isinstance(first, tuple) or set(value) != set(first)
        ):
            problems.add(
                at,
                f"these allowed values of '{name}' differ from those at {first_at}",
                "state the same inputValues wherever the input is read",
            )
    return first


def _read_range(text: str, at: DmnLocation, problems: Problems) -> Condition | None:
    return read_range(text, at, problems.found)


def _read_strings(text: str, at: DmnLocation, problems: Problems) -> tuple[str, ...] | None:
    values = problems.read_or_report(value_list, text, at)
    if values is None:
        return None
    if not all(isinstance(v, str) for v in values):
        problems.add(at, f"'{text}' lists values that are not text", 'write "a", "b"')
        return None
    strings = tuple(str(v) for v in values)
    if len(set(strings)) != len(strings):
        problems.add(at, "a value is listed twice", "list each value once")
    return strings
