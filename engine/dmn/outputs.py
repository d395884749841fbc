"""Output clauses -> :class:`~engine.model.OutputDef`: each output's name, kind, allowed
values and default, and the check that a literal fits them (used for rule outputs too).

An output's kind comes from its typeRef (or the decision's, or its variable's); without
one, from its outputValues, else from the literals in its entries, as a workbook's does.
"""

from __future__ import annotations

from engine.conditions import Value, format_value
from engine.dmn.clauses import RawDecision, RawOutput
from engine.dmn.entries import read_literal_entry, value_list
from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import DmnLocation, Problems, local_name
from engine.model import Kind, OutputDef
from engine.tables import kind_of, output_kind_problem
from engine.values import ValueProblem, choices, read_typed


def define_outputs(decision: RawDecision, types: TypeResolver, problems: Problems) -> None:
    """Set ``decision.output_defs``: one per output clause. A table with one output names
    it after the decision."""
    if decision.table is None:
        return
    single = len(decision.outputs) == 1
    table_type = types.resolve(decision.table.get("typeRef"), decision.table_where)  # type: ignore[arg-type]
    variable_type = None
    for child in decision.element:
        if local_name(child) == "variable":
            variable_type = types.resolve(
                child.get("typeRef"), DmnLocation(decision.where, "variable")
            )
    declared = table_type or variable_type
    for position, out in enumerate(decision.outputs):
        if not single and not out.name:
            problems.add(
                out.where,
                "an output of a table with several outputs needs a name",
                "give the output clause a name attribute",
            )
        ctype = out.type
        if ctype is None and declared is not None:
            ctype = declared if single else declared.component(out.name)
        if ctype is not None and ctype.components:
            problems.add(
                out.where,
                "a structured type cannot be the type of one output column",
                "give the output clause a typeRef of number, string or boolean",
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
    if out.values:
        listed = problems.read_or_report(value_list, out.values, out.values_where)
        allowed = tuple(listed) if listed is not None else ()
        if len(set(map(repr, allowed))) != len(allowed):
            problems.add(out.values_where, "a value is listed twice", "list each value once")
    elif ctype is not None and ctype.allowed:
        allowed = _type_values(ctype.allowed)
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
            problems.add(out.values_where, *problem)
    default: Value | None = None
    if out.default is not None:
        default = typed_literal(out.default, kind, allowed, out.default_where, problems)
    if problem := output_kind_problem(decision.aggregation, kind):
        problems.add(out.where, *problem)
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


def typed_literal(
    text: str, kind: Kind, allowed: tuple[Value, ...], where: DmnLocation, problems: Problems
) -> Value | None:
    """An output entry read as a value of ``kind``; ``None`` for null or a reported problem."""
    value = problems.read_or_report(read_literal_entry, text, where)
    if value is None:
        return None
    if problem := _value_problem(value, kind, allowed):
        problems.add(where, *problem)
        return None
    return value


def _value_problem(value: Value, kind: Kind, allowed: tuple[Value, ...]) -> tuple[str, str] | None:
    """Does a literal fit an output of ``kind`` (and ``allowed``)? The same check as a
    workbook's output cells (:func:`engine.values.read_typed`), on an already typed value."""
    if kind in (Kind.ENUM, Kind.TEXT):
        if not isinstance(value, str):
            return (f"{format_value(value)} is not text", 'write text in double quotes, "a"')
        if kind is Kind.ENUM and allowed and value not in allowed:
            return (f"'{value}' is not one of the allowed values", choices(allowed))
        return None
    if isinstance(value, str):
        wanted = "true or false" if kind is Kind.BOOLEAN else "a number"
        return (f"{format_value(value)} is text, not {wanted}", f"write {wanted} without quotes")
    try:
        read_typed(value, kind, allowed)
    except ValueProblem as exc:
        return (exc.message, exc.fix)
    return None
