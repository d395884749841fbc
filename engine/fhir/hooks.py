"""What the About sheet says about a table's CDS Hooks service, and the meanings the cards
rest on: which output is the disposition, how urgent each of its values is, and the
patient's age from a birth date.

Two optional About fields (docs/workbook-format.md):

* ``CDS hook`` — the hook the service answers, ``patient-view`` when empty;
* ``Card indicators`` — ``VALUE: indicator`` pairs such as ``EMERGENCY: critical,
  URGENT_SAME_DAY: warning`` that replace the default mapping for the values they name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from engine.errors import Location, Problem
from engine.model import About, Kind, Model, OutputDef, Table

DEFAULT_HOOK = "patient-view"
INDICATORS = ("info", "warning", "critical")
AGE_INPUTS = ("age_years", "age")  # an integer input by one of these names is the age
_HOOK = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")


def hook_of(about: About) -> str:
    return about.cds_hook or DEFAULT_HOOK


def disposition_output(tables: Sequence[Table]) -> OutputDef | None:
    """The output a card leads with: one named ``disposition``, else the first enum output
    of the last table that has one (the end of the chain)."""
    outputs = [o for t in tables for o in t.outputs]
    named = next((o for o in outputs if o.name == "disposition"), None)
    if named is not None:
        return named
    return next((o for o in reversed(outputs) if o.kind is Kind.ENUM), None)


def default_indicator(value: object) -> str:
    """EMERGENCY is critical, the urgent levels are warnings, anything else is info."""
    text = str(value).upper()
    if text == "EMERGENCY":
        return "critical"
    return "warning" if text.startswith("URGENT") else "info"


def indicator(model: Model, value: object) -> str:
    overrides = parse_indicators(model.about.card_indicators)
    return overrides.get(str(value), default_indicator(value))


class IndicatorSyntax(ValueError):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


def parse_indicators(text: str) -> dict[str, str]:
    """``EMERGENCY: critical, GP: warning`` -> a dict. Raises :class:`IndicatorSyntax`."""
    found: dict[str, str] = {}
    for part in (p.strip() for p in re.split(r"[,;\n]", text or "")):
        if not part:
            continue
        value, colon, level = (x.strip() for x in part.partition(":"))
        if not colon or not value:
            raise IndicatorSyntax(f"'{part}' is not a pair",
                                  "write VALUE: indicator, for example EMERGENCY: critical")
        if level.lower() not in INDICATORS:
            raise IndicatorSyntax(f"'{level}' is not a card indicator",
                                  "write info, warning or critical")
        found[value.strip('"')] = level.lower()
    return found


def about_problems(about: About, tables: Sequence[Table]) -> list[Problem]:
    """The two CDS fields checked once the tables are known (check code TV105, as for every
    other About field)."""
    problems = []
    if about.cds_hook and not _HOOK.match(about.cds_hook):
        problems.append(Problem(
            about.location("cds_hook") or Location("About"),
            f"'{about.cds_hook}' is not a CDS Hooks hook name",
            "write a hook such as patient-view or encounter-start", "TV105"))
    if about.card_indicators:
        where = about.location("card_indicators") or Location("About")
        try:
            pairs = parse_indicators(about.card_indicators)
        except IndicatorSyntax as error:
            return [*problems, Problem(where, error.message, error.fix, "TV105")]
        output = disposition_output(tables)
        allowed = [str(v) for v in output.allowed_values] if output is not None else []
        for value in pairs:
            if value not in allowed:
                problems.append(Problem(
                    where, f"'{value}' is not a value of the disposition",
                    "write one of " + (", ".join(allowed) or "the disposition's values"),
                    "TV105"))
    return problems


def age_on(birth_date: object, today: dt.date) -> int | None:
    """Age in completed years on ``today`` from a FHIR date (``1980``, ``1980-05`` or
    ``1980-05-17``); None when the date is not one or is only a year (too coarse)."""
    if not isinstance(birth_date, str):
        return None
    try:
        born = dt.date.fromisoformat(birth_date[:10]) if len(birth_date) >= 10 else None
    except ValueError:
        return None
    if born is None:
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years if years >= 0 else None
