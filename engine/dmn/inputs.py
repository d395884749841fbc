"""The model's inputs: each ``inputData`` (its kind from its type, or from the typeRefs of
the input expressions that read it; its allowed values or range; what the extension
elements add: unit, required, integer), and each variable that input expressions read
without an inputData (Camunda style), typed by those expressions' typeRefs.

DMN can state an input's allowed values in several places (its itemDefinition, each input
clause's inputValues); the model has one set per input, so they must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from xml.etree.ElementTree import Element

from engine.builder import read_range
from engine.conditions import Condition, Value
from engine.dmn.clauses import RawColumn, RawDecision
from engine.dmn.entries import literals_tested, value_list, without_null
from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import (
    EXTENSION_NAMESPACE,
    UNSUPPORTED,
    DmnLocation,
    Problems,
    local_name,
    namespace_of,
)
from engine.errors import Problem
from engine.model import InputDef, Kind

T = TypeVar("T")
Constraints = list[tuple[str, DmnLocation]]  # allowed-values texts and where each is stated


def input_def(
    name: str,
    el: Element | None,
    decisions: list[RawDecision],
    types: TypeResolver,
    problems: Problems,
) -> InputDef | None:
    """The input named ``name``, declared by the inputData ``el`` (or by no element: a
    variable), as the decisions' columns read it. ``None`` for an inputData without a type
    that nothing reads: in a Camunda model it only documents the diagram."""
    reading = [c for d in decisions for c in d.columns if c.reads_input and c.source == name]
    if el is None:
        where = DmnLocation(f"input '{name}'", _readers(decisions, reading))
        vtype, description, stated = None, "", False
        extension: dict[str, str] = {}
    else:
        where = DmnLocation(f"inputData '{name}'", None)
        vtype, description, extension, stated = _read_input_data(el, where, types, problems)
        if vtype is None and not stated and not reading:
            return None
    tested = [v for c in reading for v in literals_tested(_entries(decisions, c))]
    base = _base_type(name, where, vtype, stated, reading, tested if el is None else None, problems)
    if base is None:
        return None
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
        whole = extension.get("type") == "integer" or _whole(vtype, reading)
        kind = Kind.INTEGER if whole else Kind.NUMBER
        value_range = _agree(name, constraints, _read_range, problems)
    elif base == "string":
        strings = _agree(name, constraints, _read_strings, problems)
        allowed = strings or ()
        kind = Kind.ENUM if allowed else Kind.TEXT
    else:
        kind = Kind.BOOLEAN
        for text, at in constraints:
            values = problems.read_or_report(value_list, text, at, "TV118")
            if values is not None and not all(isinstance(v, bool) for v in values):
                problems.add(
                    at,
                    "a boolean input takes the values true and false only",
                    "list true, false (or leave the allowed values out)",
                    code="TV118",
                )
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


def _readers(decisions: list[RawDecision], reading: list[RawColumn]) -> str:
    """Where a variable is read: ``read by decision 'Dish', input 'Season'``."""
    first = reading[0]
    decision = next(d for d in decisions if first in d.columns)
    more = f" (and {len(reading) - 1} more)" if len(reading) > 1 else ""
    return f"read by {decision.where}, {first.where.cell}{more}"


def _read_input_data(
    el: Element, where: DmnLocation, types: TypeResolver, problems: Problems
) -> tuple[DmnType | None, str, dict[str, str], bool]:
    """The inputData's own type (``None`` if it has none or it is unusable), description,
    extension attributes, and whether a typeRef was stated at all."""
    description = ""
    extension: dict[str, str] = {}
    vtype: DmnType | None = None
    stated = False
    for child in el:
        local = local_name(child)
        if local == "variable":
            ref = child.get("typeRef")
            stated = bool(ref and ref.strip())
            vtype = types.resolve(ref, where)
        elif local == "description":
            description = (child.text or "").strip()
        elif local == "extensionElements":
            for ext in child:
                if namespace_of(ext) == EXTENSION_NAMESPACE and local_name(ext) == "input":
                    extension = dict(ext.attrib)
        else:
            problems.add(
                where,
                f"element <{local}> in an inputData is not supported",
                "keep its variable and description",
                code=UNSUPPORTED,
            )
    if vtype is not None and (vtype.components or vtype.collection):
        what = (
            "a structure (an itemDefinition with components)"
            if vtype.components
            else ("a collection (isCollection)")
        )
        problems.unsupported(
            where,
            f"an inputData of {what}",
            "use one inputData per value, of type number, string or boolean",
        )
        vtype = None
    return vtype, description, extension, stated


def _base_type(
    name: str,
    where: DmnLocation,
    vtype: DmnType | None,
    stated: bool,
    reading: list[RawColumn],
    tested: list[Value] | None,
    problems: Problems,
) -> str | None:
    """The built-in type of the input: its own, else that of the expressions reading it,
    which must all agree; for a variable (``tested``: the literals its entries test) without
    typeRefs, the type those literals all have. ``None`` when it has none (reported, unless
    its stated type was)."""
    variable = tested is not None
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
                code="TV117",
            )
    if base is None and tested:
        kinds = {_kind_word(v) for v in tested}
        base = kinds.pop() if len(kinds) == 1 else None
    refused = [c for c in reading if c.type is None and c.type_ref and c.type_ref.strip()]
    if base is None and ((vtype is None and stated) or refused):
        return None  # a typeRef is there, and refused (reported)
    if base is None:
        fix = "give the input expression a typeRef of number, string or boolean"
        if not variable:
            fix = "give its variable a typeRef of number, string or boolean"
        problems.add(
            where, "the input has no type, and its entries do not show one", fix, code="TV117"
        )
    return base


def _entries(decisions: list[RawDecision], column: RawColumn) -> list[str]:
    """The input entries of ``column``, rule by rule."""
    decision = next(d for d in decisions if column in d.columns)
    return [r.inputs[column.index][0] for r in decision.rules if column.index < len(r.inputs)]


def _kind_word(value: Value) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"


def _whole(vtype: DmnType | None, reading: list[RawColumn]) -> bool:
    """Whole numbers only: the input's type, or every typeRef that reads it, is integer or
    long (Camunda)."""
    if vtype is not None and vtype.base is not None:
        return vtype.whole
    typed = [c.type for c in reading if c.type is not None and c.type.base is not None]
    return bool(typed) and all(t.whole for t in typed)


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
                code="TV118",
            )
    return first


def _read_range(text: str, at: DmnLocation, problems: Problems) -> Condition | None:
    body, _ = without_null(text)
    if not body:
        return None
    found: list[Problem] = []
    value_range = read_range(body, at, found)
    problems.found.extend(Problem(p.location, p.message, p.fix, p.code or "TV118") for p in found)
    return value_range


def _read_strings(text: str, at: DmnLocation, problems: Problems) -> tuple[str, ...] | None:
    values = problems.read_or_report(value_list, text, at, "TV118")
    if values is None:
        return None
    if not all(isinstance(v, str) for v in values):
        problems.add(at, f"'{text}' lists values that are not text", 'write "a", "b"', code="TV118")
        return None
    if not values:
        return None
    strings = tuple(str(v) for v in values)
    if len(set(strings)) != len(strings):
        problems.add(at, "a value is listed twice", "list each value once", code="TV118")
    return strings
