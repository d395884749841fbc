"""The first pass over a decision: its XML read into raw clauses (input columns, output
clauses, rules with their entry texts and annotations), checked for structure only. The
entries are read, and the columns resolved, once every decision has been seen
(:mod:`engine.dmn.outputs`, :mod:`engine.dmn.decision_tables`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import (
    MALFORMED,
    UNSUPPORTED,
    DmnLocation,
    Problems,
    dmn_name,
    feel_text,
    label,
    local_name,
    rule_label,
)
from engine.hitpolicy import returns_list
from engine.model import Aggregation, HitPolicy, OutputDef
from engine.tables import HIT_POLICIES, MAX_INPUT_COLUMNS, MAX_RULES, output_count_problem

# Elements of a decision that only document it: read past without effect.
_DOCUMENTATION = {
    "description",
    "extensionElements",
    "question",
    "allowedAnswers",
    "authorityRequirement",
    "supportedObjective",
    "impactedPerformanceIndicator",
    "decisionMaker",
    "decisionOwner",
    "usingProcess",
    "usingTask",
}
# Boxed expressions a decision's logic may be instead of a decision table, as messages name
# them.
_EXPRESSIONS = {
    "literalExpression": "a literal expression (FEEL)",
    "context": "a context (boxed context)",
    "invocation": "an invocation of a business knowledge model",
    "relation": "a relation (boxed relation)",
    "list": "a boxed list",
    "functionDefinition": "a function definition",
    "conditional": "a boxed conditional (if-then-else)",
    "filter": "a boxed filter",
    "for": "a boxed for loop",
    "every": "a boxed every",
    "some": "a boxed some",
}
_ANNOTATION_ROLES = {
    "rule id": "id",
    "id": "id",
    "citation": "citation",
    "source": "citation",
    "reference": "citation",
    "note": "note",
    "notes": "note",
}


@dataclass
class RawColumn:
    index: int
    element: Element
    where: DmnLocation
    expression: str
    type: DmnType | None
    values: str | None  # the inputValues text
    values_where: DmnLocation
    name: str = ""  # how messages name the clause: its label, else its expression
    source: str | None = None  # the model name it reads (an input or an output), once resolved
    reads_input: bool = False  # the source is an input (an inputData, or a variable)
    variable: bool = False  # the source is a variable no inputData declares (Camunda style)
    type_ref: str | None = None  # the inputExpression's typeRef, as written
    foreign: bool = False  # the expression is in another language (refused as such)


@dataclass
class RawOutput:
    element: Element
    name: str
    where: DmnLocation
    type: DmnType | None
    values: str | None
    values_where: DmnLocation
    default: str | None
    default_where: DmnLocation
    type_ref: str | None = None  # the typeRef that gave the output its type, as written


@dataclass
class RawRule:
    number: int  # 1-based position
    rule_id: str
    where: DmnLocation
    inputs: list[tuple[str, DmnLocation]]
    outputs: list[tuple[str, DmnLocation]]
    citation: str = ""
    note: str = ""


@dataclass
class RawDecision:
    element: Element
    name: str
    where: str  # "decision 'name'"
    table: Element | None = None
    table_where: DmnLocation | None = None
    hit_policy: HitPolicy = HitPolicy.UNIQUE
    aggregation: Aggregation | None = None
    columns: list[RawColumn] = field(default_factory=list)
    outputs: list[RawOutput] = field(default_factory=list)
    rules: list[RawRule] = field(default_factory=list)
    requires: set[str] = field(default_factory=set)  # ids of required inputData / decisions
    required_decisions: list[str] = field(default_factory=list)  # ids, in order
    output_defs: list[OutputDef] = field(default_factory=list)  # set by engine.dmn.outputs
    description: str = ""

    @property
    def returns_list(self) -> bool:
        return returns_list(self.hit_policy, self.aggregation)


def read_decision(decision: RawDecision, types: TypeResolver, problems: Problems) -> None:
    """Fill in ``decision`` from its element: requirements, and the decision table's clauses
    and rules. Logic that is not a decision table is reported."""
    el = decision.element
    logic: list[Element] = []
    for child in el:
        local = local_name(child)
        if local == "variable":
            continue
        if local == "description":
            decision.description = (child.text or "").strip()
        elif local == "informationRequirement":
            _read_requirement(decision, child, problems)
        elif local == "knowledgeRequirement":
            problems.unsupported(
                DmnLocation(decision.where, label(child)),
                "a knowledge requirement (a call of a business knowledge model, a function)",
                "write the logic as a decision table in this decision",
            )
        elif local in _DOCUMENTATION:
            continue
        elif local == "decisionTable" or local in _EXPRESSIONS:
            logic.append(child)
        else:
            problems.add(
                DmnLocation(decision.where, label(child)),
                f"element <{local}> in a decision is not supported",
                "keep the decision table and its requirements",
                code=UNSUPPORTED,
            )
    if not logic:
        problems.add(
            DmnLocation(decision.where, None),
            "the decision has no decision logic",
            "give it a decision table",
            code=UNSUPPORTED,
        )
        return
    table = logic[0]
    if local_name(table) != "decisionTable":
        problems.unsupported(
            DmnLocation(decision.where, label(table, local_name(table))),
            f"the decision's logic, {_EXPRESSIONS[local_name(table)]},",
            "write the logic as a decision table",
        )
        return
    decision.table = table
    decision.table_where = DmnLocation(decision.where, label(table, "decisionTable"))
    _read_table(decision, table, types, problems)


def _read_requirement(decision: RawDecision, requirement: Element, problems: Problems) -> None:
    for child in requirement:
        local = local_name(child)
        where = DmnLocation(decision.where, label(requirement, "informationRequirement"))
        if local not in ("requiredInput", "requiredDecision"):
            if local not in ("description", "extensionElements"):
                problems.add(
                    where,
                    f"<{local}> in an informationRequirement is not supported",
                    "require an inputData (requiredInput) or a decision (requiredDecision)",
                    code=UNSUPPORTED,
                )
            continue
        href = child.get("href", "")
        if not href.startswith("#"):
            problems.unsupported(
                where,
                f"the requirement '{href}', which points into another model,",
                'refer to an element of this model as href="#id"',
            )
            continue
        decision.requires.add(href[1:])
        if local == "requiredDecision" and href[1:] not in decision.required_decisions:
            decision.required_decisions.append(href[1:])


def _read_table(
    decision: RawDecision, table: Element, types: TypeResolver, problems: Problems
) -> None:
    where = decision.table_where
    assert where is not None
    problems.check_language(table, where)
    _read_hit_policy(decision, table, where, problems)
    annotations: list[str] = []
    for child in table:
        local = local_name(child)
        if local == "input":
            _read_column(decision, child, types, problems)
        elif local == "output":
            _read_output(decision, child, types, problems)
        elif local == "annotation":
            annotations.append(dmn_name(child.get("name")))
        elif local == "rule":
            _read_rule(decision, child, annotations, problems)
        elif local not in ("description", "extensionElements"):
            problems.add(
                DmnLocation(decision.where, label(child)),
                f"element <{local}> in a decision table is not supported",
                "keep inputs, outputs, annotations and rules",
                code=UNSUPPORTED,
            )
    if not decision.outputs:
        problems.add(
            where, "the decision table has no output", "add an output clause", code="TV110"
        )
    if problem := output_count_problem(decision.aggregation, len(decision.outputs)):
        message, fix = (p.replace("output column", "output clause") for p in problem)
        problems.add(where, message, fix, code="TV113")
    if len(decision.columns) > MAX_INPUT_COLUMNS:
        problems.add(
            where,
            f"more than {MAX_INPUT_COLUMNS} inputs",
            "split the decision into chained decisions",
            code="TV116",
        )
    if len(decision.rules) > MAX_RULES:
        problems.add(where, f"more than {MAX_RULES} rules", "split the decision", code="TV116")


def _read_hit_policy(
    decision: RawDecision, table: Element, where: DmnLocation, problems: Problems
) -> None:
    policy_text = " ".join(table.get("hitPolicy", "UNIQUE").upper().replace("_", " ").split())
    aggregation = table.get("aggregation")
    key = policy_text + (f" {aggregation.strip().upper()}" if aggregation else "")
    policy = HIT_POLICIES.get(key) if len(key) > 2 else None  # not the letters U, C+ …
    if policy is None:
        fix = "use UNIQUE, ANY, PRIORITY, FIRST, COLLECT (with aggregation SUM, MIN, MAX or "
        fix += "COUNT), RULE ORDER or OUTPUT ORDER"
        shown = policy_text + (f" with aggregation {aggregation}" if aggregation else "")
        problems.add(where, f"unknown hit policy '{shown}'", fix, code="TV113")
    else:
        decision.hit_policy, decision.aggregation = policy


def _read_column(
    decision: RawDecision, el: Element, types: TypeResolver, problems: Problems
) -> None:
    index = len(decision.columns)
    expression: Element | None = None
    values: str | None = None
    values_el: Element | None = None
    for child in el:
        local = local_name(child)
        if local == "inputExpression":
            expression = child
        elif local == "inputValues":
            values, values_el = feel_text(child), child
    text = dmn_name(feel_text(expression)) if expression is not None else ""
    name = dmn_name(el.get("label")) or text or f"#{index + 1}"
    where = DmnLocation(decision.where, f"input '{name}'")
    values_where = DmnLocation(decision.where, f"inputValues of input '{name}'")
    for child in el:
        local = local_name(child)
        if local not in ("inputExpression", "inputValues", "description", "extensionElements"):
            problems.add(
                where,
                f"element <{local}> in an input clause is not supported",
                "keep its inputExpression and inputValues",
                code=UNSUPPORTED,
            )
    if values_el is not None:
        problems.check_language(values_el, values_where)
    ctype = None
    type_ref = None
    if expression is None:
        problems.add(
            where,
            "the input clause has no inputExpression",
            "add an inputExpression naming the inputData or decision it reads",
            code=MALFORMED,
        )
    else:
        language = expression.get("expressionLanguage")
        problems.check_language(expression, where)
        if language and "feel" not in language.lower():
            text = ""  # refused with its language: not read as FEEL as well
        type_ref = expression.get("typeRef")
        ctype = types.resolve(type_ref, where)
    column = RawColumn(index, el, where, text, ctype, values, values_where, name)
    column.type_ref = type_ref
    column.foreign = expression is not None and not text and bool(feel_text(expression))
    decision.columns.append(column)


def _read_output(
    decision: RawDecision, el: Element, types: TypeResolver, problems: Problems
) -> None:
    position = len(decision.outputs) + 1
    name = dmn_name(el.get("name"))
    shown = name or dmn_name(el.get("label")) or (decision.name if position == 1 else "")
    shown = shown or f"#{position}"
    where = DmnLocation(decision.where, f"output '{shown}'")
    values = default = None
    values_where = DmnLocation(decision.where, f"outputValues of output '{shown}'")
    default_where = DmnLocation(decision.where, f"defaultOutputEntry of output '{shown}'")
    for child in el:
        local = local_name(child)
        if local == "outputValues":
            values = feel_text(child)
            problems.check_language(child, values_where)
        elif local == "defaultOutputEntry":
            default = feel_text(child)
            problems.check_language(child, default_where)
            if not default:
                default = None  # an empty default states no value: as if it were left out
        elif local not in ("description", "extensionElements"):
            problems.add(
                where,
                f"element <{local}> in an output clause is not supported",
                "keep its outputValues and defaultOutputEntry",
                code=UNSUPPORTED,
            )
    ctype = types.resolve(el.get("typeRef"), where)
    decision.outputs.append(
        RawOutput(
            el, name, where, ctype, values, values_where, default, default_where, el.get("typeRef")
        )
    )


def _read_rule(
    decision: RawDecision, el: Element, annotations: list[str], problems: Problems
) -> None:
    number = len(decision.rules) + 1
    ident = el.get("id", "")
    rule = rule_label(ident, number)
    where = DmnLocation(decision.where, rule)
    raw = RawRule(number, ident or f"R{number}", where, [], [])
    notes: list[str] = []
    annotation_index = 0
    for child in el:
        local = local_name(child)
        text = feel_text(child)
        if local == "inputEntry":
            clause = _clause_name(decision.columns, len(raw.inputs), "input")
            cell_where = DmnLocation(decision.where, f"{rule}, {clause}")
            problems.check_language(child, cell_where)
            raw.inputs.append(("-" if text is None else text, cell_where))
        elif local == "outputEntry":
            clause = _clause_name(decision.outputs, len(raw.outputs), "output")
            cell_where = DmnLocation(decision.where, f"{rule}, {clause}")
            problems.check_language(child, cell_where)
            raw.outputs.append((text or "null", cell_where))  # empty: null, as Camunda reads it
        elif local == "annotationEntry":
            name = annotations[annotation_index] if annotation_index < len(annotations) else ""
            annotation_index += 1
            _annotate(raw, name, text or "", notes)
        elif local == "description":
            if child.text and child.text.strip():
                notes.append(child.text.strip())
        elif local != "extensionElements":
            problems.add(
                where,
                f"element <{local}> in a rule is not supported",
                "keep its inputEntry, outputEntry and annotationEntry elements",
                code=UNSUPPORTED,
            )
    raw.note = "; ".join(n for n in notes if n)
    if len(raw.inputs) != len(decision.columns):
        problems.add(
            where,
            f"the rule has {len(raw.inputs)} input entries for {len(decision.columns)} inputs",
            "give the rule one inputEntry per input clause (- for any value)",
            code=MALFORMED,
        )
    if len(raw.outputs) != len(decision.outputs):
        problems.add(
            where,
            f"the rule has {len(raw.outputs)} output entries for {len(decision.outputs)} outputs",
            "give the rule one outputEntry per output clause",
            code=MALFORMED,
        )
    decision.rules.append(raw)


def _clause_name(clauses: list[RawColumn] | list[RawOutput], index: int, kind: str) -> str:
    """How an entry's clause is named: ``input 'Age'``, ``output 'Status'``."""
    if index < len(clauses):
        where = clauses[index].where.cell
        if where:
            return where
    return f"{kind} #{index + 1}"


def _annotate(rule: RawRule, name: str, value: str, notes: list[str]) -> None:
    """An annotation entry under the column ``name``: the rule id, the citation, or a note
    (other columns become notes headed by their name)."""
    role = _ANNOTATION_ROLES.get(name.lower(), "")
    if role == "id" and value:
        rule.rule_id = value
    elif role == "citation":
        rule.citation = value
    elif role == "note" or not name:
        notes.append(value)
    elif value:
        notes.append(f"{name}: {value}")
