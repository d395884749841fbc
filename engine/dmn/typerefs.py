"""DMN types: the built-in typeRefs the engine supports, the typeRef of each kind of value,
and resolving a typeRef through ``itemDefinition`` elements to what the reader needs (a
base type, allowed values, components, whether it is a collection)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from engine.dmn.xml import DmnLocation, Problems, dmn_name, feel_text, local_name
from engine.model import Kind

BUILTIN_TYPES = ("number", "string", "boolean")
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

    def component(self, name: str) -> DmnType | None:
        return next((t for n, t in self.components if n == name), None)


class TypeResolver:
    """Resolves typeRefs against the model's itemDefinitions, each once; ``None`` stands for
    an unknown type (reported) or ``Any``."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.item_defs: dict[str, Element] = {}
        self.resolved: dict[str, DmnType | None] = {}

    def resolve(self, ref: str | None, where: DmnLocation) -> DmnType | None:
        if not ref:
            return None
        ref = ref.strip()
        if ref in self.resolved:
            return self.resolved[ref]
        bare = ref.rsplit(":", 1)[-1] if ":" in ref else ref
        if ref in self.item_defs or bare in self.item_defs:
            name = ref if ref in self.item_defs else bare
            self.resolved[ref] = None  # guards against a definition that refers to itself
            resolved = self._item_type(self.item_defs[name])
            self.resolved[ref] = resolved
            return resolved
        if bare in BUILTIN_TYPES:
            return DmnType(bare)
        if bare.lower() == "any":
            return None
        self.problems.add(
            where,
            f"type '{ref}' is not supported",
            "use number, string or boolean, or an itemDefinition built on one of them",
        )
        self.resolved[ref] = None
        return None

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
                components.append((dmn_name(child.get("name")), self._item_type(child)))
            elif local in ("description", "extensionElements", "typeConstraint"):
                continue
            else:
                self.problems.add(here, f"<{local}> in an itemDefinition is not supported")
        collection = item.get("isCollection", "false").strip() == "true"
        if components:
            return DmnType(None, None, tuple(components), collection)
        if base is None:
            return None
        return DmnType(base.base, allowed or base.allowed, base.components, collection)
