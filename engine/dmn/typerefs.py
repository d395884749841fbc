"""DMN types: the built-in typeRefs the engine supports, the typeRef of each kind of value,
and resolving a typeRef through ``itemDefinition`` elements to what the reader needs (a
base type, allowed values, components, whether it is a collection).

Besides FEEL's ``number``, ``string`` and ``boolean``, the typeRefs Camunda's modeler writes
are read: ``integer`` and ``long`` (whole numbers) and ``double`` (a number)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from engine.dmn.xml import DmnLocation, Problems, dmn_name, feel_text, local_name
from engine.model import Kind

BUILTIN_TYPES = ("number", "string", "boolean")
# Other built-in typeRefs read as one of them: (base type, whole numbers only).
_ALIASES = {
    "integer": ("number", True),
    "long": ("number", True),
    "double": ("number", False),
}
# FEEL types the engine cannot compare, as messages name them.
_UNSUPPORTED_TYPES = {
    "date": "a FEEL date",
    "time": "a FEEL time",
    "dateTime": "a FEEL date and time",
    "date and time": "a FEEL date and time",
    "duration": "a FEEL duration",
    "days and time duration": "a FEEL duration",
    "dayTimeDuration": "a FEEL duration",
    "years and months duration": "a FEEL duration",
    "yearMonthDuration": "a FEEL duration",
    "context": "a FEEL context",
    "list": "a FEEL list",
    "function": "a FEEL function",
    "range": "a FEEL range",
}
TYPE_REF = {  # the typeRef that holds each kind of value
    Kind.NUMBER: "number",
    Kind.INTEGER: "number",
    Kind.BOOLEAN: "boolean",
    Kind.ENUM: "string",
    Kind.TEXT: "string",
}


@dataclass(frozen=True)
class DmnType:
    """A resolved typeRef: a built-in base type, the allowedValues text it carries, the
    components of a structure, and whether it is a collection."""

    base: str | None
    allowed: str | None = None
    components: tuple[tuple[str, DmnType | None], ...] = ()
    collection: bool = False
    whole: bool = False  # integer or long: whole numbers only

    def component(self, name: str) -> DmnType | None:
        return next((t for n, t in self.components if n == name), None)


MAX_TYPE_DEPTH = 32  # itemDefinitions inside (or built on) one another


class TypeResolver:
    """Resolves typeRefs against the model's itemDefinitions, each once; ``None`` stands for
    an unknown type (reported) or ``Any``."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.item_defs: dict[str, Element] = {}
        self.resolved: dict[str, DmnType | None] = {}
        self._refused: dict[str, tuple[str, str]] = {}  # refused typeRef -> message, fix
        self._depth = 0  # itemDefinitions being resolved, one inside another

    def resolve(self, ref: str | None, where: DmnLocation) -> DmnType | None:
        if not ref:
            return None
        ref = ref.strip()
        if ref in self._refused:  # reported again where it is used again
            message, fix = self._refused[ref]
            self.problems.add(where, message, fix, code="TV117")
            return None
        if ref in self.resolved:
            return self.resolved[ref]
        bare = ref.rsplit(":", 1)[-1] if ":" in ref else ref
        if ref in self.item_defs or bare in self.item_defs:
            name = ref if ref in self.item_defs else bare
            self.resolved[ref] = None  # guards against a definition that refers to itself
            resolved = self._nested(self.item_defs[name], where)
            self.resolved[ref] = resolved
            base_ref = next(
                (c.text for c in self.item_defs[name] if local_name(c) == "typeRef"), None
            )
            if resolved is None and self.refused(base_ref):
                self._refused[ref] = (
                    f"the type '{ref}' is built on an unsupported type",
                    "build it on number, string or boolean",
                )
            return resolved
        if bare in BUILTIN_TYPES:
            return DmnType(bare)
        if bare in _ALIASES:
            base, whole = _ALIASES[bare]
            return DmnType(base, whole=whole)
        if bare.lower() == "any":
            return None
        known = _UNSUPPORTED_TYPES.get(bare) or _UNSUPPORTED_TYPES.get(dmn_name(bare))
        if known:
            message = f"the type '{ref}' ({known}) is not supported: rules compare numbers, text "
            message += "and booleans"
        else:
            message = f"the type '{ref}' is neither a built-in type nor an itemDefinition of "
            message += "this model"
        fix = "use number, string or boolean (or integer, long, double), or an itemDefinition "
        fix += "built on one of them"
        self.problems.add(where, message, fix, code="TV117")
        self.resolved[ref] = None
        self._refused[ref] = (message, fix)
        return None

    def refused(self, ref: str | None) -> bool:
        """Was ``ref`` stated and refused (and reported)? Then the element has a type, just
        not one the engine supports."""
        return ref is not None and ref.strip() in self._refused

    def _nested(self, item: Element, where: DmnLocation) -> DmnType | None:
        """:meth:`_item_type`, one level deeper; a type nested deeper than any real model
        nests them is refused (and cannot exhaust the stack)."""
        if self._depth >= MAX_TYPE_DEPTH:
            self.problems.add(
                where,
                f"itemDefinitions are nested more than {MAX_TYPE_DEPTH} deep",
                "use types of number, string or boolean",
                code="TV116",
            )
            return None
        self._depth += 1
        try:
            return self._item_type(item)
        finally:
            self._depth -= 1

    def _item_type(self, item: Element) -> DmnType | None:
        here = DmnLocation(f"itemDefinition '{item.get('name', '')}'", None)
        base: DmnType | None = None
        allowed = None
        components: list[tuple[str, DmnType | None]] = []
        for child in item:
            local = local_name(child)
            if local == "typeRef":
                base = self.resolve(child.text, here)
            elif local == "allowedValues":
                allowed = feel_text(child)
            elif local == "itemComponent":
                components.append((dmn_name(child.get("name")), self._nested(child, here)))
            elif local in ("description", "extensionElements", "typeConstraint"):
                continue
            else:
                self.problems.add(
                    here,
                    f"<{local}> in an itemDefinition is not supported",
                    "keep its typeRef, allowedValues and itemComponents",
                    code="TV117",
                )
        collection = item.get("isCollection", "false").strip() == "true"
        if components:
            return DmnType(None, None, tuple(components), collection)
        if base is None:
            return None
        allowed = allowed or base.allowed
        return DmnType(base.base, allowed, base.components, collection, base.whole)
