"""What a workbook holds and DMN cannot carry, in a sidecar file beside the ``.dmn`` file.

``triage convert table.xlsx table.dmn`` writes ``table.dmn.triage.json`` (:func:`sidecar_path`)
holding, as plain JSON:

* ``safety``: the Safety sheet's rows, as written (DMN has no properties);
* ``labels``: the Inputs sheet's *Label* and *Value labels* and each table's *Labels* row;
* ``titles``: the sheet name of each table; ``sheets``: the names of the sheets the engine
  reads, in their order; ``tests_columns``: the order of the Tests sheet's columns;
* ``cells``: the cells whose spelling DMN does not keep (DMN writes canonical FEEL, so
  ``focal, multifocal`` comes back as ``"focal", "multifocal"`` and ``6.0`` as ``6``),
  each with the text the workbook had;
* the SHA-256 of the ``.dmn`` and test-case files it was written with, and the workbook's
  content version.

Converting back lays the sidecar over what the DMN and test-case files give. The
structural parts (Safety, labels, titles) are always laid over; the cell spellings only when
the ``.dmn`` and test-case files are byte for byte the files they were written with, since
after an edit in another tool a cell position may hold another rule. So an unedited round
trip gives the workbook's content version back exactly, and an edited one gives the edits,
in canonical spelling.

Other DMN tools ignore the file; the DMN file alone still says everything that decides a
result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import Problem, UnreadableFile
from engine.model import Model
from engine.workbook import RawValue, Sheet, cell_name

FORMAT = "triage-rules dmn sidecar 1"


def sidecar_path(dmn_path: str | Path) -> Path:
    """``table.dmn`` -> ``table.dmn.triage.json``."""
    dmn_path = Path(dmn_path)
    return dmn_path.with_name(dmn_path.name + ".triage.json")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Sidecar:
    content_version: str = ""
    dmn_sha256: str = ""
    tests_sha256: str = ""
    safety: list[list[RawValue]] | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # table name -> sheet title
    sheets: list[str] = field(default_factory=list)  # the read sheets' titles, in order
    tests_columns: list[str] = field(default_factory=list)  # Tests header after Test id
    cells: dict[str, dict[str, RawValue]] = field(default_factory=dict)  # title -> A1 -> value

    @property
    def spelled(self) -> int:
        """How many cells' spelling the sidecar keeps."""
        return sum(len(c) for c in self.cells.values())

    def to_json(self) -> bytes:
        data = {
            "format": FORMAT,
            "written_by": "triage convert",
            "content_version": self.content_version,
            "dmn_sha256": self.dmn_sha256,
            "tests_sha256": self.tests_sha256,
            "safety": None if self.safety is None else [_row(r) for r in self.safety],
            "labels": self.labels,
            "titles": self.titles,
            "sheets": self.sheets,
            "tests_columns": self.tests_columns,
            "cells": {s: {k: _encode(v) for k, v in c.items()} for s, c in self.cells.items()},
        }
        return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def read_sidecar(path: Path) -> Sidecar:
    """A sidecar written by :meth:`Sidecar.to_json`; anything else is refused, saying why."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"it is not a {FORMAT!r} file")
        safety = data.get("safety")
        if safety is not None and not _list_of(safety, list):
            raise ValueError("'safety' is not a list of rows")
        _check_labels(data.get("labels") or {})
        return Sidecar(
            content_version=str(data.get("content_version", "")),
            dmn_sha256=str(data.get("dmn_sha256", "")),
            tests_sha256=str(data.get("tests_sha256", "")),
            safety=None if safety is None else [[_decode(v) for v in r] for r in safety],
            labels=dict(data.get("labels") or {}),
            titles={str(k): str(v) for k, v in (data.get("titles") or {}).items()},
            sheets=[str(s) for s in data.get("sheets") or []],
            tests_columns=[str(s) for s in data.get("tests_columns") or []],
            cells={
                str(s): {str(k): _decode(v) for k, v in c.items()}
                for s, c in (data.get("cells") or {}).items()
            },
        )
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the sidecar cannot be read ({exc})",
                    "convert the workbook to DMN again, or delete the sidecar to convert "
                    "without it",
                    "TV001",
                )
            ],
            str(path),
        ) from exc


def _list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _check_labels(labels: Any) -> None:
    """The shape :func:`engine.convert` writes: inputs by name, outputs by table."""
    inputs = labels.get("inputs", {}) if isinstance(labels, dict) else None
    outputs = labels.get("outputs", {}) if isinstance(labels, dict) else None
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        raise ValueError("'labels' must hold 'inputs' and 'outputs' objects")
    for name, given in inputs.items():
        if not (
            isinstance(given, dict)
            and isinstance(given.get("label", ""), str)
            and _list_of(given.get("values", []), str)
        ):
            raise ValueError(f"the labels of input '{name}' are not a label and a list")
    for name, given in outputs.items():
        if not (_list_of(given, list) and all(_list_of(g, str) for g in given)):
            raise ValueError(f"the labels of table '{name}' are not lists of labels")


# --- labels --------------------------------------------------------------------------------


def labels_of(model: Model) -> dict[str, object]:
    """Labels by input name, and by table name and output position (DMN names a single
    output after its decision)."""
    return {
        "inputs": {
            i.name: {"label": i.label, "values": list(i.value_labels)}
            for i in model.inputs
            if i.label or i.value_labels
        },
        "outputs": {
            t.name: [list(o.labels) for o in t.outputs]
            for t in model.tables
            if any(o.labels for o in t.outputs)
        },
    }


def with_labels(model: Model, labels: Mapping[str, object]) -> Model:
    """``model`` with the labels a sidecar keeps (names the model no longer has are left)."""
    inputs = labels.get("inputs") or {}
    outputs = labels.get("outputs") or {}
    assert isinstance(inputs, dict) and isinstance(outputs, dict)
    new_inputs = tuple(
        replace(
            i,
            label=str(inputs[i.name].get("label") or ""),
            value_labels=tuple(str(v) for v in inputs[i.name].get("values") or ()),
        )
        if i.name in inputs
        else i
        for i in model.inputs
    )
    new_tables = []
    for table in model.tables:
        given = outputs.get(table.name)
        if isinstance(given, list) and len(given) == len(table.outputs):
            outs = tuple(
                replace(o, labels=tuple(str(v) for v in g))
                for o, g in zip(table.outputs, given, strict=True)
            )
            table = replace(table, outputs=outs)
        new_tables.append(table)
    return replace(model, inputs=new_inputs, tables=tuple(new_tables))


# --- cells as JSON -------------------------------------------------------------------------


def _row(row: Iterable[RawValue]) -> list[Any]:
    values = [_encode(v) for v in row]
    while values and values[-1] is None:
        values.pop()
    return values


def _encode(value: RawValue) -> Any:
    """A cell as JSON: dates and times as ``{"date": "2024-01-15"}`` and the like."""
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    return value


def _decode(value: Any) -> RawValue:
    if isinstance(value, dict):
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
        if "time" in value:
            return dt.time.fromisoformat(value["time"])
        raise ValueError(f"unknown cell value {value!r}")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"unknown cell value {value!r}")


# --- the cells DMN does not keep -----------------------------------------------------------


def _same(a: RawValue, b: RawValue) -> bool:
    """The same cell for the content version: 38.0 is 38, but True is not 1."""
    from engine.loader import _canonical

    ca, cb = _canonical(a), _canonical(b)
    return type(ca) is type(cb) and ca == cb


def spelling(
    original: Sequence[Sheet], generated: Sequence[Sheet]
) -> dict[str, dict[str, RawValue]]:
    """Per sheet title, each cell of ``original`` that ``generated`` spells otherwise (an
    empty original cell is ``None``). Sheets are matched as the engine matches them."""
    made = {s.name.strip().lower(): s for s in generated}
    cells: dict[str, dict[str, RawValue]] = {}
    for sheet in original:
        other = made.get(sheet.name.strip().lower(), Sheet(sheet.name, ()))
        found: dict[str, RawValue] = {}
        for r in range(max(len(sheet.rows), len(other.rows))):
            for c in range(max(sheet.width, other.width)):
                if not _same(sheet.value(r, c), other.value(r, c)):
                    found[cell_name(r, c)] = sheet.value(r, c)
        if found:
            cells[sheet.name] = found
    return cells


def restore(sheets: Sequence[Sheet], side: Sidecar) -> list[Sheet]:
    """The workbook's own sheets back: ``sheets`` (as the DMN and test-case files give them)
    with the kept spellings laid over, only the sheets the workbook had, in its order."""
    keys = [name.strip().lower() for name in side.sheets]
    kept = [s for s in respell(sheets, side.cells) if s.name.strip().lower() in keys]
    return sorted(kept, key=lambda s: keys.index(s.name.strip().lower()))


def respell(sheets: Sequence[Sheet], cells: Mapping[str, Mapping[str, RawValue]]) -> list[Sheet]:
    """``sheets`` with the kept spellings laid over them (a sheet named only in ``cells`` is
    added)."""
    by_key = {name.strip().lower(): (name, spelled) for name, spelled in cells.items()}
    result = []
    seen = set()
    for sheet in sheets:
        key = sheet.name.strip().lower()
        seen.add(key)
        if key not in by_key:
            result.append(sheet)
            continue
        name, spelled = by_key[key]
        result.append(_set(Sheet(name, sheet.rows), spelled))
    for key, (name, spelled) in by_key.items():
        if key not in seen:
            result.append(_set(Sheet(name, ()), spelled))
    return result


def _set(sheet: Sheet, cells: Mapping[str, RawValue]) -> Sheet:
    rows = [list(r) for r in sheet.rows]
    for ref, value in cells.items():
        r, c = _position(ref)
        while len(rows) <= r:
            rows.append([])
        while len(rows[r]) <= c:
            rows[r].append(None)
        rows[r][c] = value
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return Sheet(sheet.name, tuple(tuple(r) for r in rows))


def _position(ref: str) -> tuple[int, int]:
    """``'C12'`` -> ``(11, 2)``."""
    letters = ref.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return int(ref[len(letters) :]) - 1, col - 1
