"""DMN XML, read safely: parsing without DTDs or entities, the OMG namespaces, helpers for
elements, where a problem is (:class:`DmnLocation`) and the list every stage adds problems to.

Problems are collected rather than raised, so that one read reports everything wrong with a
file, as a workbook's does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from engine.errors import Location, Problem, UnreadableFile
from engine.values import ValueProblem

# Any OMG DMN model namespace: 1.1 (…/20151101/dmn.xsd), 1.2 (…/20180521/MODEL/),
# 1.3 (…/20191111/MODEL/), 1.4 (…/20211108/MODEL/), 1.5 (…/20230324/MODEL/) and later ones.
DMN_NAMESPACE = re.compile(r"https?://www\.omg\.org/spec/DMN/\d{8}/(?:MODEL/?|dmn\.xsd)\Z")
# Details a workbook has and DMN has not (About fields, units, required, integer) travel in
# extensionElements under this namespace; see engine.dmn.writer.
EXTENSION_NAMESPACE = "urn:triage-rules:dmn-extension:1"

T = TypeVar("T")


class DmnLocation(Location):
    """Where in a DMN file: ``sheet`` names the DRG element (``decision 'Approval Status'``),
    ``cell`` the element inside it and its id (``inputEntry '_7f03-0' (rule 1, input 'Age')``)."""

    def __str__(self) -> str:
        return f"{self.sheet}, {self.cell}" if self.cell else self.sheet


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
    """The problems one read of a DMN file finds, in the order it finds them."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, where: Location | None, message: str, fix: str = "") -> None:
        self.found.append(Problem(where, message, fix))

    def unsupported(self, where: DmnLocation, what: str, fix: str) -> None:
        self.add(where, f"not supported: {what}", fix)

    def check_language(self, el: Element, where: DmnLocation) -> None:
        """Entries are read as FEEL; an element that declares another language is refused."""
        language = el.get("expressionLanguage")
        if language and "feel" not in language.lower():
            self.add(
                where,
                f"expression language '{language}' is not supported",
                "write the entries in FEEL (remove the expressionLanguage attribute)",
            )

    def read_or_report(self, read: Callable[[str], T], text: str, where: Location) -> T | None:
        """``read(text)``, or ``None`` after adding the :class:`ValueProblem` it raised."""
        try:
            return read(text)
        except ValueProblem as exc:
            self.add(where, exc.message, exc.fix)
            return None
