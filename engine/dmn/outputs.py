"""Output clauses -> :class:`~engine.model.OutputDef`: each output's name, kind, allowed
values and default, and the check that a literal fits them (used for rule outputs too).

An output's kind comes from its typeRef (or the decision's, or its variable's); without
one, from its outputValues, else from the literals in its entries, as a workbook's does.
"""

from __future__ import annotations

from engine.conditions import Condition, Value, format_value, matches
from engine.dmn.clauses import RawDecision, RawOutput
from engine.dmn.entries import numeric_range, read_literal_entry, value_list
from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import UNSUPPORTED, DmnLocation, Problems, local_name
from engine.model import Kind, OutputDef
from engine.tables import kind_of, output_kind_problem
from engine.values import ValueProblem, choices, read_typed


def define_outputs(decision: RawDecision, types: TypeResolver, problems: Problems) -> None:
    """Set ``decision.output_defs``: one per output clause. A table with one output names
    it after the decision."""
    if decision.table is None:
        return
    single = len(decision.outputs) == 1
    table_ref = decision.table.get("typeRef")
    table_type = types.resolve(table_ref, decision.table_where)  # type: ignore[arg-type]
    variable_type, variable_ref = None, None
    for child in decision.element:
        if local_name(child) == "variable":
            variable_ref = child.get("typeRef")
            variable_type = types.resolve(variable_ref, DmnLocation(decision.where, "variable"))
    declared = table_type or variable_type
    declared_ref = table_ref if table_type else variable_ref
    for position, out in enumerate(decision.outputs):
        if not single and not out.name:
            problems.add(
                out.where,
                "an output of a decision table with several outputs needs a name",
                "give the output clause a name attribute",
                code="TV106",
            )
        ctype = out.type
        if ctype is None and declared is not None:
            ctype = declared if single else declared.component(out.name)
            out.type_ref = declared_ref
        if ctype is not None and ctype.components:
            problems.add(
                out.where,
                "a structured type (an itemDefinition with components) as the type of one "
                "output clause is not supported",
                "give the output clause a typeRef of number, string or boolean",
                code=UNSUPPORTED,
            )
            ctype = None
        name = decision.name if single else out.name
        entries = [r.outputs[position] for r in decision.rules if position < len(r.outputs)]
        decision.output_defs.append(_output_def(decision, out, name, ctype, entries, problems))


def _output_def(
    decision: RawDecision,
    out: RawOutput,
    name: str,
    ctype: DmnType | None,
    entries: list[tuple[str, DmnLocation]],
    problems: Problems,
) -> OutputDef:
    allowed: tuple[Value, ...] = ()
    # A range such as [0..100] lists no values (and gives no priority order): the entries
    # are checked against it.
    value_range = numeric_range(out.values) if out.values else None
    if out.values and value_range is None:
        listed = problems.read_or_report(value_list, out.values, out.values_where, "TV201")
        allowed = tuple(listed) if listed is not None else ()
        if len(set(map(repr, allowed))) != len(allowed):
            problems.add(
                out.values_where, "a value is listed twice", "list each value once", code="TV201"
            )
    elif ctype is not None and ctype.allowed:
        allowed = _type_values(ctype.allowed)
        value_range = numeric_range(ctype.allowed)
    if value_range is not None:
        _check_range(value_range, [*entries, (out.default or "null", out.default_where)], problems)
    base = ctype.base if ctype else None
    if base is None:
        literals = []
        for text, _ in entries:
            try:
                value = read_literal_entry(text)
            except ValueProblem:
                continue
            if value is not None:
                literals.append(value)
        kind = kind_of(allowed) if allowed else kind_of(tuple(literals), listed=False)
    else:
        kind = {"number": Kind.NUMBER, "boolean": Kind.BOOLEAN}.get(
            base, Kind.ENUM if allowed else Kind.TEXT
        )
    for value in allowed:
        if problem := _value_problem(value, kind, ()):
            message, fix, code = problem
            problems.add(out.values_where, message, typeref_hint(fix, out.type_ref), code=code)
    default: Value | None = None
    if out.default is not None:
        default = typed_literal(
            out.default, kind, allowed, out.default_where, problems, out.type_ref
        )
    if kind_problem := output_kind_problem(decision.aggregation, kind):
        problems.add(out.where, *kind_problem, code="TV113")
    return OutputDef(
        name, decision.name, kind, allowed, default, out.default is not None, out.where
    )


def _type_values(text: str) -> tuple[Value, ...]:
    """The output values of an output clause without ``outputValues``: its type's
    ``allowedValues``, in their order, which is then the priority order of PRIORITY and
    OUTPUT ORDER (as in KIE and the DMN specification, where the output values default to
    the type's). A type constrained by a range (``[0..100]``) lists no values: ``()``."""
    try:
        return tuple(value_list(text))
    except ValueProblem:
        return ()


def _check_range(
    value_range: Condition, entries: list[tuple[str, DmnLocation]], problems: Problems
) -> None:
    """Numbers outside an output's range (``[0..100]``) are refused, as values outside
    listed output values are."""
    for text, where in entries:
        try:
            value = read_literal_entry(text)
        except ValueProblem:
            continue  # reported where the entry is read
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not matches(value_range, value):
                problems.add(
                    where,
                    f"{format_value(value)} is outside the output's range {value_range}",
                    f"write a number in {value_range}, or widen the outputValues (or the "
                    "type's allowedValues)",
                    code="TV205",
                )


def typed_literal(
    text: str,
    kind: Kind,
    allowed: tuple[Value, ...],
    where: DmnLocation,
    problems: Problems,
    type_ref: str | None = None,
) -> Value | None:
    """An output entry read as a value of ``kind`` (given by ``type_ref``, when one is
    written); ``None`` for null or a reported problem."""
    value = problems.read_or_report(read_literal_entry, text, where, "TV201")
    if value is None:
        return None
    if problem := _value_problem(value, kind, allowed):
        message, fix, code = problem
        if code == "TV202":
            fix = typeref_hint(fix, type_ref)
        problems.add(where, message, fix, code=code)
        return None
    return value


def typeref_hint(fix: str, type_ref: str | None) -> str:
    """A fix for a value of the wrong type, which may be right when the typeRef is wrong (a
    modeler's default ``string`` on numbers is common)."""
    if not type_ref:
        return fix
    return f"{fix}; or, if the value is right, correct the typeRef '{type_ref}'"


def _value_problem(
    value: Value, kind: Kind, allowed: tuple[Value, ...]
) -> tuple[str, str, str] | None:
    """Does a literal fit an output of ``kind`` (and ``allowed``)? The same check as a
    workbook's output cells (:func:`engine.values.read_typed`), on an already typed value:
    (message, fix, code) when it does not."""
    if kind in (Kind.ENUM, Kind.TEXT):
        if not isinstance(value, str):
            return (
                f"{format_value(value)} is not text",
                'write text in double quotes, "a"',
                "TV202",
            )
        if kind is Kind.ENUM and allowed and value not in allowed:
            return (
                f"'{value}' is not one of the output values",
                choices(allowed) + ", or add it to the outputValues (or the type's allowedValues)",
                "TV205",
            )
        return None
    if isinstance(value, str):
        wanted = "true or false" if kind is Kind.BOOLEAN else "a number"
        return (
            f"{format_value(value)} is text, not {wanted}",
            f"write {wanted} without quotes",
            "TV202",
        )
    try:
        read_typed(value, kind, allowed)
    except ValueProblem as exc:
        code = "TV205" if allowed and value not in allowed else "TV202"
        return (exc.message, exc.fix, code)
    return None
