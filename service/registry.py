"""The tables a worker process serves, and how a reload replaces one.

Everything a request reads is one immutable :class:`Snapshot`: the serving version of each
table (and the superseded versions kept for pinning), and the last load result of each file.
A reload builds a new snapshot and swaps the one reference, so a request sees either the old
state or the new one, never a mixture, and needs no lock. Writers (the watcher thread and
``/v1/admin/reload``) take one lock, so loads happen one at a time and in order.

A workbook replaces the serving version only after the gate (:mod:`service.gate`) accepts
it. A refused workbook leaves the last good version serving; the refusal is kept in the
file's status (shown by ``/v1/tables``), logged, and counted in ``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.evaluator import CompiledModel
from service import gate, schema
from service.explain import Explainer

SUFFIXES = (".xlsx", ".dmn")

log = logging.getLogger("service.reload")


@dataclass(frozen=True)
class Signature:
    """What identifies the content of a file without reading it (mtime, size), and the hash
    of what was read when it was."""

    mtime_ns: int
    size: int
    sha256: str = ""

    def same_stat(self, other: Signature | None) -> bool:
        return other is not None and (self.mtime_ns, self.size) == (other.mtime_ns, other.size)


@dataclass(frozen=True)
class LoadedTable:
    """One loaded, gated version of a table, with what requests need precomputed."""

    model: CompiledModel
    source: str
    signature: Signature
    loaded_at: dt.datetime
    explainer: Explainer
    input_schema: Mapping[str, Any]

    @property
    def table_id(self) -> str:
        return self.model.about.table_id

    @property
    def version(self) -> str:
        return self.model.version


@dataclass(frozen=True)
class TableSlot:
    """The serving version of a table, and the versions it replaced (newest first)."""

    current: LoadedTable
    previous: tuple[LoadedTable, ...] = ()

    def find(self, version: str | None) -> LoadedTable | None:
        if version is None or version == self.current.version:
            return self.current
        return next((t for t in self.previous if t.version == version), None)


@dataclass(frozen=True)
class FileStatus:
    """The result of the last attempt to load one file."""

    source: str
    ok: bool
    at: dt.datetime
    signature: Signature | None
    table_id: str | None = None
    version: str | None = None
    problems: tuple[Mapping[str, Any], ...] = ()
    removed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": "removed" if self.removed else "ok" if self.ok else "failed",
            "at": iso(self.at),
            "table_id": self.table_id,
            "version": self.version,
            "errors": [dict(p) for p in self.problems],
        }


@dataclass(frozen=True)
class Snapshot:
    slots: Mapping[str, TableSlot] = field(default_factory=dict)  # by table id
    files: Mapping[str, FileStatus] = field(default_factory=dict)  # by source path
    owners: Mapping[str, str] = field(default_factory=dict)  # source path -> table id


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def signature_of(path: Path, with_hash: bool = False) -> Signature | None:
    """The file's signature, or None when it is gone."""
    try:
        stat = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if with_hash else ""
    except OSError:
        return None
    return Signature(stat.st_mtime_ns, stat.st_size, digest)


def table_files(folder: Path) -> list[Path]:
    """The workbooks in ``folder``: *.xlsx and *.dmn, not Excel's ``~$`` lock files and not
    hidden files (editors write temporary copies under such names)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return sorted(
        p for p in entries
        if p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", ".")) and p.is_file()
    )


class Registry:
    """The tables of one worker process. ``snapshot`` may be read from any thread."""

    def __init__(
        self,
        folder: Path,
        keep_previous: int = 1,
        use_validator: bool = True,
        on_reload: Callable[[FileStatus], None] | None = None,
    ) -> None:
        self.folder = folder
        self.keep_previous = keep_previous
        self.use_validator = use_validator
        self.on_reload = on_reload
        self.snapshot = Snapshot()
        self._write = threading.Lock()

    def find(self, table_id: str, version: str | None = None) -> LoadedTable | None:
        slot = self.snapshot.slots.get(table_id)
        return slot.find(version) if slot else None

    def scan(self, force: bool = False) -> list[FileStatus]:
        """Load every file of the folder that is new or changed (every file with ``force``)
        and retire tables whose file is gone. Returns the statuses of the files it loaded."""
        results = []
        with self._write:
            present = table_files(self.folder)
            for path in present:
                signature = signature_of(path, with_hash=True)
                if signature is None:
                    continue
                known = self.snapshot.files.get(str(path))
                if force or known is None or known.signature != signature:
                    results.append(self._load(path, signature))
            names = {str(p) for p in present}
            for source in [s for s in self.snapshot.files if s not in names]:
                self._remove(source)
        return results

    def load(self, path: Path, signature: Signature) -> FileStatus:
        with self._write:
            return self._load(path, signature)

    def touch(self, source: str, signature: Signature) -> None:
        """Record a new mtime for a file whose bytes did not change (no reload)."""
        with self._write:
            snap = self.snapshot
            known = snap.files.get(source)
            if known is not None and known.signature is not None:
                if known.signature.sha256 == signature.sha256:
                    status = replace(known, signature=signature)
                    self._publish(replace(snap, files=_with(snap.files, source, status)))

    def remove(self, source: str) -> None:
        with self._write:
            self._remove(source)

    def _load(self, path: Path, signature: Signature) -> FileStatus:
        source = str(path)
        result = gate.check(path, self.use_validator)
        snap = self.snapshot
        model = result.model
        if model is None:
            status = FileStatus(source, False, now(), signature, snap.owners.get(source),
                                None, result.problems)
            self._publish(replace(snap, files=_with(snap.files, source, status)))
            self._report(status)
            return status
        table_id = model.about.table_id
        owner = next((s for s, t in snap.owners.items() if t == table_id and s != source), None)
        if owner is not None:
            problem = {
                "sheet": "About", "cell": None,
                "message": f"table id '{table_id}' is already served from {owner}",
                "fix": "give this workbook its own Table id, or remove one of the two files",
            }
            status = FileStatus(source, False, now(), signature, snap.owners.get(source),
                                None, (problem,))
            self._publish(replace(snap, files=_with(snap.files, source, status)))
            self._report(status)
            return status
        loaded = LoadedTable(model, source, signature, now(), Explainer(model.model),
                             MappingProxyType(schema.input_schema(model.model)))
        slots = dict(snap.slots)
        old_id = snap.owners.get(source)
        if old_id is not None and old_id != table_id:
            slots.pop(old_id, None)  # the file now holds another table
        slots[table_id] = self._succeed(slots.get(table_id), loaded)
        status = FileStatus(source, True, loaded.loaded_at, signature, table_id, model.version)
        self._publish(Snapshot(MappingProxyType(slots), _with(snap.files, source, status),
                               _with(snap.owners, source, table_id)))
        self._report(status)
        return status

    def _succeed(self, slot: TableSlot | None, loaded: LoadedTable) -> TableSlot:
        if slot is None:
            return TableSlot(loaded)
        if slot.current.version == loaded.version:
            return TableSlot(loaded, slot.previous)
        kept = (slot.current, *(p for p in slot.previous if p.version != loaded.version))
        return TableSlot(loaded, kept[: self.keep_previous])

    def _remove(self, source: str) -> None:
        snap = self.snapshot
        table_id = snap.owners.get(source)
        slots = {k: v for k, v in snap.slots.items() if k != table_id}
        status = FileStatus(source, True, now(), None, table_id, None, removed=True)
        files = {k: v for k, v in snap.files.items() if k != source}
        owners = {k: v for k, v in snap.owners.items() if k != source}
        self._publish(Snapshot(MappingProxyType(slots), MappingProxyType(files),
                               MappingProxyType(owners)))
        log.warning("table file removed; table retired",
                    extra={"source": source, "table_id": table_id})
        if self.on_reload:
            self.on_reload(status)

    def _publish(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot  # the one reference requests read: an atomic swap

    def _report(self, status: FileStatus) -> None:
        if status.ok:
            log.info("table loaded", extra={"source": status.source,
                                            "table_id": status.table_id,
                                            "version": status.version})
        else:
            log.error("reload refused; the last good version keeps serving",
                      extra={"source": status.source, "table_id": status.table_id,
                             "errors": [dict(p) for p in status.problems[:20]]})
        if self.on_reload:
            self.on_reload(status)


def _with(mapping: Mapping[str, Any], key: str, value: Any) -> Mapping[str, Any]:
    updated = dict(mapping)
    updated[key] = value
    return MappingProxyType(updated)


def describe_files(statuses: Iterable[FileStatus]) -> list[dict[str, Any]]:
    return [s.as_dict() for s in statuses]
