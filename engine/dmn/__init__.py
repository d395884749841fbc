"""DMN files (DMN 1.1 to 1.5, XML; ``*.dmn`` or ``*.xml``) read into the same
:class:`~engine.model.Model` as a workbook, so that they compile to durable-rules and evaluate
exactly like one; and models written back out as DMN 1.3. Models as KIE, Trisotech and
Camunda write them are read (Camunda's variable names as input expressions, its integer,
long and double typeRefs); ``docs/dmn.md`` has the survey of real models behind that.

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

Anything else — a literal-expression decision, a business knowledge model, a context, JUEL,
an input expression that is not a plain name, FEEL the cell parser cannot read — is reported
as a :class:`~engine.errors.WorkbookError` problem that says what the construct is and names
the decision, the rule (id and position) and the clause, with the code of its check
(``TV126`` for what is outside the subset); nothing is skipped silently. Elements that only
document a model (the diagram, text annotations, knowledge sources, authority requirements,
decision services) are ignored.

DMN names (``Approval Status``) are kept as the model's table, input and output names, so a
decision's result is ``Decision.outputs["Approval Status"]``. The XML is parsed with
defusedxml: no DTD, no entity expansion, no external reference.

The modules, in the order a file goes through them:

* :mod:`~engine.dmn.xml` — safe parsing, namespaces, element helpers, locations, problems;
* :mod:`~engine.dmn.reader` — the entry points and the order of the passes;
* :mod:`~engine.dmn.typerefs` — typeRefs and itemDefinitions;
* :mod:`~engine.dmn.clauses` — a decision's XML -> raw clauses and rules;
* :mod:`~engine.dmn.outputs` — output clauses -> output definitions;
* :mod:`~engine.dmn.inputs` — inputData -> input definitions;
* :mod:`~engine.dmn.decision_tables` — raw decisions -> tables of read cells;
* :mod:`~engine.dmn.entries` — FEEL entry text <-> conditions and values, both ways;
* :mod:`~engine.dmn.writer` — model -> DMN 1.3 XML.
"""

from engine.dmn.entries import (
    feel_condition,
    feel_literal,
    feel_number,
    list_test_text,
    read_literal_entry,
)
from engine.dmn.reader import MAX_DMN_BYTES, read_dmn, read_dmn_file, snake_case
from engine.dmn.typerefs import BUILTIN_TYPES
from engine.dmn.writer import DMN13_NAMESPACE, FEEL13_NAMESPACE, model_to_dmn
from engine.dmn.xml import (
    DMN_NAMESPACE,
    DMN_SUFFIXES,
    EXTENSION_NAMESPACE,
    DmnLocation,
    is_dmn_path,
    parse_xml,
)

__all__ = [
    "BUILTIN_TYPES",
    "DMN13_NAMESPACE",
    "DMN_NAMESPACE",
    "DMN_SUFFIXES",
    "EXTENSION_NAMESPACE",
    "FEEL13_NAMESPACE",
    "MAX_DMN_BYTES",
    "DmnLocation",
    "feel_condition",
    "feel_literal",
    "feel_number",
    "is_dmn_path",
    "list_test_text",
    "model_to_dmn",
    "parse_xml",
    "read_dmn",
    "read_dmn_file",
    "read_literal_entry",
    "snake_case",
]
