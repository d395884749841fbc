"""Model -> DMN 1.3 XML.

An ``inputData`` per input (with an ``itemDefinition`` carrying its allowed values or range),
a ``decision`` with a ``decisionTable`` per table, ``informationRequirement`` links for
chaining, ``inputValues``/``outputValues``, ``defaultOutputEntry``, the hit policy and
aggregation, and rule annotations *Rule id*, *Citation* and *Note*. What DMN cannot say (the
About fields, units, required inputs, integer inputs) travels in ``extensionElements`` in
the namespace :data:`EXTENSION_NAMESPACE`, which other DMN tools ignore and
:mod:`engine.dmn.reader` reads back.

Entries are written in canonical FEEL (:mod:`engine.dmn.entries`): numbers without exponents,
``not(x)`` for a lone ``!= x``, ``list contains(?, x)`` for a column holding the list a
multi-hit table returns.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from engine.dmn.entries import feel_condition, feel_list, feel_literal
from engine.dmn.typerefs import TYPE_REF
from engine.dmn.xml import EXTENSION_NAMESPACE
from engine.errors import Problem, WorkbookError
from engine.model import Aggregation, InputDef, Kind, Model, OutputDef, Rule, Table

DMN13_NAMESPACE = "https://www.omg.org/spec/DMN/20191111/MODEL/"
FEEL13_NAMESPACE = "https://www.omg.org/spec/DMN/20191111/FEEL/"


def model_to_dmn(model: Model) -> bytes:
    """The model as DMN 1.3 XML (UTF-8). Raises :class:`WorkbookError` when a name cannot
    be carried over (DMN needs every input and decision to have its own name)."""
    _check_names(model)
    return _DmnWriter(model).write()


def _check_names(model: Model) -> None:
    problems: list[Problem] = []
    inputs = {i.name for i in model.inputs}
    for table in model.tables:
        if table.name in inputs:
            problems.append(
                Problem(
                    table.location,
                    f"table '{table.name}' has the name of an input, and DMN needs every "
                    "input and decision to have its own name",
                    "rename the table",
                    "TV109",
                )
            )
    if problems:
        raise WorkbookError(problems, model.source)


class _Ids:
    """Unique XML ids (NCNames) made from names."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, prefix: str, name: str) -> str:
        base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
        ident, n = base, 1
        while ident in self.used:
            n += 1
            ident = f"{base}_{n}"
        self.used.add(ident)
        return ident


class _DmnWriter:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.ids = _Ids()
        self.input_ids: dict[str, str] = {}
        self.input_types: dict[str, str] = {}
        self.constraints: dict[str, str] = {}  # input name -> allowed values as FEEL
        self.producer = {o.name: t for t in model.tables for o in t.outputs}
        self.decision_ids = {t.name: self.ids("decision", t.name) for t in model.tables}
        self.list_outputs = {o.name for t in model.tables if t.returns_list for o in t.outputs}

    # -- elements

    def el(self, parent: ET.Element | None, tag: str, **attrs: str | None) -> ET.Element:
        """A DMN element (attributes that are ``None`` are left out)."""
        qname = f"{{{DMN13_NAMESPACE}}}{tag}"
        clean = {k: v for k, v in attrs.items() if v is not None}
        return ET.Element(qname, clean) if parent is None else ET.SubElement(parent, qname, clean)

    def text_child(self, parent: ET.Element, tag: str, text: str, **attrs: str | None) -> None:
        self.el(self.el(parent, tag, **attrs), "text").text = text

    def extension(self, parent: ET.Element, tag: str, attrs: dict[str, str]) -> None:
        """What DMN cannot say, in ``extensionElements`` under :data:`EXTENSION_NAMESPACE`."""
        ET.SubElement(
            self.el(parent, "extensionElements"), f"{{{EXTENSION_NAMESPACE}}}{tag}", attrs
        )

    # -- the document

    def write(self) -> bytes:
        ET.register_namespace("", DMN13_NAMESPACE)
        ET.register_namespace("triage", EXTENSION_NAMESPACE)
        about = self.model.about
        root = self.el(
            None,
            "definitions",
            id=self.ids("definitions", about.table_id or "model"),
            name=about.title or about.table_id or "model",
            namespace=f"urn:triage-rules:{about.table_id or 'model'}",
            expressionLanguage=FEEL13_NAMESPACE,
            typeLanguage=FEEL13_NAMESPACE,
            exporter="triage-rules",
        )
        if about.description:
            self.el(root, "description").text = about.description
        self.extension(
            root,
            "about",
            {
                "tableId": about.table_id,
                "title": about.title,
                "version": about.version,
                "owner": about.owner,
                "clinicalReviewer": about.clinical_reviewer,
                "reviewDate": about.review_date,
                # optional: written only where the table sets them, as the About sheet does
                **({"cdsHook": about.cds_hook} if about.cds_hook else {}),
                **({"cardIndicators": about.card_indicators} if about.card_indicators else {}),
            },
        )
        for item in self.model.inputs:
            self.item_definition(root, item)
        for item in self.model.inputs:
            self.input_data(root, item)
        for table in self.model.tables:
            self.decision(root, table)
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()

    # -- inputs

    def item_definition(self, root: ET.Element, item: InputDef) -> None:
        constraint = _input_constraint(item)
        if constraint is None:
            self.input_types[item.name] = TYPE_REF[item.kind]
            return
        self.constraints[item.name] = constraint
        type_name = self.ids("t", item.name)
        self.input_types[item.name] = type_name
        definition = self.el(root, "itemDefinition", id=type_name, name=type_name)
        self.el(definition, "typeRef").text = TYPE_REF[item.kind]
        self.text_child(definition, "allowedValues", constraint)

    def input_data(self, root: ET.Element, item: InputDef) -> None:
        ident = self.ids("inputData", item.name)
        self.input_ids[item.name] = ident
        node = self.el(root, "inputData", id=ident, name=item.name)
        if item.description:
            self.el(node, "description").text = item.description
        self.extension(
            node,
            "input",
            {
                "type": item.kind.value,
                "unit": item.unit,
                "required": "yes" if item.required else "no",
            },
        )
        self.el(
            node,
            "variable",
            id=self.ids("variable", item.name),
            name=item.name,
            typeRef=self.input_types[item.name],
        )

    # -- decisions

    def decision(self, root: ET.Element, table: Table) -> None:
        ident = self.decision_ids[table.name]
        node = self.el(root, "decision", id=ident, name=table.name)
        if table.description:
            self.el(node, "description").text = table.description
        variable_type = None
        if len(table.outputs) == 1 and (
            table.hit_policy.single_hit or table.aggregation is not None
        ):
            kind = Kind.NUMBER if table.aggregation is Aggregation.COUNT else table.outputs[0].kind
            variable_type = TYPE_REF[kind]
        self.el(
            node,
            "variable",
            id=self.ids("variable", table.name),
            name=table.name,
            typeRef=variable_type,
        )
        self.requirements(node, ident, table)
        dt = self.el(
            node,
            "decisionTable",
            id=self.ids("decisionTable", table.name),
            hitPolicy=table.hit_policy.value,
            aggregation=table.aggregation.value if table.aggregation else None,
            outputLabel=table.name,
        )
        for index, column in enumerate(table.inputs):
            self.input_clause(dt, table, index, column.name)
        for index, output in enumerate(table.outputs):
            self.output_clause(dt, table, index, output)
        for name in ("Rule id", "Citation", "Note"):
            self.el(dt, "annotation", name=name)
        for rule in table.rules:
            self.rule(dt, table, rule)

    def requirements(self, node: ET.Element, ident: str, table: Table) -> None:
        """One informationRequirement per input or upstream decision the table reads."""
        required: dict[str, tuple[str, str]] = {}
        for column in table.inputs:
            if column.name in self.input_ids:
                required.setdefault(column.name, ("requiredInput", self.input_ids[column.name]))
            else:
                upstream = self.producer[column.name].name
                required.setdefault(upstream, ("requiredDecision", self.decision_ids[upstream]))
        for tag, target in required.values():
            requirement = self.el(
                node, "informationRequirement", id=self.ids("requirement", f"{ident}_{target}")
            )
            self.el(requirement, tag, href=f"#{target}")

    def input_clause(self, dt: ET.Element, table: Table, index: int, name: str) -> None:
        clause = self.el(dt, "input", id=self.ids("input", f"{table.name}_{index + 1}"), label=name)
        source: InputDef | OutputDef | None = self.model.input(name)
        type_ref: str | None
        if source is not None:
            expression, type_ref = name, TYPE_REF[source.kind]
        else:
            upstream = self.producer[name]
            source = self.model.output(name)
            assert source is not None
            single = len(upstream.outputs) == 1
            expression = upstream.name if single else f"{upstream.name}.{name}"
            type_ref = None if name in self.list_outputs else TYPE_REF[source.kind]
        expr = self.el(
            clause,
            "inputExpression",
            id=self.ids("inputExpression", f"{table.name}_{index + 1}"),
            typeRef=type_ref,
        )
        self.el(expr, "text").text = expression
        if name in self.constraints:
            self.text_child(clause, "inputValues", self.constraints[name])

    def output_clause(self, dt: ET.Element, table: Table, index: int, output: OutputDef) -> None:
        clause = self.el(
            dt,
            "output",
            id=self.ids("output", f"{table.name}_{index + 1}"),
            name=output.name,
            typeRef=TYPE_REF[output.kind],
        )
        if output.allowed_values:
            self.text_child(clause, "outputValues", feel_list(output.allowed_values))
        if output.has_default:
            self.text_child(clause, "defaultOutputEntry", feel_literal(output.default))

    def rule(self, dt: ET.Element, table: Table, rule: Rule) -> None:
        rule_id = self.ids("rule", f"{table.name}_{rule.index + 1}")
        rule_node = self.el(dt, "rule", id=rule_id)
        for n, (column, cell) in enumerate(zip(table.inputs, rule.cells, strict=True)):
            text = feel_condition(cell.condition, column.name in self.list_outputs)
            self.text_child(rule_node, "inputEntry", text, id=f"{rule_id}_i{n + 1}")
        for n, value in enumerate(rule.outputs):
            self.text_child(rule_node, "outputEntry", feel_literal(value), id=f"{rule_id}_o{n + 1}")
        for text in (rule.rule_id, rule.citation, rule.note):
            self.text_child(rule_node, "annotationEntry", text)


def _input_constraint(item: InputDef) -> str | None:
    """An input's allowed values or range as FEEL unary tests; ``None`` if it has neither."""
    if item.kind is Kind.ENUM and item.allowed_values:
        return feel_list(item.allowed_values)
    if item.value_range is not None:
        return feel_condition(item.value_range)
    return None
