"""`triage format`: rebuilds a workbook's editing helpers (drop-downs, notes, frozen panes,
widths, urgency colours, the ``Lists`` and ``How to edit`` sheets) from its content, without
changing any cell's content."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FormatResult:
    """What formatting did (or, with ``check``, would do) to one workbook.

    ``changed`` is true when the file was not already formatted; with ``check=True`` the file
    is never written. ``warnings`` are one-line messages for the user (for example a
    ``~$name.xlsx`` lock file showing that Excel has the workbook open).
    """

    path: Path
    changed: bool
    warnings: tuple[str, ...] = field(default=())


def format_workbook(path: str | Path, *, check: bool = False) -> FormatResult:
    """Format ``path`` in place (through a temporary file renamed over it).

    With ``check=True`` nothing is written; ``FormatResult.changed`` says whether formatting
    would change the file. A workbook that does not load raises the same located
    :class:`engine.errors.TriageError` as ``triage validate``.
    """
    raise NotImplementedError("triage format is being written")
