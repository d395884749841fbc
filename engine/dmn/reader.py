"""DMN XML -> :class:`~engine.model.Model`: the entry points, and the order of the passes.

1. the top-level elements are sorted (itemDefinitions, inputData, decisions; documentation
   is read past, anything else reported) and every inputData and decision name indexed;
2. each decision's table is read into raw clauses (:mod:`engine.dmn.clauses`);
3. each decision's outputs are defined (:mod:`engine.dmn.outputs`), so that
4. each input column can be resolved to the input or output it reads, and then
5. the inputs (:mod:`engine.dmn.inputs`) and tables (:mod:`engine.dmn.decision_tables`) are
   built, and the tables ordered so that a decision comes after those it reads.

Every pass adds to one list of problems; the file is refused with all of them at the end.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from xml.etree.ElementTree import Element

from engine.builder import order_tables, register_output
from engine.dmn.clauses import RawDecision, read_decision
from engine.dmn.decision_tables import build_table, resolve_column
from engine.dmn.inputs import input_def
from engine.dmn.outputs import define_outputs
from engine.dmn.typerefs import TypeResolver
from engine.dmn.xml import (
    DMN_NAMESPACE,
    EXTENSION_NAMESPACE,
    MALFORMED,
    UNSUPPORTED,
    DmnLocation,
    Problems,
    dmn_name,
    label,
    local_name,
    namespace_of,
    parse_xml,
)
from engine.errors import Problem, UnreadableFile, WorkbookError
from engine.model import About, InputDef, Model, OutputDef

MAX_DMN_BYTES = 100 * 2**20  # far above any real model; nothing larger is read

# Top-level elements that only document a model: read past without effect. A decision
# service only groups decisions of the model behind an interface; its decisions are read
# as they are.
_DOCUMENTATION = {
    "description",
    "extensionElements",
    "DMNDI",
    "textAnnotation",
    "association",
    "knowledgeSource",
    "group",
    "performanceIndicator",
    "organizationUnit",
    "decisionService",
}
_UNSUPPORTED = {
    "businessKnowledgeModel": "a business knowledge model (a function that decisions invoke)",
    "import": "an import of another model",
}


def read_dmn_file(path: str | Path) -> Model:
    """Read and check a DMN file; the model is not compiled yet (``engine.load`` does)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(
            [Problem(None, "file not found", "check the path", "TV001")], str(path)
        )
    try:
        size = path.stat().st_size
        if size > MAX_DMN_BYTES:
            raise UnreadableFile(
                [
                    Problem(
                        None,
                        f"the file is too large ({size / 2**20:,.0f} MB)",
                        f"keep it under {MAX_DMN_BYTES // 2**20} MB",
                        "TV003",
                    )
                ],
                str(path),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the file cannot be read ({exc.strerror})",
                    "check its permissions",
                    "TV001",
                )
            ],
            str(path),
        ) from exc
    return read_dmn(data, str(path))


def read_dmn(data: bytes, source: str = "<dmn>", version: str = "") -> Model:
    """Read DMN XML into a checked model. Raises :class:`UnreadableFile` when ``data`` is not
    a DMN model and :class:`WorkbookError` listing every problem otherwise. The version is
    a hash of ``data`` unless given."""
    if len(data) > MAX_DMN_BYTES:
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the model is too large ({len(data) / 2**20:,.0f} MB)",
                    f"keep it under {MAX_DMN_BYTES // 2**20} MB",
                    "TV003",
                )
            ],
            source,
        )
    root = parse_xml(data, source)
    if local_name(root) != "definitions" or not DMN_NAMESPACE.match(namespace_of(root)):
        found = f"<{local_name(root)}>" + (
            f" in namespace {namespace_of(root)}" if namespace_of(root) else ""
        )
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"this is not a DMN model (the document is {found})",
                    "give a DMN 1.1 to 1.5 file whose root is <definitions> in an OMG DMN "
                    "namespace",
                    "TV001",
                )
            ],
            source,
        )
    version = version or hashlib.sha256(data).hexdigest()[:16]
    return _Reader(root, source).model(version)


def snake_case(name: str) -> str:
    """A workbook name for a DMN name: ``Approval Status`` -> ``approval_status``,
    ``isAffordable`` -> ``is_affordable``, ``0004-table`` -> ``x_0004_table``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spaced)
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if not snake:
        return "x"
    return snake if snake[0].isalpha() else "x_" + snake


class _Reader:
    """One read of one document: the elements found so far, and the problems."""

    def __init__(self, root: Element, source: str) -> None:
        self.root = root
        self.source = source
        self.problems = Problems()
        self.types = TypeResolver(self.problems)
        self.inputs: list[Element] = []
        self.decisions: list[RawDecision] = []
        self.by_name: dict[str, Element] = {}

    def model(self, version: str) -> Model:
        problems = self.problems
        problems.check_language(self.root, DmnLocation("definitions", None))
        for child in self.root:
            self._top_level(child)
        self._index_names()
        for decision in self.decisions:
            read_decision(decision, self.types, problems)
        for decision in self.decisions:
            define_outputs(decision, self.types, problems)
        report_cycles(self.decisions, problems)
        typed = {_name(el) for el in self.inputs if _typed(el)}
        for decision in self.decisions:
            for column in decision.columns:
                resolve_column(decision, column, self.by_name, self.decisions, typed, problems)
        inputs = self._inputs()
        input_names = {i.name for i in inputs}
        outputs: dict[str, OutputDef] = {}
        for decision in self.decisions:
            for out in decision.output_defs:
                if out.name:  # an unnamed one is reported where it is declared
                    found: list[Problem] = []
                    register_output(out, input_names, outputs, found)
                    problems.found.extend(_coded(found, "TV109"))
        list_outputs = {o.name for d in self.decisions if d.returns_list for o in d.output_defs}
        by_name = {i.name: i for i in inputs}
        built = [build_table(d, by_name, outputs, list_outputs, problems) for d in self.decisions]
        tables = [t for t in built if t is not None]
        if not self.decisions:
            problems.add(
                DmnLocation("definitions", None),
                "the model has no decision",
                "add a decision whose logic is a decision table",
                code="TV102",
            )
        if problems.found:
            raise WorkbookError(problems.found, self.source)
        found = []
        ordered = order_tables(tables, found, input_names)
        if found:  # every read is required, and requirements have no cycle: cannot happen
            raise WorkbookError(_coded(found, "TV402"), self.source)
        return Model(self._about(), inputs, tuple(ordered), (), version, self.source)

    def _inputs(self) -> tuple[InputDef, ...]:
        """Every inputData that declares or is given a type, then every variable the input
        expressions read without an inputData, in the order first read."""
        found = [
            input_def(_name(el), el, self.decisions, self.types, self.problems)
            for el in self.inputs
        ]
        variables = dict.fromkeys(
            c.source for d in self.decisions for c in d.columns if c.variable and c.source
        )
        found.extend(
            input_def(name, None, self.decisions, self.types, self.problems) for name in variables
        )
        return tuple(i for i in found if i is not None)

    def _top_level(self, child: Element) -> None:
        local = local_name(child)
        if namespace_of(child) != namespace_of(self.root):
            if local == "DMNDI" or not isinstance(child.tag, str):
                return
            self.problems.add(
                DmnLocation("definitions", None),
                f"element <{local}> (namespace {namespace_of(child) or 'none'}) is not part of DMN",
                "remove it, or put vendor data inside extensionElements",
                code=MALFORMED,
            )
            return
        if local == "itemDefinition":
            self.types.item_defs[child.get("name", "")] = child
        elif local == "inputData":
            self.inputs.append(child)
        elif local == "decision":
            name = _name(child)
            self.decisions.append(RawDecision(child, name, f"decision '{name}'"))
        elif local in _DOCUMENTATION:
            return
        elif local in _UNSUPPORTED:
            name = child.get("name") or child.get("namespace") or ""
            ident = child.get("id")
            where = DmnLocation(f"{local} '{name}'" if name else local, ident and f"id '{ident}'")
            self.problems.unsupported(
                where,
                _UNSUPPORTED[local],
                "write the logic as decision tables in this model's decisions",
            )
        else:
            self.problems.add(
                DmnLocation("definitions", label(child)),
                f"element <{local}> is not supported",
                "keep only itemDefinition, inputData and decisions whose logic is a decision table",
                code=UNSUPPORTED,
            )

    def _index_names(self) -> None:
        """``by_name``: every inputData and decision by its name, which must be unique."""
        for el in [*self.inputs, *(d.element for d in self.decisions)]:
            name = _name(el)
            if not name:
                self.problems.add(
                    DmnLocation(label(el), None),
                    f"{local_name(el)} has no name",
                    "give it a name attribute",
                    code="TV106",
                )
            elif name in self.by_name:
                self.problems.add(
                    DmnLocation(f"{local_name(el)} '{name}'", None),
                    f"the name '{name}' is used twice",
                    "give every inputData and decision its own name",
                    code="TV109",
                )
            else:
                self.by_name[name] = el

    def _about(self) -> About:
        """The About fields: from the extension element a conversion writes, else from the
        definitions' name and description."""
        fields: dict[str, str] = {}
        description = ""
        for child in self.root:
            if local_name(child) == "description" and namespace_of(child) == namespace_of(
                self.root
            ):
                description = (child.text or "").strip()
            if local_name(child) == "extensionElements":
                for ext in child:
                    if namespace_of(ext) == EXTENSION_NAMESPACE and local_name(ext) == "about":
                        fields = dict(ext.attrib)
        name = dmn_name(self.root.get("name")) or Path(self.source).stem
        return About(
            table_id=fields.get("tableId") or snake_case(name),
            title=fields.get("title", name),
            version=fields.get("version", ""),
            owner=fields.get("owner", ""),
            clinical_reviewer=fields.get("clinicalReviewer", ""),
            review_date=fields.get("reviewDate", ""),
            cds_hook=fields.get("cdsHook", ""),
            card_indicators=fields.get("cardIndicators", ""),
            description=description,
            cells=tuple(
                (field, DmnLocation("definitions", f"extensionElements, triage:about @{attr}"))
                for field, attr in _ABOUT_ATTRIBUTES.items()
            ),
        )


# About fields and the attributes of <triage:about> that hold them (engine.dmn.writer).
_ABOUT_ATTRIBUTES = {
    "table_id": "tableId",
    "title": "title",
    "version": "version",
    "owner": "owner",
    "clinical_reviewer": "clinicalReviewer",
    "review_date": "reviewDate",
    "cds_hook": "cdsHook",
    "card_indicators": "cardIndicators",
}


def _name(el: Element) -> str:
    """The name an inputData or decision is known by: its variable's, which names the value
    (DMN requires it to be the element's name; where an older model differs, the value is
    read and reported under the variable's name, as KIE does), else its own; a decision
    without either is named by its id, as Camunda's engine knows decisions by their ids."""
    variable = next((c for c in el if local_name(c) == "variable"), None)
    name = dmn_name(variable.get("name")) if variable is not None else ""
    name = name or dmn_name(el.get("name"))
    if not name and local_name(el) == "decision":
        return dmn_name(el.get("id"))
    return name


def _typed(el: Element) -> bool:
    """Does the inputData declare a type (a DMN-style inputData, not a Camunda note)?"""
    return any(local_name(c) == "variable" and (c.get("typeRef") or "").strip() for c in el)


def _coded(found: list[Problem], code: str) -> list[Problem]:
    """Problems a shared builder function found, with the code of its check."""
    return [p if p.code else Problem(p.location, p.message, p.fix, code) for p in found]


def report_cycles(decisions: list[RawDecision], problems: Problems) -> None:
    """Decisions that require each other in a cycle (``A -> B -> A``) cannot be evaluated in
    any order: each cycle is reported once, naming its decisions in order."""
    by_id = {d.element.get("id", ""): d for d in decisions if d.element.get("id")}
    state: dict[int, int] = {}  # id(decision) -> 1 on the path, 2 done
    reported: set[frozenset[int]] = set()
    for start in decisions:
        if state.get(id(start)):
            continue
        path: list[RawDecision] = [start]
        todo = [iter(_required(start, by_id))]
        state[id(start)] = 1
        while todo:  # depth first, without recursion: any chain length is safe
            nxt = next(todo[-1], None)
            if nxt is None:
                state[id(path.pop())] = 2
                todo.pop()
                continue
            if state.get(id(nxt)) == 1:
                cycle = path[path.index(nxt) :]
                key = frozenset(map(id, cycle))
                if key not in reported:
                    reported.add(key)
                    _report_cycle(cycle, problems)
            elif not state.get(id(nxt)):
                state[id(nxt)] = 1
                path.append(nxt)
                todo.append(iter(_required(nxt, by_id)))


def _required(decision: RawDecision, by_id: dict[str, RawDecision]) -> list[RawDecision]:
    return [by_id[i] for i in decision.required_decisions if i in by_id]


def _report_cycle(cycle: list[RawDecision], problems: Problems) -> None:
    names = " -> ".join(f"'{d.name}'" for d in [*cycle, cycle[0]])
    what = (
        f"decision '{cycle[0].name}' requires itself"
        if len(cycle) == 1
        else f"the information requirements form a cycle: {names}"
    )
    problems.add(
        DmnLocation(cycle[0].where, None),
        f"{what}; no decision of the cycle can be evaluated first",
        "remove one requiredDecision of the cycle",
        code="TV402",
    )
