"""Reading a DMN file (DMN 1.2 to 1.5, XML) into the same :class:`~engine.model.Model` as a
workbook, so that it compiles to durable-rules and evaluates exactly like one.

The supported subset (``docs/dmn.md`` has the full table):

* ``inputData`` with a ``typeRef`` of ``number``, ``string`` or ``boolean`` (any namespace
  prefix, such as ``feel:number``), or an ``itemDefinition`` built on one of them, whose
  ``allowedValues`` become the input's allowed values (a text input) or range (a number);
* ``decision`` elements whose logic is a ``decisionTable`` with any hit policy and
  aggregation; input expressions that are the plain name of an ``inputData`` or of a
  required decision (``Decision.Component`` for one output of a multi-output decision);
  ``inputValues``, ``outputValues`` (their order is the priority order), ``defaultOutputEntry``
  and rule annotations (``annotationEntry``: *Citation*, *Note*, *Rule id*);
* input entries that are DMN unary tests the workbook cell parser reads, output entries that
  are literals (text in quotes, a number, ``true``, ``false``, ``null``).

Anything else — a literal-expression decision, a business knowledge model, a context, an
input expression that is not a plain name, FEEL the cell parser cannot read — is reported as
a :class:`~engine.errors.WorkbookError` problem naming the element and its id; nothing is
skipped silently. Elements that only document a model (the diagram, text annotations,
knowledge sources, authority requirements) are ignored.

DMN names (``Approval Status``) are kept as the model's table, input and output names, so a
decision's result is ``Decision.outputs["Approval Status"]``. The XML is parsed with
defusedxml: no DTD, no entity expansion, no external reference.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from engine.builder import did_you_mean, order_tables, read_range, register_output
from engine.conditions import (
    AnyOf,
    AnyValue,
    CellSyntaxError,
    Condition,
    Equals,
    IsNull,
    Value,
    format_value,
    parse_condition,
    type_problems,
)
from engine.errors import Location, Problem, UnreadableFile, WorkbookError
from engine.model import (
    About,
    Aggregation,
    Cell,
    HitPolicy,
    InputColumn,
    InputDef,
    Kind,
    Model,
    OutputDef,
    Rule,
    Table,
)
from engine.tables import (
    HIT_POLICIES,
    MAX_INPUT_COLUMNS,
    MAX_RULES,
    ColumnType,
    column_type,
    kind_of,
    output_count_problem,
    output_kind_problem,
)
from engine.values import ValueProblem, choices, read_typed

# Any OMG DMN model namespace: 1.1 (…/20151101/dmn.xsd), 1.2 (…/20180521/MODEL/),
# 1.3 (…/20191111/MODEL/), 1.4 (…/20211108/MODEL/), 1.5 (…/20230324/MODEL/) and later ones.
DMN_NAMESPACE = re.compile(r"https?://www\.omg\.org/spec/DMN/\d{8}/(?:MODEL/?|dmn\.xsd)\Z")
# Details a workbook has and DMN has not (About fields, units, required, integer) travel in
# extensionElements under this namespace; see engine.convert.
EXTENSION_NAMESPACE = "urn:triage-rules:dmn-extension:1"
BUILTIN_TYPES = ("number", "string", "boolean")
MAX_DMN_BYTES = 100 * 2**20  # far above any real model; nothing larger is read

# Elements that only document a model: read past without effect.
_DOCUMENTATION = {
    "definitions": {
        "description",
        "extensionElements",
        "DMNDI",
        "textAnnotation",
        "association",
        "knowledgeSource",
        "group",
        "performanceIndicator",
        "organizationUnit",
    },
    "decision": {
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
    },
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


class DmnLocation(Location):
    """Where in a DMN file: ``sheet`` names the DRG element (``decision 'Approval Status'``),
    ``cell`` the element inside it and its id (``inputEntry '_7f03-0' (rule 1, input 'Age')``)."""

    def __str__(self) -> str:
        return f"{self.sheet}, {self.cell}" if self.cell else self.sheet


# --- entry points --------------------------------------------------------------------------


def read_dmn_file(path: str | Path) -> Model:
    """Read and check a ``.dmn`` file; the model is not compiled yet (``engine.load`` does)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile([Problem(None, "file not found", "check the path")], str(path))
    try:
        if path.stat().st_size > MAX_DMN_BYTES:
            raise UnreadableFile(
                [
                    Problem(
                        None,
                        f"the file is too large ({path.stat().st_size / 2**20:,.0f} MB)",
                        f"keep it under {MAX_DMN_BYTES // 2**20} MB",
                    )
                ],
                str(path),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(
            [Problem(None, f"the file cannot be read ({exc.strerror})", "check its permissions")],
            str(path),
        ) from exc
    return read_dmn(data, str(path), hashlib.sha256(data).hexdigest()[:16])


def read_dmn(data: bytes, source: str = "<dmn>", version: str = "") -> Model:
    """Read DMN XML into a checked model. Raises :class:`UnreadableFile` when ``data`` is not
    a DMN model and :class:`WorkbookError` listing every problem otherwise."""
    root = parse_xml(data, source)
    if _local(root) != "definitions" or not DMN_NAMESPACE.match(_ns(root)):
        found = f"<{_local(root)}>" + (f" in namespace {_ns(root)}" if _ns(root) else "")
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"this is not a DMN model (the document is {found})",
                    "give a DMN 1.2 to 1.5 file whose root is <definitions> in an OMG DMN "
                    "namespace",
                )
            ],
            source,
        )
    version = version or hashlib.sha256(data).hexdigest()[:16]
    return _Reader(root, source).model(version)


def parse_xml(data: bytes, source: str) -> Element:
    """Parse XML safely: a DTD, an entity or an external reference is refused."""
    try:
        return SafeElementTree.fromstring(data, forbid_dtd=True)  # type: ignore[no-any-return]
    except DefusedXmlException as exc:
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the XML uses a DTD or entities, which are refused for safety ({exc})",
                    "remove the <!DOCTYPE …> declaration",
                )
            ],
            source,
        ) from exc
    except ParseError as exc:
        raise UnreadableFile(
            [Problem(None, f"this is not well-formed XML ({exc})", "save the file as DMN XML")],
            source,
        ) from exc


def snake_case(name: str) -> str:
    """A workbook name for a DMN name: ``Approval Status`` -> ``approval_status``,
    ``isAffordable`` -> ``is_affordable``, ``0004-table`` -> ``x_0004_table``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if not snake:
        return "x"
    return snake if snake[0].isalpha() else "x_" + snake


# --- XML helpers ---------------------------------------------------------------------------


def _local(el: Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(el: Element) -> str:
    tag = el.tag
    return tag[1 : tag.index("}")] if isinstance(tag, str) and tag.startswith("{") else ""


def _text_of(el: Element | None) -> str | None:
    """The ``<text>`` child of an element (``None`` when it has none)."""
    if el is None:
        return None
    for child in el:
        if _local(child) == "text":
            return (child.text or "").strip()
    return None


def _name(text: str | None) -> str:
    """DMN names compare with their spaces normalised."""
    return " ".join((text or "").split())


def _label(el: Element, fallback: str = "") -> str:
    ident = el.get("id")
    return f"{_local(el)} '{ident}'" if ident else (fallback or _local(el))


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\u201c\u201e][^\u201c\u201d\u201e]*\u201d')
_NAME_WORD = re.compile(r"(?<![\w.])[^\W\d]\w*")
_KEYWORDS = {"true", "false", "null", "not"}


def _bare_names(text: str) -> list[str]:
    """Words of a FEEL entry that are names (variables, functions), not literals."""
    return [w for w in _NAME_WORD.findall(_STRING.sub('""', text)) if w.lower() not in _KEYWORDS]


_LIST_ITEM = re.compile(
    r"""\s*(?:
      list\s+contains\s*\(\s*\?\s*,\s*
        (?P<value>"(?:[^"\\]|\\.)*"|[-+]?(?:\d+(?:\.\d*)?|\.\d+)|true|false)\s*\)
    | (?P<empty>count\s*\(\s*\?\s*\)\s*=\s*0|\?\s*=\s*\[\s*\])
    )\s*""",
    re.VERBOSE,
)
_LIST_SEPARATOR = re.compile(r"(?:,|or\b)\s*")


def list_test_text(text: str) -> str | None:
    """A FEEL test on a list (``list contains(?, "a") or list contains(?, "b")``,
    ``not(list contains(?, "a"))``, ``count(?) = 0``) as the workbook cell that means the
    same (``"a", "b"``, ``not("a")``, ``null``); ``None`` when ``text`` has another form."""
    body, negated = text.strip(), False
    if body in ("", "-"):
        return "-"
    whole = re.fullmatch(r"not\s*\((.*)\)", body, re.S)
    if whole:
        body, negated = whole.group(1), True
    items: list[str] = []
    pos = 0
    while True:
        item = _LIST_ITEM.match(body, pos)
        if item is None:
            return None
        items.append(item.group("value") or "null")
        pos = item.end()
        if pos >= len(body):
            break
        separator = _LIST_SEPARATOR.match(body, pos)
        if separator is None:
            return None
        pos = separator.end()
    inner = ", ".join(items)
    return f"not({inner})" if negated else inner


def read_literal_entry(text: str) -> Value | None:
    """An output entry, default output entry or list value: one FEEL literal (text in
    double quotes, a number, true, false) or ``null``. Raises :class:`ValueProblem`."""
    body = text.strip()
    if not body:
        raise ValueProblem("the entry is empty", "write a value, or null")
    try:
        condition = parse_condition(body)
    except CellSyntaxError as exc:
        raise ValueProblem(
            exc.message, "write text in double quotes, a number, true or false"
        ) from None
    if isinstance(condition, AnyOf) and len(condition.items) == 1:
        item = condition.items[0]
        if isinstance(item, IsNull):
            return None
        if isinstance(item, Equals) and item.quoted:
            return item.value
        if isinstance(item, Equals):
            raise ValueProblem(
                f"'{body}' is a FEEL name, not a value; names and expressions are not supported",
                f'write text in double quotes, for example "{body}"',
            )
    raise ValueProblem(
        f"'{body}' is not a single literal value",
        "write one value: text in double quotes, a number, true, false or null",
    )


def _value_list(text: str) -> list[Value]:
    """``"a", "b"`` or ``1, 2``: the listed literals, in order. Raises ValueProblem."""
    try:
        condition = parse_condition(text)
    except CellSyntaxError as exc:
        raise ValueProblem(exc.message, 'list the values, for example "a", "b"') from None
    items = condition.items if isinstance(condition, AnyOf) else ()
    if not items or not all(isinstance(i, Equals) and i.quoted for i in items):
        raise ValueProblem(
            f"'{text}' is not a list of values",
            'list the values separated by commas, text in double quotes: "a", "b"',
        )
    return [i.value for i in items if isinstance(i, Equals)]


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Type:
    """A resolved typeRef: a built-in base type, the allowedValues text it carries, the
    components of a structure, and whether it is a collection."""

    base: str | None
    allowed: str | None = None
    components: tuple[tuple[str, _Type | None], ...] = ()
    collection: bool = False

    def component(self, name: str) -> _Type | None:
        return next((t for n, t in self.components if n == name), None)


@dataclass
class _Column:
    index: int
    element: Element
    where: DmnLocation
    expression: str
    type: _Type | None
    values: str | None  # the inputValues text
    values_where: DmnLocation
    source: str | None = None  # the model name it reads (an input or an output), once resolved
    reads_input: bool = False  # the source is an inputData


@dataclass
class _Output:
    element: Element
    name: str
    where: DmnLocation
    type: _Type | None
    values: str | None
    values_where: DmnLocation
    default: str | None
    default_where: DmnLocation


@dataclass
class _RawRule:
    number: int  # 1-based position
    rule_id: str
    where: DmnLocation
    inputs: list[tuple[str, DmnLocation]]
    outputs: list[tuple[str, DmnLocation]]
    citation: str = ""
    note: str = ""


@dataclass
class _Decision:
    element: Element
    name: str
    where: str  # "decision 'name'"
    table: Element | None = None
    table_where: DmnLocation | None = None
    hit_policy: HitPolicy = HitPolicy.UNIQUE
    aggregation: Aggregation | None = None
    columns: list[_Column] = field(default_factory=list)
    outputs: list[_Output] = field(default_factory=list)
    rules: list[_RawRule] = field(default_factory=list)
    requires: set[str] = field(default_factory=set)  # ids of required inputData / decisions
    output_defs: list[OutputDef] = field(default_factory=list)
    description: str = ""

    @property
    def returns_list(self) -> bool:
        return not self.hit_policy.single_hit and self.aggregation is None


class _Reader:
    def __init__(self, root: Element, source: str) -> None:
        self.root = root
        self.source = source
        self.problems: list[Problem] = []
        self.item_defs: dict[str, Element] = {}
        self.types: dict[str, _Type | None] = {}
        self.inputs: list[Element] = []
        self.decisions: list[_Decision] = []
        self.by_name: dict[str, Element] = {}

    # -- problems

    def problem(self, where: Location | None, message: str, fix: str = "") -> None:
        self.problems.append(Problem(where, message, fix))

    def unsupported(self, where: DmnLocation, what: str, fix: str) -> None:
        self.problem(where, f"not supported: {what}", fix)

    def check_language(self, el: Element, where: DmnLocation) -> None:
        language = el.get("expressionLanguage")
        if language and "feel" not in language.lower():
            self.problem(
                where,
                f"expression language '{language}' is not supported",
                "write the entries in FEEL (remove the expressionLanguage attribute)",
            )

    # -- the whole model

    def model(self, version: str) -> Model:
        root = self.root
        definitions = DmnLocation("definitions", None)
        self.check_language(root, definitions)
        for child in root:
            self._top_level(child)
        for el in [*self.inputs, *(d.element for d in self.decisions)]:
            name = _name(el.get("name"))
            where = DmnLocation(f"{_local(el)} '{name}'", None)
            if not name:
                self.problem(
                    DmnLocation(_label(el), None),
                    f"{_local(el)} has no name",
                    "give it a name attribute",
                )
            elif name in self.by_name:
                self.problem(
                    where,
                    f"the name '{name}' is used twice",
                    "give every inputData and decision its own name",
                )
            else:
                self.by_name[name] = el
        for decision in self.decisions:
            self._read_decision(decision)
        for decision in self.decisions:
            self._define_outputs(decision)
        for decision in self.decisions:
            for column in decision.columns:
                self._resolve(decision, column)
        inputs = tuple(self._input_def(el) for el in self.inputs)
        input_names = {i.name for i in inputs}
        outputs: dict[str, OutputDef] = {}
        for decision in self.decisions:
            for out in decision.output_defs:
                register_output(out, input_names, outputs, self.problems)
        list_outputs = {o.name for d in self.decisions if d.returns_list for o in d.output_defs}
        by_name = {i.name: i for i in inputs}
        built = [self._table(d, by_name, outputs, list_outputs) for d in self.decisions]
        tables = [t for t in built if t is not None]
        if not self.decisions:
            self.problem(
                DmnLocation("definitions", None),
                "the model has no decision",
                "add a decision whose logic is a decision table",
            )
        ordered = order_tables(tables, self.problems, input_names)
        if self.problems:
            raise WorkbookError(self.problems, self.source)
        return Model(self._about(), inputs, tuple(ordered), (), version, self.source)

    def _top_level(self, child: Element) -> None:
        local = _local(child)
        if _ns(child) != _ns(self.root):
            if local == "DMNDI":
                return
            self.problem(
                DmnLocation("definitions", None),
                f"element <{local}> (namespace {_ns(child) or 'none'}) is not part of DMN",
                "remove it, or put vendor data inside extensionElements",
            )
            return
        if local == "itemDefinition":
            self.item_defs[child.get("name", "")] = child
        elif local == "inputData":
            self.inputs.append(child)
        elif local == "decision":
            name = _name(child.get("name"))
            self.decisions.append(_Decision(child, name, f"decision '{name}'"))
        elif local in _DOCUMENTATION["definitions"]:
            return
        elif local in ("businessKnowledgeModel", "decisionService", "import"):
            what = {
                "businessKnowledgeModel": "business knowledge models (functions) cannot be "
                "compiled to rules",
                "decisionService": "decision services cannot be compiled to rules",
                "import": "models cannot import other models",
            }[local]
            name = child.get("name") or child.get("namespace") or ""
            ident = child.get("id")
            where = DmnLocation(f"{local} '{name}'" if name else local, ident and f"id '{ident}'")
            self.unsupported(where, what, "keep only inputData and decision tables")
        else:
            self.problem(
                DmnLocation("definitions", _label(child)),
                f"element <{local}> is not supported",
                "keep only itemDefinition, inputData and decisions whose logic is a decision table",
            )

    # -- types

    def resolve_type(self, ref: str | None, where: DmnLocation) -> _Type | None:
        if not ref:
            return None
        ref = ref.strip()
        if ref in self.types:
            return self.types[ref]
        bare = ref.rsplit(":", 1)[-1] if ":" in ref else ref
        if ref in self.item_defs or bare in self.item_defs:
            name = ref if ref in self.item_defs else bare
            self.types[ref] = None  # guards against a definition that refers to itself
            resolved = self._item_type(self.item_defs[name], where)
            self.types[ref] = resolved
            return resolved
        if bare in BUILTIN_TYPES:
            return _Type(bare)
        if bare.lower() == "any":
            return None
        self.problem(
            where,
            f"type '{ref}' is not supported",
            "use number, string or boolean, or an itemDefinition built on one of them",
        )
        self.types[ref] = None
        return None

    def _item_type(self, item: Element, where: DmnLocation) -> _Type | None:
        here = DmnLocation(f"itemDefinition '{item.get('name', '')}'", None)
        base: _Type | None = None
        allowed = None
        components: list[tuple[str, _Type | None]] = []
        for child in item:
            local = _local(child)
            if local == "typeRef":
                base = self.resolve_type(child.text, here)
            elif local == "allowedValues":
                allowed = _text_of(child)
            elif local == "itemComponent":
                components.append((_name(child.get("name")), self._item_type(child, here)))
            elif local in ("description", "extensionElements", "typeConstraint"):
                continue
            else:
                self.problem(here, f"<{local}> in an itemDefinition is not supported")
        collection = item.get("isCollection", "false").strip() == "true"
        if components:
            return _Type(None, None, tuple(components), collection)
        if base is None:
            return None
        return _Type(base.base, allowed or base.allowed, base.components, collection)

    # -- decisions: structure

    def _read_decision(self, decision: _Decision) -> None:
        el = decision.element
        logic: list[Element] = []
        for child in el:
            local = _local(child)
            if local == "variable":
                continue
            if local == "description":
                decision.description = (child.text or "").strip()
            elif local == "informationRequirement":
                self._requirement(decision, child)
            elif local == "knowledgeRequirement":
                self.unsupported(
                    DmnLocation(decision.where, _label(child)),
                    "business knowledge models cannot be compiled to rules",
                    "write the logic as a decision table in this decision",
                )
            elif local in _DOCUMENTATION["decision"]:
                continue
            elif local == "decisionTable" or local in _EXPRESSIONS:
                logic.append(child)
            else:
                self.problem(
                    DmnLocation(decision.where, _label(child)),
                    f"element <{local}> in a decision is not supported",
                    "keep the decision table and its requirements",
                )
        if not logic:
            self.problem(
                DmnLocation(decision.where, _label(el)),
                "the decision has no decision logic",
                "give it a decision table",
            )
            return
        table = logic[0]
        if _local(table) != "decisionTable":
            self.unsupported(
                DmnLocation(decision.where, _label(table)),
                f"the decision's logic is a {_local(table)}, and only decision tables can be "
                "compiled to rules",
                "write the logic as a decision table",
            )
            return
        decision.table = table
        decision.table_where = DmnLocation(decision.where, _label(table, "decisionTable"))
        self._read_table(decision, table)

    def _requirement(self, decision: _Decision, requirement: Element) -> None:
        for child in requirement:
            local = _local(child)
            where = DmnLocation(decision.where, _label(requirement, "informationRequirement"))
            if local not in ("requiredInput", "requiredDecision"):
                if local not in ("description", "extensionElements"):
                    self.problem(where, f"<{local}> in an informationRequirement is not supported")
                continue
            href = child.get("href", "")
            if not href.startswith("#"):
                self.problem(
                    where,
                    f"the requirement '{href}' points outside this file",
                    'refer to an element of this model as href="#id"',
                )
                continue
            decision.requires.add(href[1:])

    def _read_table(self, decision: _Decision, table: Element) -> None:
        where = decision.table_where
        assert where is not None
        self.check_language(table, where)
        policy_text = " ".join(table.get("hitPolicy", "UNIQUE").upper().replace("_", " ").split())
        aggregation = table.get("aggregation")
        key = policy_text + (f" {aggregation.strip().upper()}" if aggregation else "")
        policy = HIT_POLICIES.get(key) if len(key) > 2 else None  # not the letters U, C+ …
        if policy is None:
            fix = "use UNIQUE, ANY, PRIORITY, FIRST, COLLECT (with aggregation SUM, MIN, MAX or "
            fix += "COUNT), RULE ORDER or OUTPUT ORDER"
            shown = policy_text + (f" with aggregation {aggregation}" if aggregation else "")
            self.problem(where, f"unknown hit policy '{shown}'", fix)
        else:
            decision.hit_policy, decision.aggregation = policy
        annotations: list[str] = []
        for child in table:
            local = _local(child)
            if local == "input":
                self._read_column(decision, child)
            elif local == "output":
                self._read_output(decision, child)
            elif local == "annotation":
                annotations.append(_name(child.get("name")))
            elif local == "rule":
                self._read_rule(decision, child, annotations)
            elif local not in ("description", "extensionElements"):
                self.problem(
                    DmnLocation(decision.where, _label(child)),
                    f"element <{local}> in a decision table is not supported",
                )
        if not decision.outputs:
            self.problem(where, "the decision table has no output", "add an output clause")
        if problem := output_count_problem(decision.aggregation, len(decision.outputs)):
            self.problem(where, *problem)
        if len(decision.columns) > MAX_INPUT_COLUMNS:
            self.problem(
                where,
                f"more than {MAX_INPUT_COLUMNS} inputs",
                "split the decision into chained decisions",
            )
        if len(decision.rules) > MAX_RULES:
            self.problem(where, f"more than {MAX_RULES} rules", "split the decision")

    def _read_column(self, decision: _Decision, el: Element) -> None:
        index = len(decision.columns)
        where = DmnLocation(decision.where, _label(el, f"input {index + 1}"))
        expression: Element | None = None
        values: str | None = None
        values_where = where
        for child in el:
            local = _local(child)
            if local == "inputExpression":
                expression = child
            elif local == "inputValues":
                values = _text_of(child)
                values_where = DmnLocation(
                    decision.where, _label(child, f"inputValues of {where.cell}")
                )
                self.check_language(child, values_where)
            elif local not in ("description", "extensionElements"):
                self.problem(where, f"element <{local}> in an input clause is not supported")
        if expression is None:
            self.problem(where, "the input has no inputExpression", "add one naming an input")
            text = ""
            ctype = None
        else:
            self.check_language(expression, where)
            found = _text_of(expression)
            text = found or ""
            if found is None:
                self.problem(
                    where,
                    "the inputExpression has no <text>",
                    "write the name of an inputData or a required decision",
                )
            ctype = self.resolve_type(expression.get("typeRef"), where)
        decision.columns.append(_Column(index, el, where, _name(text), ctype, values, values_where))

    def _read_output(self, decision: _Decision, el: Element) -> None:
        position = len(decision.outputs) + 1
        name = _name(el.get("name"))
        where = DmnLocation(
            decision.where, _label(el, f"output '{name}'" if name else f"output {position}")
        )
        values = default = None
        values_where = default_where = where
        for child in el:
            local = _local(child)
            if local == "outputValues":
                values = _text_of(child)
                values_where = DmnLocation(
                    decision.where, _label(child, f"outputValues of {where.cell}")
                )
                self.check_language(child, values_where)
            elif local == "defaultOutputEntry":
                default = _text_of(child)
                default_where = DmnLocation(
                    decision.where, _label(child, f"defaultOutputEntry of {where.cell}")
                )
                self.check_language(child, default_where)
                if default is None:
                    self.problem(default_where, "the defaultOutputEntry has no <text>")
            elif local not in ("description", "extensionElements"):
                self.problem(where, f"element <{local}> in an output clause is not supported")
        ctype = self.resolve_type(el.get("typeRef"), where)
        decision.outputs.append(
            _Output(el, name, where, ctype, values, values_where, default, default_where)
        )

    def _read_rule(self, decision: _Decision, el: Element, annotations: list[str]) -> None:
        number = len(decision.rules) + 1
        ident = el.get("id", "")
        where = DmnLocation(
            decision.where, f"rule '{ident}' ({number})" if ident else f"rule {number}"
        )
        rule = _RawRule(number, ident or f"R{number}", where, [], [])
        notes: list[str] = []
        annotation_index = 0
        for child in el:
            local = _local(child)
            if local in ("inputEntry", "outputEntry", "annotationEntry"):
                text = _text_of(child)
                if local == "inputEntry":
                    column = len(rule.inputs)
                    cell = _label(child, f"inputEntry {column + 1}")
                    cell_where = DmnLocation(decision.where, f"{cell} (rule {number})")
                    self.check_language(child, cell_where)
                    rule.inputs.append(("-" if text is None else text, cell_where))
                elif local == "outputEntry":
                    cell = _label(child, f"outputEntry {len(rule.outputs) + 1}")
                    cell_where = DmnLocation(decision.where, f"{cell} (rule {number})")
                    self.check_language(child, cell_where)
                    if text is None:
                        self.problem(cell_where, "the outputEntry has no <text>", "write a value")
                    rule.outputs.append((text or "null", cell_where))
                else:
                    label = (
                        annotations[annotation_index] if annotation_index < len(annotations) else ""
                    )
                    annotation_index += 1
                    role = _ANNOTATION_ROLES.get(label.lower(), "")
                    value = text or ""
                    if role == "id" and value:
                        rule.rule_id = value
                    elif role == "citation":
                        rule.citation = value
                    elif role == "note" or not label:
                        notes.append(value)
                    elif value:
                        notes.append(f"{label}: {value}")
            elif local == "description":
                if child.text and child.text.strip():
                    notes.append(child.text.strip())
            elif local != "extensionElements":
                self.problem(where, f"element <{local}> in a rule is not supported")
        rule.note = "; ".join(n for n in notes if n)
        if len(rule.inputs) != len(decision.columns):
            self.problem(
                where,
                f"the rule has {len(rule.inputs)} input entries for {len(decision.columns)} inputs",
                "give the rule one inputEntry per input (- for any value)",
            )
        if len(rule.outputs) != len(decision.outputs):
            self.problem(
                where,
                f"the rule has {len(rule.outputs)} output entries for {len(decision.outputs)} "
                "outputs",
                "give the rule one outputEntry per output",
            )
        decision.rules.append(rule)

    # -- outputs

    def _define_outputs(self, decision: _Decision) -> None:
        if decision.table is None:
            return
        single = len(decision.outputs) == 1
        table_type = self.resolve_type(decision.table.get("typeRef"), decision.table_where)  # type: ignore[arg-type]
        variable_type = None
        for child in decision.element:
            if _local(child) == "variable":
                variable_type = self.resolve_type(
                    child.get("typeRef"), DmnLocation(decision.where, "variable")
                )
        declared = table_type or variable_type
        for position, out in enumerate(decision.outputs):
            if not single and not out.name:
                self.problem(
                    out.where,
                    "an output of a table with several outputs needs a name",
                    "give the output clause a name attribute",
                )
            ctype = out.type
            if ctype is None and declared is not None:
                ctype = declared if single else declared.component(out.name)
            if ctype is not None and ctype.components:
                self.problem(
                    out.where,
                    "a structured type cannot be the type of one output column",
                    "give the output clause a typeRef of number, string or boolean",
                )
                ctype = None
            name = decision.name if single else out.name
            entries = [r.outputs[position] for r in decision.rules if position < len(r.outputs)]
            decision.output_defs.append(self._output_def(decision, out, name, ctype, entries))

    def _output_def(
        self,
        decision: _Decision,
        out: _Output,
        name: str,
        ctype: _Type | None,
        entries: list[tuple[str, DmnLocation]],
    ) -> OutputDef:
        allowed: tuple[Value, ...] = ()
        if out.values:
            try:
                allowed = tuple(_value_list(out.values))
            except ValueProblem as exc:
                self.problem(out.values_where, exc.message, exc.fix)
            if len(set(map(repr, allowed))) != len(allowed):
                self.problem(out.values_where, "a value is listed twice", "list each value once")
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
                self.problem(out.values_where, *problem)
        default: Value | None = None
        if out.default is not None:
            default = self._typed_literal(out.default, kind, allowed, out.default_where)
        if problem := output_kind_problem(decision.aggregation, kind):
            self.problem(out.where, *problem)
        return OutputDef(
            name, decision.name, kind, allowed, default, out.default is not None, out.where
        )

    def _typed_literal(
        self, text: str, kind: Kind, allowed: tuple[Value, ...], where: DmnLocation
    ) -> Value | None:
        try:
            value = read_literal_entry(text)
        except ValueProblem as exc:
            self.problem(where, exc.message, exc.fix)
            return None
        if value is None:
            return None
        if problem := _value_problem(value, kind, allowed):
            self.problem(where, *problem)
            return None
        return value

    # -- input columns

    def _resolve(self, decision: _Decision, column: _Column) -> None:
        text = column.expression
        target = self.by_name.get(text)
        component = None
        if target is None and "." in text:
            head, _, tail = text.rpartition(".")
            candidate = self.by_name.get(_name(head))
            if candidate is not None and _local(candidate) == "decision":
                target, component = candidate, _name(tail)
        if target is None:
            names = [*self.by_name]
            if not text:
                return
            plain = not re.search(r"[^\w\s./'-]", text)
            message = (
                f"input expression '{text}' is not the name of an inputData or a decision"
                if plain
                else f"input expression '{text}' is not a plain name; expressions cannot be "
                "compiled to rules"
            )
            self.problem(
                column.where,
                message,
                "write the name of an inputData or a required decision"
                + (f" — {did_you_mean(text, names)}" if plain else ""),
            )
            return
        if target.get("id", "") not in decision.requires:
            self.problem(
                column.where,
                f"input expression '{text}' names {_local(target)} "
                f"'{_name(target.get('name'))}', which the decision does not require",
                f"add an informationRequirement to {_local(target)} '{_name(target.get('name'))}'",
            )
        if _local(target) == "inputData":
            if component is not None:  # pragma: no cover - only decisions take components
                return
            column.source = text
            column.reads_input = True
            return
        upstream = next(d for d in self.decisions if d.element is target)
        if upstream is decision:
            self.problem(
                column.where,
                f"the decision reads its own output '{text}'",
                "read an input or another decision",
            )
            return
        if not upstream.output_defs:
            return  # the upstream decision's own problems are reported
        if component is None:
            if len(upstream.output_defs) > 1:
                listed = ", ".join(f"{upstream.name}.{o.name}" for o in upstream.output_defs)
                self.problem(
                    column.where,
                    f"decision '{upstream.name}' has several outputs; a column reads one value",
                    f"read one of its outputs: {listed}",
                )
                return
            column.source = upstream.output_defs[0].name
            return
        if len(upstream.output_defs) == 1 or component not in {
            o.name for o in upstream.output_defs
        }:
            self.problem(
                column.where,
                f"decision '{upstream.name}' has no output '{component}'",
                "name one of its output clauses",
            )
            return
        column.source = component

    # -- inputs

    def _input_def(self, el: Element) -> InputDef:
        name = _name(el.get("name"))
        where = DmnLocation(f"inputData '{name}'", None)
        description = ""
        extension: dict[str, str] = {}
        vtype: _Type | None = None
        for child in el:
            local = _local(child)
            if local == "variable":
                vtype = self.resolve_type(child.get("typeRef"), where)
            elif local == "description":
                description = (child.text or "").strip()
            elif local == "extensionElements":
                for ext in child:
                    if _ns(ext) == EXTENSION_NAMESPACE and _local(ext) == "input":
                        extension = dict(ext.attrib)
            else:
                self.problem(where, f"element <{local}> in an inputData is not supported")
        if vtype is not None and (vtype.components or vtype.collection):
            self.problem(
                where,
                "structured and collection inputs are not supported",
                "use one inputData per value, of type number, string or boolean",
            )
            vtype = None
        reading = [
            c for d in self.decisions for c in d.columns if c.reads_input and c.source == name
        ]
        columns = [c for c in reading if c.type is not None]
        base = vtype.base if vtype else None
        for column in columns:
            assert column.type is not None
            if column.type.base is None:
                continue
            if base is None:
                base = column.type.base
            elif column.type.base != base:
                self.problem(
                    column.where,
                    f"the input expression's typeRef '{column.type.base}' differs from the type "
                    f"of '{name}' ({base})",
                    "give them the same type",
                )
        if base is None:
            self.problem(
                where,
                "the inputData has no type",
                "give its variable a typeRef of number, string or boolean",
            )
            base = "string"
        constraints: list[tuple[str, DmnLocation]] = []
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
            value_range = self._agree(name, constraints, self._range)
        elif base == "string":
            allowed = self._agree(name, constraints, self._strings) or ()
            kind = Kind.ENUM if allowed else Kind.TEXT
        else:
            kind = Kind.BOOLEAN
            for text, at in constraints:
                try:
                    values = _value_list(text)
                except ValueProblem as exc:
                    self.problem(at, exc.message, exc.fix)
                    continue
                if not all(isinstance(v, bool) for v in values):
                    self.problem(at, "a boolean input takes the values true and false only")
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

    def _agree(self, name, constraints, read):  # type: ignore[no-untyped-def]
        """Every inputValues / allowedValues stated for one input must say the same: the
        model has one set of allowed values per input."""
        first = None
        first_at = None
        for text, at in constraints:
            value = read(text, at)
            if value is None:
                continue
            if first is None:
                first, first_at = value, at
            elif str(value) != str(first) and (
                not isinstance(value, tuple) or set(value) != set(first)
            ):
                self.problem(
                    at,
                    f"these allowed values of '{name}' differ from those at {first_at}",
                    "state the same inputValues wherever the input is read",
                )
        return first

    def _range(self, text: str, at: DmnLocation) -> Condition | None:
        return read_range(text, at, self.problems)

    def _strings(self, text: str, at: DmnLocation) -> tuple[str, ...] | None:
        try:
            values = _value_list(text)
        except ValueProblem as exc:
            self.problem(at, exc.message, exc.fix)
            return None
        if not all(isinstance(v, str) for v in values):
            self.problem(at, f"'{text}' lists values that are not text", 'write "a", "b"')
            return None
        strings = tuple(str(v) for v in values)
        if len(set(strings)) != len(strings):
            self.problem(at, "a value is listed twice", "list each value once")
        return strings

    # -- tables

    def _table(
        self,
        decision: _Decision,
        inputs: dict[str, InputDef],
        outputs: dict[str, OutputDef],
        list_outputs: set[str],
    ) -> Table | None:
        if decision.table is None or decision.table_where is None:
            return None
        types: list[ColumnType | None] = []
        for column in decision.columns:
            source = inputs.get(column.source or "") or outputs.get(column.source or "")
            if source is None:
                types.append(None)
                continue
            seen_type = column_type(source, list_outputs)
            if isinstance(source, OutputDef):
                self._check_chained(column, source, seen_type)
            types.append(seen_type)
        rules: list[Rule] = []
        seen: dict[str, DmnLocation] = {}
        for raw in decision.rules:
            if raw.rule_id in seen:
                self.problem(
                    raw.where,
                    f"rule id '{raw.rule_id}' is used twice (also at {seen[raw.rule_id]})",
                    "give each rule its own id",
                )
            seen.setdefault(raw.rule_id, raw.where)
            cells = tuple(
                self._cell(text, at, types[i] if i < len(types) else None, decision, i)
                for i, (text, at) in enumerate(raw.inputs[: len(decision.columns)])
            )
            values = tuple(
                self._typed_literal(text, out.kind, out.allowed_values, at)
                for (text, at), out in zip(raw.outputs, decision.output_defs, strict=False)
            )
            rules.append(
                Rule(
                    raw.number - 1,
                    raw.rule_id,
                    raw.number,
                    cells,
                    values,
                    raw.citation,
                    raw.note,
                    raw.where,
                )
            )
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

    def _check_chained(self, column: _Column, source: OutputDef, ctype: ColumnType | None) -> None:
        is_list = ctype is not None and ctype.is_list
        if column.type is not None and column.type.base is not None and not is_list:
            expected = {Kind.NUMBER: "number", Kind.BOOLEAN: "boolean"}.get(source.kind, "string")
            if column.type.base != expected:
                self.problem(
                    column.where,
                    f"the input expression's typeRef '{column.type.base}' differs from the type "
                    f"of output '{source.name}' ({expected})",
                    "give them the same type",
                )
        if column.values:
            try:
                listed = _value_list(column.values)
            except ValueProblem as exc:
                self.problem(column.values_where, exc.message, exc.fix)
                return
            if set(map(repr, listed)) != set(map(repr, source.allowed_values)):
                self.problem(
                    column.values_where,
                    f"inputValues of a column that reads '{source.name}' differ from its "
                    "outputValues",
                    "state the outputValues of the decision, or leave inputValues out",
                )

    def _cell(
        self,
        text: str,
        where: DmnLocation,
        ctype: ColumnType | None,
        decision: _Decision,
        index: int,
    ) -> Cell:
        shown = text.strip() or "-"
        if ctype is None:
            return Cell(shown, AnyValue(), where)
        parsed = text
        if ctype.is_list:
            canonical = list_test_text(text)
            if canonical is None:
                source = decision.columns[index].expression
                self.problem(
                    where,
                    f"'{text}' cannot test the list that '{source}' holds (the result of a "
                    "multi-hit decision)",
                    'write list contains(?, "a"), several joined with or, not( … ) for none of '
                    "them, or count(?) = 0 for an empty list",
                )
                return Cell(shown, AnyValue(), where)
            parsed = canonical
        else:
            names = _bare_names(text)
            if names:
                self.problem(
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
            self.problem(where, exc.message, exc.fix)
            return Cell(shown, AnyValue(), where)
        for message, fix in type_problems(condition, ctype.kind, ctype.allowed, ctype.is_list):
            self.problem(where, message, fix)
        return Cell(shown, condition, where)

    # -- About

    def _about(self) -> About:
        fields: dict[str, str] = {}
        description = ""
        for child in self.root:
            if _local(child) == "description" and _ns(child) == _ns(self.root):
                description = (child.text or "").strip()
            if _local(child) == "extensionElements":
                for ext in child:
                    if _ns(ext) == EXTENSION_NAMESPACE and _local(ext) == "about":
                        fields = dict(ext.attrib)
        name = _name(self.root.get("name")) or Path(self.source).stem
        return About(
            table_id=fields.get("tableId") or snake_case(name),
            title=fields.get("title", name),
            version=fields.get("version", ""),
            owner=fields.get("owner", ""),
            clinical_reviewer=fields.get("clinicalReviewer", ""),
            review_date=fields.get("reviewDate", ""),
            description=description,
        )


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
