"""Raw decisions -> :class:`~engine.model.Table`: what each input column reads (an
inputData, or an output of a required decision), and each rule's entries read as cells and
output values checked against the column and output types.

A column that reads the list a multi-hit decision returns takes FEEL list tests
(``list contains(?, "a")``), read into the workbook's cell syntax first; any other column
takes unary tests of literals, and a FEEL name in one is refused (it cannot be compiled).
"""

from __future__ import annotations

import difflib
import re
from xml.etree.ElementTree import Element

from engine.conditions import (
    AnyValue,
    CellSyntaxError,
    format_value,
    parse_condition,
    type_problems,
)
from engine.dmn.clauses import RawColumn, RawDecision, RawRule
from engine.dmn.entries import (
    FeelProblem,
    list_test_text,
    syntax_problem,
    unary_tests,
    value_list,
)
from engine.dmn.outputs import typed_literal, typeref_hint
from engine.dmn.typerefs import TYPE_REF
from engine.dmn.xml import MALFORMED, DmnLocation, Problems, dmn_name, local_name
from engine.model import Cell, InputColumn, InputDef, OutputDef, Rule, Table
from engine.tables import ColumnType, column_type


def resolve_column(
    decision: RawDecision,
    column: RawColumn,
    by_name: dict[str, Element],
    decisions: list[RawDecision],
    typed_inputs: set[str],
    problems: Problems,
) -> None:
    """Set ``column.source``: what its expression names, which the decision must require —
    an inputData, a decision (``Decision``, or ``Decision.Output`` for one output of
    several), or an output clause of a required decision by its name (as Camunda reads
    them). Any other plain name is a variable no inputData declares (Camunda style): an
    input of the model named after it. ``typed_inputs``: the names of the inputData that
    declare a type, against which such a name is checked for a typing mistake."""
    if column.foreign:
        return  # reported with its expression language
    text = column.expression
    target = by_name.get(text)
    component = None
    if target is None and "." in text:
        head, _, tail = text.rpartition(".")
        candidate = by_name.get(dmn_name(head))
        if candidate is not None and local_name(candidate) == "decision":
            target, component = candidate, dmn_name(tail)
        elif candidate is not None:
            problems.unsupported(
                column.where,
                f"the input expression '{text}' reads a component of inputData "
                f"'{dmn_name(head)}'; structured inputs are",
                "use one inputData per value, of type number, string or boolean",
            )
            return
    if target is None:
        _unresolved(decision, column, decisions, typed_inputs, [*by_name], problems)
        return
    target_name = dmn_name(target.get("name"))
    if target.get("id", "") not in decision.requires:
        problems.add(
            column.where,
            f"the input expression '{text}' names {local_name(target)} "
            f"'{target_name}', which the decision does not require",
            f"add an informationRequirement to {local_name(target)} '{target_name}'",
            code="TV108",
        )
    if local_name(target) == "inputData":
        column.source = text
        column.reads_input = True
        return
    upstream = next(d for d in decisions if d.element is target)
    if upstream is decision:
        problems.add(
            column.where,
            f"the decision reads its own result '{text}'",
            "read an inputData or another decision",
            code="TV402",
        )
        return
    column.source = _output_read(column, upstream, component, problems)


def _unresolved(
    decision: RawDecision,
    column: RawColumn,
    decisions: list[RawDecision],
    typed_inputs: set[str],
    names: list[str],
    problems: Problems,
) -> None:
    """An expression that names no inputData or decision: an output clause of a required
    decision, a variable, or something the engine cannot read (reported)."""
    text = column.expression
    by_id = {d.element.get("id", ""): d for d in decisions}
    for ident in decision.required_decisions:
        upstream = by_id.get(ident)
        if upstream is None or upstream is decision:
            continue
        for position, out in enumerate(upstream.outputs):
            if out.name and out.name == text and position < len(upstream.output_defs):
                column.source = upstream.output_defs[position].name
                return
    if not text:
        problems.add(
            column.where,
            "the input expression is empty",
            "write the name of the inputData, decision or variable this input reads",
            code=MALFORMED,
        )
        return
    if "${" in text:
        problems.unsupported(
            column.where,
            f"the input expression '{text}' is JUEL (${{…}}), which",
            "write the name of an inputData, a required decision or a variable",
        )
        return
    if _SPACED_NAME.fullmatch(text) and not _VARIABLE.fullmatch(text):
        others = [n for n in names if n != decision.name]
        close = difflib.get_close_matches(text, others, n=1, cutoff=0.6)
        problems.add(
            column.where,
            f"the input expression '{text}' names no inputData or decision of the model",
            f"write the name of an inputData or required decision — did you mean '{close[0]}'?"
            if close
            else f"add an inputData named '{text}', or read an existing one",
            code="TV108",
        )
        return
    if not _VARIABLE.fullmatch(text):
        problems.unsupported(
            column.where,
            f"the input expression '{text}' is a FEEL expression, not a name; it",
            "read a plain name (an inputData, a required decision or a variable) and move "
            "the computation into the rules or another decision",
        )
        return
    close = difflib.get_close_matches(text, sorted(typed_inputs), n=1, cutoff=0.8)
    folded = [n for n in typed_inputs if n.casefold() == text.casefold()]
    if folded or close:
        problems.add(
            column.where,
            f"the input expression '{text}' names no inputData, but is close to inputData "
            f"'{(folded or close)[0]}'",
            f"write '{(folded or close)[0]}' exactly, with its spaces and capitals",
            code="TV108",
        )
        return
    column.source = text
    column.reads_input = True
    column.variable = True


# A variable name as Camunda input expressions give them: letters, digits, _ and $ (no
# spaces, no operators, no dots).
_VARIABLE = re.compile(r"[^\W\d][\w$]*")
# A FEEL name with spaces (DMN names may hold them), which a variable cannot.
_SPACED_NAME = re.compile(r"[^\W\d][\w?']*(?: [\w?']+)+")


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
                f"decision '{upstream.name}' has several outputs; an input reads one value",
                f"read one of its outputs: {listed}",
                code="TV108",
            )
            return None
        return names[0]
    if len(names) == 1 or component not in names:
        problems.add(
            column.where,
            f"decision '{upstream.name}' has no output '{component}'",
            "name one of its output clauses",
            code="TV108",
        )
        return None
    return component


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
                f"rule id '{raw.rule_id}' is used twice (also by {seen[raw.rule_id].cell})",
                "give each rule its own id",
                code="TV115",
            )
        seen.setdefault(raw.rule_id, raw.where)
        rules.append(_rule(raw, decision, types, problems))
    return Table(
        decision.name,
        decision.name,
        decision.hit_policy,
        decision.aggregation,
        tuple(InputColumn(c.source or "", c.where) for c in decision.columns),
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
        source: InputDef | OutputDef | None = None
        if column.source:
            source = inputs.get(column.source) if column.reads_input else None
            source = source or outputs.get(column.source)
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
        typed_literal(text, out.kind, out.allowed_values, at, problems, clause.type_ref)
        for (text, at), out, clause in zip(
            raw.outputs, decision.output_defs, decision.outputs, strict=False
        )
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
    """A column reading another decision's output: its typeRef, if stated, must be the
    output's, and its inputValues, if stated, must take every value the output lists."""
    is_list = ctype is not None and ctype.is_list
    if column.type is not None and column.type.base is not None and not is_list:
        expected = TYPE_REF[source.kind]
        if column.type.base != expected:
            problems.add(
                column.where,
                f"the input expression's typeRef '{column.type.base}' differs from the type "
                f"of output '{source.name}' ({expected})",
                "give them the same type",
                code="TV401",
            )
    if column.values and source.allowed_values:
        listed = problems.read_or_report(value_list, column.values, column.values_where, "TV118")
        if listed is None:
            return
        missing = [v for v in source.allowed_values if repr(v) not in set(map(repr, listed))]
        if missing:
            shown = ", ".join(format_value(v) for v in missing)
            problems.add(
                column.values_where,
                f"the inputValues leave out {shown}, which decision '{source.table}' may give "
                f"as '{source.name}' (its outputValues)",
                "list every value of the decision's outputValues, or leave inputValues out",
                code="TV401",
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
    column = decision.columns[index]
    if ctype is None:
        if column.variable:  # a variable without a type: say what its entries hold
            try:
                parse_condition(unary_tests(text))
            except FeelProblem as exc:
                problems.add(where, exc.message, exc.fix, code=exc.code)
            except CellSyntaxError as exc:
                problem = syntax_problem(text, exc)
                problems.add(where, problem.message, problem.fix, code=problem.code)
        return Cell(shown, AnyValue(), where)
    chained = not column.reads_input
    if ctype.is_list:
        parsed = list_test_text(text)
        if parsed is None:
            problems.add(
                where,
                f"'{text}' cannot test the list that '{column.expression}' holds (the result "
                "of a multi-hit decision)",
                'write list contains(?, "a"), several joined with or, not( … ) for none of '
                "them, or count(?) = 0 for an empty list",
                code="TV401",
            )
            return Cell(shown, AnyValue(), where)
    else:
        try:
            parsed = unary_tests(text)
        except FeelProblem as exc:
            problems.add(where, exc.message, exc.fix, code=exc.code)
            return Cell(shown, AnyValue(), where)
    try:
        condition = parse_condition(parsed)
    except CellSyntaxError as exc:
        problem = syntax_problem(text, exc)
        problems.add(where, problem.message, problem.fix, code=problem.code)
        return Cell(shown, AnyValue(), where)
    for found in type_problems(condition, ctype.kind, ctype.allowed, ctype.is_list):
        code = _type_code(found.kind, chained)
        fix = typeref_hint(found.fix, column.type_ref) if code == "TV202" else found.fix
        problems.add(where, _in_dmn_terms(found.message), _in_dmn_terms(fix), code=code)
    return Cell(shown, condition, where)


def _in_dmn_terms(text: str) -> str:
    """The cell checks' words (shared with workbooks) for a DMN entry: an input, not a
    column; no workbook example value."""
    text = text.replace("this column is", "this input is")
    return text.replace(', for example "focal"', "").replace("for example 'not(\"focal\")'", "")


def _type_code(kind: str, chained: bool) -> str:
    """The code of a problem :func:`engine.conditions.type_problems` found (its ``kind``): a
    range holding no value (TV206), a value outside the allowed ones (TV203), a value of the
    wrong type (TV202); TV401 when the column reads another decision, whose outputs give
    its type."""
    if kind == "empty":
        return "TV206"
    if chained:
        return "TV401"
    return "TV203" if kind == "allowed" else "TV202"
