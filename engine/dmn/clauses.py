"""The first pass over a decision: its XML read into raw clauses (input columns, output
clauses, rules with their entry texts and annotations), checked for structure only. The
entries are read, and the columns resolved, once every decision has been seen
(:mod:`engine.dmn.outputs`, :mod:`engine.dmn.decision_tables`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from engine.dmn.typerefs import DmnType, TypeResolver
from engine.dmn.xml import DmnLocation, Problems, dmn_name, feel_text, label, local_name
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
_EXPRESSIONS = {
    "literalExpression",
    "context",
    "invocation",
    "relation",
    "list",
    "functionDefinition",
    "conditional",
    "filter",
    "for",
    "every",
    "some",
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
    source: str | None = None  # the model name it reads (an input or an output), once resolved
    reads_input: bool = False  # the source is an inputData


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
                "business knowledge models cannot be compiled to rules",
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
            )
    if not logic:
        problems.add(
            DmnLocation(decision.where, label(el)),
            "the decision has no decision logic",
            "give it a decision table",
        )
        return
    table = logic[0]
    if local_name(table) != "decisionTable":
        problems.unsupported(
            DmnLocation(decision.where, label(table)),
            f"the decision's logic is a {local_name(table)}, and only decision tables can be "
            "compiled to rules",
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
                problems.add(where, f"<{local}> in an informationRequirement is not supported")
            continue
        href = child.get("href", "")
        if not href.startswith("#"):
            problems.add(
                where,
                f"the requirement '{href}' points outside this file",
                'refer to an element of this model as href="#id"',
            )
            continue
        decision.requires.add(href[1:])


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
            )
    if not decision.outputs:
        problems.add(where, "the decision table has no output", "add an output clause")
    if problem := output_count_problem(decision.aggregation, len(decision.outputs)):
        problems.add(where, *problem)
    if len(decision.columns) > MAX_INPUT_COLUMNS:
        problems.add(
            where,
            f"more than {MAX_INPUT_COLUMNS} inputs",
            "split the decision into chained decisions",
        )
    if len(decision.rules) > MAX_RULES:
        problems.add(where, f"more than {MAX_RULES} rules", "split the decision")


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
        problems.add(where, f"unknown hit policy '{shown}'", fix)
    else:
        decision.hit_policy, decision.aggregation = policy


def _read_column(
    decision: RawDecision, el: Element, types: TypeResolver, problems: Problems
) -> None:
    index = len(decision.columns)
    where = DmnLocation(decision.where, label(el, f"input {index + 1}"))
    expression: Element | None = None
    values: str | None = None
    values_where = where
    for child in el:
        local = local_name(child)
        if local == "inputExpression":
            expression = child
        elif local == "inputValues":
            values = feel_text(child)
            values_where = DmnLocation(decision.where, label(child, f"inputValues of {where.cell}"))
            problems.check_language(child, values_where)
        elif local not in ("description", "extensionElements"):
            problems.add(where, f"element <{local}> in an input clause is not supported")
    if expression is None:
        problems.add(where, "the input has no inputExpression", "add one naming an input")
        text = ""
        ctype = None
    else:
        problems.check_language(expression, where)
        found = feel_text(expression)
        text = found or ""
        if found is None:
            problems.add(
                where,
                "the inputExpression has no <text>",
                "write the name of an inputData or a required decision",
            )
        ctype = types.resolve(expression.get("typeRef"), where)
    column = RawColumn(index, el, where, dmn_name(text), ctype, values, values_where)
    decision.columns.append(column)


def _read_output(
    decision: RawDecision, el: Element, types: TypeResolver, problems: Problems
) -> None:
    position = len(decision.outputs) + 1
    name = dmn_name(el.get("name"))
    where = DmnLocation(
        decision.where, label(el, f"output '{name}'" if name else f"output {position}")
    )
    values = default = None
    values_where = default_where = where
    for child in el:
        local = local_name(child)
        if local == "outputValues":
            values = feel_text(child)
            values_where = DmnLocation(
                decision.where, label(child, f"outputValues of {where.cell}")
            )
            problems.check_language(child, values_where)
        elif local == "defaultOutputEntry":
            default = feel_text(child)
            default_where = DmnLocation(
                decision.where, label(child, f"defaultOutputEntry of {where.cell}")
            )
            problems.check_language(child, default_where)
            if default is None:
                problems.add(default_where, "the defaultOutputEntry has no <text>")
        elif local not in ("description", "extensionElements"):
            problems.add(where, f"element <{local}> in an output clause is not supported")
    ctype = types.resolve(el.get("typeRef"), where)
    decision.outputs.append(
        RawOutput(el, name, where, ctype, values, values_where, default, default_where)
    )


def _read_rule(
    decision: RawDecision, el: Element, annotations: list[str], problems: Problems
) -> None:
    number = len(decision.rules) + 1
    ident = el.get("id", "")
    where = DmnLocation(decision.where, f"rule '{ident}' ({number})" if ident else f"rule {number}")
    rule = RawRule(number, ident or f"R{number}", where, [], [])
    notes: list[str] = []
    annotation_index = 0
    for child in el:
        local = local_name(child)
        text = feel_text(child)
        if local == "inputEntry":
            cell = label(child, f"inputEntry {len(rule.inputs) + 1}")
            cell_where = DmnLocation(decision.where, f"{cell} (rule {number})")
            problems.check_language(child, cell_where)
            rule.inputs.append(("-" if text is None else text, cell_where))
        elif local == "outputEntry":
            cell = label(child, f"outputEntry {len(rule.outputs) + 1}")
            cell_where = DmnLocation(decision.where, f"{cell} (rule {number})")
            problems.check_language(child, cell_where)
            if text is None:
                problems.add(cell_where, "the outputEntry has no <text>", "write a value")
            rule.outputs.append((text or "null", cell_where))
        elif local == "annotationEntry":
            name = annotations[annotation_index] if annotation_index < len(annotations) else ""
            annotation_index += 1
            _annotate(rule, name, text or "", notes)
        elif local == "description":
            if child.text and child.text.strip():
                notes.append(child.text.strip())
        elif local != "extensionElements":
            problems.add(where, f"element <{local}> in a rule is not supported")
    rule.note = "; ".join(n for n in notes if n)
    if len(rule.inputs) != len(decision.columns):
        problems.add(
            where,
            f"the rule has {len(rule.inputs)} input entries for {len(decision.columns)} inputs",
            "give the rule one inputEntry per input (- for any value)",
        )
    if len(rule.outputs) != len(decision.outputs):
        problems.add(
            where,
            f"the rule has {len(rule.outputs)} output entries for {len(decision.outputs)} outputs",
            "give the rule one outputEntry per output",
        )
    decision.rules.append(rule)


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
