"""The tables a worker process serves, and how a reload or the version store changes them.

Everything a request reads is one immutable :class:`Snapshot`: the serving version of each
table (and other versions kept compiled for pinning), and the last load result of each file.
A change builds a new snapshot and swaps the one reference, so a request sees either the old
state or the new one, never a mixture, and needs no lock. Writers (the watcher thread,
``/v1/admin/*``) take one lock, so changes happen one at a time and in order.

Where versions come from:

* **the folder** proposes them. A workbook replaces nothing until the gate
  (:mod:`service.gate`) accepts it; a refused workbook leaves the last good version serving,
  its refusal kept in the file's status (``/v1/tables``), logged and counted in ``/metrics``.
* **the version store** (:mod:`service.versions`) decides what serves. An accepted version is
  stored and, when it is a change the watcher saw (or a version never accepted before),
  becomes the table's head. Every worker of every instance reads the heads every second or so
  and serves them, loading from the store any version it does not hold; pins resolve there
  too. A restart that finds an older workbook in its folder therefore rolls nothing back.
* **a deleted or renamed workbook** retires nothing: its last good version keeps serving,
  marked ``source_missing``. Only ``POST /v1/admin/tables/<id>/retire`` stops a table.

While the database is unreachable the folder alone decides (accepted versions wait in
``pending`` and are stored once it is back); evaluations are refused with 503 meanwhile
anyway, as no audit row can be written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.dmn.xml import DMN_SUFFIXES
from engine.evaluator import CompiledModel
from engine.workbook import WORKBOOK_SUFFIXES
from service import gate, schema
from service.database import DatabaseUnavailable
from service.explain import Explainer
from service.versions import Head, StoredVersion, VersionStore

# every file engine.load reads: a workbook saved in Excel or LibreOffice, or a DMN model
# (``*.dmn``, Camunda's ``*.dmn11.xml``); one it refuses (macros, not DMN) is listed as failed
SUFFIXES = (*WORKBOOK_SUFFIXES, *DMN_SUFFIXES)

log = logging.getLogger("service.reload")


class NotReleased(Exception):
    """A stored version exists but is a draft, and this service serves released tables only."""


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
    source: str  # file name, relative to the tables folder
    loaded_at: dt.datetime
    accepted_at: dt.datetime
    explainer: Explainer
    input_schema: Mapping[str, Any]
    validation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table_id(self) -> str:
        return self.model.about.table_id

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def released(self) -> bool:
        """Passed ``triage validate --release`` when it was accepted; a draft otherwise."""
        return gate.released(self.validation)

    @property
    def review_status(self) -> str:
        return gate.review_status_of(self.validation)


@dataclass(frozen=True)
class TableSlot:
    """The serving version of a table, and other versions kept compiled (newest first)."""

    current: LoadedTable
    previous: tuple[LoadedTable, ...] = ()
    source_missing: bool = False

    def find(self, version: str | None) -> LoadedTable | None:
        if version is None or version == self.current.version:
            return self.current
        return next((t for t in self.previous if t.version == version), None)


@dataclass(frozen=True)
class FileStatus:
    """The result of the last attempt to load one file."""

    source: str  # relative to the tables folder
    ok: bool
    at: dt.datetime
    signature: Signature | None
    table_id: str | None = None
    version: str | None = None
    problems: tuple[Mapping[str, Any], ...] = ()
    missing: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": "missing" if self.missing else "ok" if self.ok else "failed",
            "at": iso(self.at),
            "table_id": self.table_id,
            "version": self.version,
            "errors": [dict(p) for p in self.problems],
        }


@dataclass(frozen=True)
class Snapshot:
    slots: Mapping[str, TableSlot] = field(default_factory=dict)  # by table id
    files: Mapping[str, FileStatus] = field(default_factory=dict)  # by file name
    owners: Mapping[str, str] = field(default_factory=dict)  # file name -> table id


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
    """The workbooks in ``folder`` (:data:`SUFFIXES`), not Excel's ``~$`` lock files and not
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
        release_only: bool = False,
        on_reload: Callable[[FileStatus], None] | None = None,
        store: VersionStore | None = None,
        on_change: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.folder = folder
        self.keep_previous = keep_previous
        self.use_validator = use_validator
        self.release_only = release_only
        self.on_reload = on_reload
        self.on_change = on_change
        self.store = store
        self.snapshot = Snapshot()
        self.pending: dict[str, tuple[StoredVersion, bool]] = {}  # table id -> not yet stored
        self.loads = 0  # workbook versions compiled by this process (see Watcher's recycling)
        self._write = threading.RLock()
        self._pins = threading.Lock()

    def find(self, table_id: str, version: str | None = None) -> LoadedTable | None:
        slot = self.snapshot.slots.get(table_id)
        return slot.find(version) if slot else None

    # --- the folder --------------------------------------------------------------------------

    def scan(self, force: bool = False) -> list[FileStatus]:
        """Load every file of the folder that is new or changed (every file with ``force``)
        and mark files that are gone. Versions found here become a table's head only when
        they were never accepted before (a restart or a forced reload rolls nothing back).
        Returns the statuses of the files it loaded."""
        results = []
        with self._write:
            present = table_files(self.folder)
            for path in present:
                known = self.snapshot.files.get(path.name)
                signature = signature_of(path)
                if signature is None:
                    continue
                if force or known is None or known.missing or not signature.same_stat(
                        known.signature):
                    status = self._load(path, move_head=False)
                    if status is not None:
                        results.append(status)
            names = {p.name for p in present}
            for name in [s for s in self.snapshot.files if s not in names]:
                self._missing(name)
        return results

    def load(self, path: Path, move_head: bool = True) -> FileStatus | None:
        """Load a file the watcher saw change: once accepted, it becomes the table's head."""
        with self._write:
            return self._load(path, move_head)

    def touch(self, name: str, signature: Signature) -> None:
        """Record a new mtime for a file whose bytes did not change (no reload)."""
        with self._write:
            snap = self.snapshot
            known = snap.files.get(name)
            if known is not None and known.signature is not None:
                if known.signature.sha256 == signature.sha256:
                    status = replace(known, signature=signature, missing=False)
                    self._publish(replace(snap, files=_with(snap.files, name, status)))

    def remove(self, name: str) -> None:
        """The file is gone (on two polls): its table keeps serving, marked source_missing."""
        with self._write:
            self._missing(name)

    def _load(self, path: Path, move_head: bool) -> FileStatus | None:
        name = path.name
        try:
            stat = path.stat()
            content = path.read_bytes()
        except OSError:
            return None  # gone meanwhile: the next poll says so
        signature = Signature(stat.st_mtime_ns, stat.st_size, hashlib.sha256(content).hexdigest())
        result = gate.check_bytes(content, name, self.use_validator, self.release_only)
        self.loads += 1
        snap = self.snapshot
        model = result.model
        if model is None:
            return self._refused(name, signature, result.problems)
        table_id = model.about.table_id
        owner = next((s for s, t in snap.owners.items() if t == table_id and s != name
                      and not snap.files[s].missing), None)
        if owner is not None:
            problem = {
                "sheet": "About", "cell": None,
                "message": f"table id '{table_id}' is already served from {owner}",
                "fix": "give this workbook its own Table id, or remove one of the two files",
            }
            return self._refused(name, signature, (problem,))
        at = now()
        loaded = LoadedTable(model, name, at, at, Explainer(model.model),
                             MappingProxyType(schema.input_schema(model.model)),
                             result.summary)
        stored = StoredVersion(table_id, model.version, name, content, at, result.summary)
        head = self._store(stored, move_head)
        slots = dict(snap.slots)
        old_id = snap.owners.get(name)
        if old_id is not None and old_id != table_id and snap.slots.get(old_id) is not None:
            if snap.slots[old_id].current.source == name:
                slots.pop(old_id, None)  # the file now holds another table
        status = FileStatus(name, True, at, signature, table_id, model.version)
        self._serve(slots, table_id, loaded, head)
        self._publish(Snapshot(MappingProxyType(slots), _with(snap.files, name, status),
                               _with(snap.owners, name, table_id)))
        self._report(status)
        return status

    def _refused(self, name: str, signature: Signature,
                 problems: tuple[Mapping[str, Any], ...]) -> FileStatus:
        snap = self.snapshot
        status = FileStatus(name, False, now(), signature, snap.owners.get(name), None,
                            problems)
        self._publish(replace(snap, files=_with(snap.files, name, status)))
        self._report(status)
        return status

    def _missing(self, name: str) -> None:
        snap = self.snapshot
        known = snap.files.get(name)
        if known is None or known.missing:
            return
        status = replace(known, missing=True, at=now())
        self._publish(replace(snap, files=_with(snap.files, name, status)))
        log.warning("table file gone; its last good version keeps serving",
                    extra={"source": name, "table_id": known.table_id})
        if self.on_reload:
            self.on_reload(status)

    # --- the version store -------------------------------------------------------------------

    def _store(self, stored: StoredVersion, move_head: bool) -> Head | None:
        """Keep an accepted version; the head after it, or None while the store is away."""
        if self.store is None:
            return None
        try:
            if not move_head:
                move_head = not self.store.known(stored.table_id, stored.version)
            head = self.store.put(stored, move_head)
        except DatabaseUnavailable as error:
            log.warning("version store unavailable; the version is kept to store later: %s",
                        error, extra={"table_id": stored.table_id, "version": stored.version})
            self.pending[stored.table_id] = (stored, move_head)
            return None
        self.pending.pop(stored.table_id, None)
        return head

    def _serve(self, slots: dict[str, TableSlot], table_id: str, loaded: LoadedTable,
               head: Head | None) -> None:
        """Put in ``slots`` what serves ``table_id`` now that ``loaded`` was accepted."""
        if head is not None and head.retired_at is not None:
            slots.pop(table_id, None)
            return
        if head is not None and head.version != loaded.version:
            slot = slots.get(table_id)
            serving = slot.find(head.version) if slot else None
            serving = serving or self._from_store(table_id, head.version)
            if serving is None:
                return  # logged; the next sync tries again
            slots[table_id] = self._succeed(slot, serving, loaded)
            return
        slots[table_id] = self._succeed(slots.get(table_id), loaded)

    def sync(self) -> None:
        """Store what waited for the database, then serve every table's head. Raises
        :class:`DatabaseUnavailable`."""
        if self.store is None:
            return
        with self._write:
            for table_id, (stored, move) in list(self.pending.items()):
                self.store.put(stored, move)
                self.pending.pop(table_id, None)
            heads = self.store.all_heads()
            snap = self.snapshot
            slots = dict(snap.slots)
            for table_id, head in heads.items():
                slot = slots.get(table_id)
                if head.retired_at is not None:
                    if slot is not None:
                        slots.pop(table_id)
                        log.warning("table retired", extra={"table_id": table_id})
                    continue
                if slot is not None and slot.current.version == head.version:
                    continue
                serving = slot.find(head.version) if slot else None
                if serving is None:
                    try:
                        serving = self._from_store(table_id, head.version)
                    except NotReleased:  # a draft head elsewhere: keep serving what we serve
                        serving = None
                if serving is not None:
                    slots[table_id] = self._succeed(slot, serving)
                    log.info("table head from the version store",
                             extra={"table_id": table_id, "version": head.version})
            for table_id, slot in slots.items():
                if table_id not in heads:  # the store lost it (database recreated): keep it
                    current = slot.current
                    try:
                        self.store.put(StoredVersion(
                            table_id, current.version, current.source, self._content(current),
                            current.accepted_at, current.validation), move_head=False)
                    except DatabaseUnavailable as error:  # the others still get their heads
                        log.warning("could not store a served version again: %s", error,
                                    extra={"table_id": table_id})
            if slots != dict(snap.slots):
                self._publish(replace(snap, slots=MappingProxyType(slots)))

    def _content(self, loaded: LoadedTable) -> bytes:
        """The bytes of a loaded version, for storing it again: from the folder, if the file
        there still holds that version."""
        status = self.snapshot.files.get(loaded.source)
        if status is None or status.version != loaded.version:
            raise DatabaseUnavailable(f"the bytes of {loaded.source} are no longer at hand")
        try:
            return (self.folder / loaded.source).read_bytes()
        except OSError as error:
            raise DatabaseUnavailable(str(error)) from error

    def pinned(self, table_id: str, version: str) -> LoadedTable | None:
        """A version of a table that this worker does not hold, from the version store
        (then kept compiled). None when no such version was ever accepted. Raises
        :class:`DatabaseUnavailable`, and :class:`NotReleased` for a stored draft when this
        service serves released tables only."""
        found = self.find(table_id, version)
        if found is not None or self.store is None:
            return found
        with self._pins:
            found = self.find(table_id, version)
            if found is not None:
                return found
            loaded = self._from_store(table_id, version)
            if loaded is None:
                return None
            with self._write:
                snap = self.snapshot
                slot = snap.slots.get(table_id)
                if slot is not None:
                    kept = (loaded, *slot.previous)[: max(1, self.keep_previous)]
                    slots = _with(snap.slots, table_id, replace(slot, previous=kept))
                    self._publish(replace(snap, slots=slots))
            return loaded

    def _from_store(self, table_id: str, version: str) -> LoadedTable | None:
        """Load a stored version: its bytes must load, give the same version id and pass
        their own vignettes again (a different engine on another instance might not).
        Raises :class:`NotReleased` for a draft when this service serves released tables only."""
        assert self.store is not None
        stored = self.store.get(table_id, version)
        if stored is None:
            return None
        if self.release_only and not gate.released(stored.validation):
            log.error("a stored version is not released, and this service serves released "
                      "tables only", extra={"table_id": table_id, "version": version})
            raise NotReleased(gate.review_status_of(stored.validation))
        result = gate.check_bytes(stored.content, stored.source, use_validator=False)
        self.loads += 1
        model = result.model
        if model is None or model.version != version or model.about.table_id != table_id:
            log.error("a stored version no longer loads or passes its vignettes",
                      extra={"table_id": table_id, "version": version,
                             "errors": [dict(p) for p in result.problems[:20]]})
            return None
        return LoadedTable(model, stored.source, now(), stored.accepted_at,  # keeps its verdict
                           Explainer(model.model),
                           MappingProxyType(schema.input_schema(model.model)),
                           stored.validation)

    def retire(self, table_id: str) -> Head | None:
        """Stop serving a table here and, through the store, everywhere. None when there is
        no such table. Raises :class:`DatabaseUnavailable`."""
        with self._write:
            head = self.store.retire(table_id, now()) if self.store is not None else None
            snap = self.snapshot
            if table_id not in snap.slots and head is None:
                return None
            slots = {k: v for k, v in snap.slots.items() if k != table_id}
            self._publish(replace(snap, slots=MappingProxyType(slots)))
            log.warning("table retired", extra={"table_id": table_id})
            return head

    # --- publishing --------------------------------------------------------------------------

    def _succeed(self, slot: TableSlot | None, loaded: LoadedTable,
                 also: LoadedTable | None = None) -> TableSlot:
        others: tuple[LoadedTable, ...] = (() if slot is None else (slot.current, *slot.previous))
        others += (also,) if also is not None else ()
        kept: list[LoadedTable] = []
        for other in others:
            if other.version != loaded.version and all(k.version != other.version for k in kept):
                kept.append(other)
        return TableSlot(loaded, tuple(kept[: self.keep_previous]))

    def _publish(self, snapshot: Snapshot) -> None:
        present = {name for name, status in snapshot.files.items() if not status.missing}
        slots = {
            table_id: slot if slot.source_missing == (slot.current.source not in present)
            else replace(slot, source_missing=slot.current.source not in present)
            for table_id, slot in snapshot.slots.items()
        }
        self.snapshot = replace(snapshot, slots=MappingProxyType(slots))  # one atomic swap
        if self.on_change is not None:
            self.on_change(self.snapshot)

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
