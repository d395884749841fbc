"""What the About sheet must say before a table may serve patients as released.

A table may be loaded and tried while it is written; it is *released* only when a named
clinician has reviewed this version on a real date. Placeholders such as "Pending" do not
count: the review either happened or it did not. ``triage validate --release`` reports each
missing field at its cell (TV801), and the service marks every answer from an unreleased
table ``"released": false``.
"""

from __future__ import annotations

import datetime as dt
import re

from engine.errors import Location, Problem
from engine.model import About

CODE = "TV801"  # the check that reports a release field; only ``--release`` runs it

RELEASE_FIELDS = {
    "owner": "Owner",
    "clinical_reviewer": "Clinical reviewer",
    "review_date": "Review date",
}
_PLACEHOLDER = re.compile(
    r"^\W*$|pending|to be (?:done|confirmed|reviewed|filled)|not (?:yet )?reviewed|"
    r"\b(?:tbd|tbc|todo|n/a|none|unknown|draft|placeholder|xxx+|awaiting|later)\b",
    re.IGNORECASE,
)


def release_problems(about: About, today: dt.date | None = None) -> list[Problem]:
    """Every release field that is missing, a placeholder, or (the review date) not a real
    date up to ``today``."""
    today = today or dt.date.today()
    problems = []
    for name, label in RELEASE_FIELDS.items():
        value = getattr(about, name).strip()
        where = about.location(name) or Location("About")
        if not value:
            problems.append(
                Problem(
                    where,
                    f"'{label}' is empty, so this version is a draft",
                    _FIXES[name],
                    CODE,
                )
            )
        elif _PLACEHOLDER.search(value):
            problems.append(
                Problem(
                    where,
                    f"'{label}' says '{value}', a placeholder: this version has not been "
                    "released",
                    _FIXES[name],
                    CODE,
                )
            )
        elif name == "clinical_reviewer" and not re.search(r"[^\W\d_]{2}", value):
            problems.append(
                Problem(where, f"'{value}' does not name a reviewer", _FIXES[name], CODE)
            )
        elif name == "review_date":
            problem = _date_problem(value, today)
            if problem:
                problems.append(Problem(where, problem, _FIXES[name], CODE))
    return problems


def review_status(about: About) -> str:
    """A short status for people and clients: who reviewed this version and when, or why it
    is a draft."""
    problems = release_problems(about)
    if not problems:
        return f"reviewed by {about.clinical_reviewer} on {about.review_date}"
    missing = [label for name, label in RELEASE_FIELDS.items() if _is_missing(about, name)]
    return "draft: not reviewed (" + ", ".join(missing or ["review fields"]) + " not filled in)"


def _is_missing(about: About, name: str) -> bool:
    value = getattr(about, name).strip()
    return not value or bool(_PLACEHOLDER.search(value))


def _date_problem(value: str, today: dt.date) -> str | None:
    try:
        date = dt.date.fromisoformat(value[:10])
    except ValueError:
        return f"'{value}' is not a date"
    if date > today:
        return f"the review date {date.isoformat()} is in the future"
    return None


_FIXES = {
    "owner": "write the person or team accountable for this table",
    "clinical_reviewer": "write the name of the clinician who reviewed this version",
    "review_date": "write the date of that review, for example 2026-11-30 (not in the future)",
}
