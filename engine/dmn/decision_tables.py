"""Raw decisions -> :class:`~engine.model.Table`: what each input column reads (an
inputData, or an output of a required decision), and each rule's entries read as cells and
output values checked against the column and output types.

A column that reads the list a multi-hit decision returns takes FEEL list tests
(``list contains(?, "a")``), read into the workbook's cell syntax first; any other column
takes unary tests of literals, and a FEEL name in one is refused (it cannot be compiled).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from engine.builder import did_you_mean
from engine.conditions import AnyValue, CellSyntaxError, parse_condition, type_problems
from engine.dmn.clauses import RawColumn, RawDecision, RawRule
from engine.dmn.entries import bare_names, list_test_text, value_list
from engine.dmn.outputs import typed_literal
from engine.dmn.typerefs import TYPE_REF
from engine.dmn.xml import DmnLocation, Problems, dmn_name, local_name
from engine.model import Cell, InputColumn, InputDef, OutputDef, Rule, Table
from engine.tables import ColumnType, column_type


def resolve_column(
    decision: RawDecision,
    column: RawColumn,
    by_name: dict[str, Element],
    decisions: list[RawDecision],
    problems: Problems,
) -> None:
    """Set ``column.source``: the input or output its expression names (``Decision`` or
    ``Decision.Component``), which the decision must require."""
    text = column.expression
    target = by_name.get(text)
    component = None
    if target is None and "." in text:
        head, _, tail = text.rpartition(".")
        candidate = by_name.get(dmn_name(head))
        if candidate is not None and local_name(candidate) == "decision":
            target, component = candidate, dmn_name(tail)
    if target is None:
        if text:
            _report_unknown(text, column.where, [*by_name], problems)
        else:
            problems.add(
                column.where,
                "the input expression is empty",
                "name the inputData or decision this column reads, for example 'Age'",
            )
        return
    target_name = dmn_name(target.get("name"))
    if target.get("id", "") not in decision.requires:
        problems.add(
            column.where,
            f"input expression '{text}' names {local_name(target)} "
            f"'{target_name}', which the decision does not require",
            f"add an informationRequirement to {local_name(target)} '{target_name}'",
        )
    if local_name(target) == "inputData":
        if component is not None:  # pragma: no cover - only decisions take components
            return
        column.source = text
        column.reads_input = True
        return
    upstream = next(d for d in decisions if d.element is target)
    if upstream is decision:
        problems.add(
            column.where,
            f"the decision reads its own output '{text}'",
            "read an input or another decision",
        )
        return
    column.source = _output_read(column, upstream, component, problems)


def _output_read(
    column: RawColumn, upstream: RawDecision, component: str | None, problems: Problems
) -> str | None:
    """The output of ``upstream`` that ``column`` reads: its only one, or the ``component``
    named (``Decision.Component``); ``None`` when that is not clear (reported)."""
    if not upstream.output_defs:
        return None  # the upstream decision's own problems are reported
    names = [o.name for o in upstream.output_defs]
    if component is None:
        if len(names) > 1:
            listed = ", ".join(f"{upstream.name}.{name}" for name in names)
            problems.add(
                column.where,
                f"decision '{upstream.name}' has several outputs; a column reads one value",
                f"read one of its outputs: {listed}",
            )
            return None
        return names[0]
    if len(names) == 1 or component not in names:
        problems.add(
            column.where,
            f"decision '{upstream.name}' has no output '{component}'",
            "name one of its output clauses",
        )
        return None
    return component


def _report_unknown(text: str, where: DmnLocation, names: list[str], problems: Problems) -> None:
    plain = not re.search(r"[^\w\s./'-]", text)
    message = (
        f"input expression '{text}' is not the name of an inputData or a decision"
        if plain
        else f"input expression '{text}' is not a plain name; expressions cannot be "
        "compiled to rules"
    )
    problems.add(
        where,
        message,
        "write the name of an inputData or a required decision"
        + (f" — {did_you_mean(text, names)}" if plain else ""),
    )


def build_table(
    decision: RawDecision,
    inputs: dict[str, InputDef],
    outputs: dict[str, OutputDef],
    list_outputs: set[str],
    problems: Problems,
) -> Table | None:
    """The decision's table, every entry read; ``None`` when it has no decision table."""
    if decision.table is None or decision.table_where is None:
        return None
    types = _column_types(decision, inputs, outputs, list_outputs, problems)
    rules: list[Rule] = []
    seen: dict[str, DmnLocation] = {}
    for raw in decision.rules:
        if raw.rule_id in seen:
            problems.add(
                raw.where,
                f"rule id '{raw.rule_id}' is used twice (also at {seen[raw.rule_id]})",
                "give each rule its own id",
            )
        seen.setdefault(raw.rule_id, raw.where)
        rules.append(_rule(raw, decision, types, problems))
    return Table(
        decision.name,
        decision.name,
        decision.hit_policy,
        decision.aggregation,
        tuple(InputColumn(c.source or c.expression, c.where) for c in decision.columns),
        tuple(decision.output_defs),
        tuple(rules),
        decision.description,
        decision.table_where,
    )


def _column_types(
    decision: RawDecision,
    inputs: dict[str, InputDef],
    outputs: dict[str, OutputDef],
    list_outputs: set[str],
    problems: Problems,
) -> list[ColumnType | None]:
    """The type of values each column sees (``None``: its source is already reported)."""
    types: list[ColumnType | None] = []
    for column in decision.columns:
        source = inputs.get(column.source or "") or outputs.get(column.source or "")
        if source is None:
            types.append(None)
            continue
        seen_type = column_type(source, list_outputs)
        if isinstance(source, OutputDef):
            _check_chained(column, source, seen_type, problems)
        types.append(seen_type)
    return types


def _rule(
    raw: RawRule, decision: RawDecision, types: list[ColumnType | None], problems: Problems
) -> Rule:
    cells = tuple(
        _read_cell(text, at, types[i] if i < len(types) else None, decision, i, problems)
        for i, (text, at) in enumerate(raw.inputs[: len(decision.columns)])
    )
    values = tuple(
        typed_literal(text, out.kind, out.allowed_values, at, problems)
        for (text, at), out in zip(raw.outputs, decision.output_defs, strict=False)
    )
    return Rule(
        raw.number - 1,
        raw.rule_id,
        raw.number,
        cells,
        values,
        raw.citation,
        raw.note,
        raw.where,
    )


def _check_chained(
    column: RawColumn, source: OutputDef, ctype: ColumnType | None, problems: Problems
) -> None:
    """A column reading another decision's output: its typeRef and inputValues, if stated,
    must be the output's."""
    is_list = ctype is not None and ctype.is_list
    if column.type is not None and column.type.base is not None and not is_list:
        expected = TYPE_REF[source.kind]
        if column.type.base != expected:
            problems.add(
                column.where,
                f"the input expression's typeRef '{column.type.base}' differs from the type "
                f"of output '{source.name}' ({expected})",
                "give them the same type",
            )
    if column.values:
        listed = problems.read_or_report(value_list, column.values, column.values_where)
        if listed is None:
            return
        if set(map(repr, listed)) != set(map(repr, source.allowed_values)):
            problems.add(
                column.values_where,
                f"inputValues of a column that reads '{source.name}' differ from its outputValues",
                "state the outputValues of the decision, or leave inputValues out",
            )


def _read_cell(
    text: str,
    where: DmnLocation,
    ctype: ColumnType | None,
    decision: RawDecision,
    index: int,
    problems: Problems,
) -> Cell:
    shown = text.strip() or "-"
    if ctype is None:
        return Cell(shown, AnyValue(), where)
    parsed = text
    if ctype.is_list:
        canonical = list_test_text(text)
        if canonical is None:
            source = decision.columns[index].expression
            problems.add(
                where,
                f"'{text}' cannot test the list that '{source}' holds (the result of a "
                "multi-hit decision)",
                'write list contains(?, "a"), several joined with or, not( … ) for none of '
                "them, or count(?) = 0 for an empty list",
            )
            return Cell(shown, AnyValue(), where)
        parsed = canonical
    else:
        names = bare_names(text)
        if names:
            problems.add(
                where,
                f"'{text}' uses the FEEL name '{names[0]}'; names and functions cannot be "
                "compiled to rules",
                'write literal values (text in double quotes, for example "High"), '
                "comparisons such as >= 18, or ranges such as [1..5]",
            )
            return Cell(shown, AnyValue(), where)
    try:
        condition = parse_condition(parsed)
    except CellSyntaxError as exc:
        problems.add(where, exc.message, exc.fix)
        return Cell(shown, AnyValue(), where)
    for problem in type_problems(condition, ctype.kind, ctype.allowed, ctype.is_list):
        problems.add(where, problem.message, problem.fix)
    return Cell(shown, condition, where)
