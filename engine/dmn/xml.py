"""DMN XML, read safely: parsing without DTDs or entities, the OMG namespaces, helpers for
elements, where a problem is (:class:`DmnLocation`) and the list every stage adds problems to.

Problems are collected rather than raised, so that one read reports everything wrong with a
file, as a workbook's does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from engine.errors import Location, Problem, UnreadableFile
from engine.values import ValueProblem

# Any OMG DMN model namespace: 1.1 (…/20151101/dmn.xsd, or …/dmn11.xsd as older Camunda
# tools wrote it), 1.2 (…/20180521/MODEL/), 1.3 (…/20191111/MODEL/), 1.4 (…/20211108/MODEL/),
# 1.5 (…/20230324/MODEL/) and later ones.
DMN_NAMESPACE = re.compile(r"https?://www\.omg\.org/spec/DMN/\d{8}/(?:MODEL/?|dmn\d*\.xsd)\Z")
# A DMN file is named *.dmn, or *.xml (Camunda's *.dmn11.xml): no workbook is plain XML.
DMN_SUFFIXES = (".dmn", ".xml")
# Details a workbook has and DMN has not (About fields, units, required, integer) travel in
# extensionElements under this namespace; see engine.dmn.writer.
EXTENSION_NAMESPACE = "urn:triage-rules:dmn-extension:1"

T = TypeVar("T")

# Expression languages that are not FEEL, named for the message that refuses them.
_LANGUAGES = {
    "juel": "JUEL (Java Unified Expression Language, ${…})",
    "groovy": "Groovy",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "python": "Python",
    "jython": "Python",
    "jruby": "Ruby",
    "ruby": "Ruby",
    "mvel": "MVEL",
}


def is_dmn_path(path: str | Path) -> bool:
    """Is ``path`` read as a DMN model (``model.dmn``, ``dish-decision.dmn11.xml``)?"""
    return Path(path).suffix.lower() in DMN_SUFFIXES


class DmnLocation(Location):
    """Where in a DMN file: ``sheet`` names the DRG element (``decision 'Approval Status'``),
    ``cell`` the part of it (``rule 'r7' (#3), input 'Age'``, ``output 'Status'``)."""

    def __str__(self) -> str:
        return f"{self.sheet}, {self.cell}" if self.cell else self.sheet


def rule_label(ident: str, number: int) -> str:
    """A rule as messages name it: by id and position (``rule 'r7' (#3)``)."""
    return f"rule '{ident}' (#{number})" if ident else f"rule #{number}"


def parse_xml(data: bytes, source: str) -> Element:
    """Parse XML safely: a DTD, an entity or an external reference is refused."""
    try:
        return SafeElementTree.fromstring(data, forbid_dtd=True)  # type: ignore[no-any-return]
    except DefusedXmlException as exc:
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the XML declares XML entities or a DTD, which are refused for safety ({exc})",
                    "remove the <!DOCTYPE …> declaration",
                    "TV004",
                )
            ],
            source,
        ) from exc
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"this is not well-formed XML ({exc})",
                    "save the file as DMN XML from a DMN modeler",
                    "TV001",
                )
            ],
            source,
        ) from exc


# --- elements ------------------------------------------------------------------------------


def local_name(el: Element) -> str:
    """The tag without its namespace: ``decision`` for ``{…/MODEL/}decision``."""
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace_of(el: Element) -> str:
    """The tag's namespace ('' when it has none)."""
    tag = el.tag
    return tag[1 : tag.index("}")] if isinstance(tag, str) and tag.startswith("{") else ""


def feel_text(el: Element | None) -> str | None:
    """The ``<text>`` child of an element (``None`` when it has none)."""
    if el is None:
        return None
    for child in el:
        if local_name(child) == "text":
            return (child.text or "").strip()
    return None


def dmn_name(text: str | None) -> str:
    """DMN names compare with their spaces normalised."""
    return " ".join((text or "").split())


def label(el: Element, fallback: str = "") -> str:
    """How a problem names an element: by its id (``inputEntry '_7f03'``), else ``fallback``."""
    ident = el.get("id")
    return f"{local_name(el)} '{ident}'" if ident else (fallback or local_name(el))


# --- problems ------------------------------------------------------------------------------


class Problems:
    """The problems one read of a DMN file finds, in the order it finds them. Each carries
    the code of its check (docs/validation.md), decided where it is found."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, where: Location | None, message: str, fix: str, *, code: str) -> None:
        self.found.append(Problem(where, message, fix, code))

    def unsupported(self, where: DmnLocation, what: str, fix: str) -> None:
        """A DMN construct the engine cannot compile: ``what`` says what it is."""
        self.add(where, f"{what} is not supported: {_UNSUPPORTED_WHY}", fix, code=UNSUPPORTED)

    def check_language(self, el: Element, where: DmnLocation) -> None:
        """Entries are read as FEEL; an element that declares another language is refused."""
        language = el.get("expressionLanguage")
        if language and "feel" not in language.lower():
            key = language.strip().lower().rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            named = _LANGUAGES.get(key, f"'{language}'")
            self.add(
                where,
                f"the expression language {named} is not supported: only FEEL entries can be "
                "compiled to rules",
                "rewrite the entries in FEEL and remove the expressionLanguage attribute",
                code=UNSUPPORTED,
            )

    def read_or_report(
        self, read: Callable[[str], T], text: str, where: Location, code: str
    ) -> T | None:
        """``read(text)``, or ``None`` after adding the :class:`ValueProblem` it raised."""
        try:
            return read(text)
        except ValueProblem as exc:
            self.add(where, exc.message, exc.fix, code=getattr(exc, "code", code))
            return None


UNSUPPORTED = "TV126"  # the check code of every construct outside the supported subset
MALFORMED = "TV127"  # an element lacks a part DMN requires, or points at nothing
_UNSUPPORTED_WHY = "only decision tables with FEEL unary tests can be compiled to rules"
