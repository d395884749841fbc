"""The polling watcher: notices a saved workbook and has the registry load it.

Polling (``stat`` of a few files every ``interval`` seconds, 0.25 s by default) rather than
inotify: it works the same on every filesystem, including network shares and the bind mounts
where clinicians' spreadsheets tend to live, and costs nothing measurable.

A file is loaded only once it is *stable*: its mtime and size must be the same on two
consecutive polls, so a workbook that Excel or a copy is still writing is never read half
way. Only then is its content hashed; a file whose bytes did not change (touched, or saved
again unchanged) is not reloaded. A file gone on two consecutive polls is marked missing: its
table keeps serving its last good version (Excel and LibreOffice save by writing a temporary
file and renaming it over the workbook, so a workbook may be absent for a moment). With the
default interval a saved workbook serves within about one second (two polls and the load).

The same thread reads the version store's heads every ``sync_interval`` seconds
(:meth:`Registry.sync`), so a version accepted by another worker or another instance, a pin's
version, or a retirement reaches this worker within about a second.

Each gunicorn worker has its own watcher, because each worker holds its own compiled tables.
``/v1/admin/reload`` reloads its own worker at once and writes a token to the reload signal
file; every other worker's watcher sees the new token on its next poll and reloads too.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from service.database import DatabaseUnavailable
from service.registry import Registry, Signature, signature_of, table_files

log = logging.getLogger("service.watcher")


class Watcher:
    def __init__(
        self, registry: Registry, interval: float, signal_file: Path | None = None,
        sync_interval: float = 1.0, recycle_after: int = 0,
        on_recycle: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        # a little later in some workers than in others, so that they are not all replaced
        # at once when every worker reloads together
        self.recycle_after = recycle_after + random.randint(0, recycle_after // 10)
        self.on_recycle = on_recycle if recycle_after else None
        self.interval = interval
        self.signal_file = signal_file
        self.sync_interval = sync_interval
        self._synced = 0.0
        self._seen: dict[str, Signature | None] = {}
        self._signal = self._read_signal()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.poll()  # remember what is there now
        self._thread = threading.Thread(target=self._run, name="table-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
                if time.monotonic() - self._synced >= self.sync_interval:
                    self._synced = time.monotonic()
                    self.registry.sync()
                self._recycle()
            except DatabaseUnavailable:
                continue  # the database's own maintenance reports it; try again next round
            except Exception:  # the watcher must outlive any one bad poll
                log.exception("table watcher poll failed")

    def _recycle(self) -> None:
        """Ask for this worker to be replaced once it has compiled ``recycle_after`` versions
        (gunicorn starts another; this one finishes what it has accepted first)."""
        if self.on_recycle is not None and self.registry.loads >= self.recycle_after:
            log.warning("replacing this worker after %d workbook loads", self.registry.loads)
            recycle, self.on_recycle = self.on_recycle, None
            recycle()

    def poll(self) -> None:
        """One look at the folder; loads what has been stable since the previous look."""
        token = self._read_signal()
        if token != self._signal:
            self._signal = token
            log.info("reload requested by another worker")
            self.registry.scan(force=True)
        files = self.registry.snapshot.files
        folder = self.registry.folder
        current = {p.name: signature_of(p) for p in table_files(folder)}
        for name, stat in current.items():
            previous = self._seen.get(name)
            self._seen[name] = stat
            if stat is None or not stat.same_stat(previous):
                continue  # new or still changing: look again next poll
            known = files.get(name)
            if known is not None and not known.missing and stat.same_stat(known.signature):
                continue
            full = signature_of(folder / name, with_hash=True)
            if full is None or not full.same_stat(stat):
                continue  # changed while being read
            if known is not None and known.signature is not None and (
                known.signature.sha256 == full.sha256
            ):
                self.registry.touch(name, full)  # same bytes saved again
                continue
            self.registry.load(folder / name)
        for name in list(self._seen):
            if name not in current:
                if self._seen.pop(name) is None and name in files:
                    self.registry.remove(name)  # gone on two polls in a row
                elif name in files:
                    self._seen[name] = None

    def request_reload(self) -> None:
        """Ask the other workers to reload (this one has already)."""
        if self.signal_file is None:
            return
        token = uuid.uuid4().hex
        temporary = self.signal_file.with_name(f".{self.signal_file.name}.{token}")
        try:
            temporary.write_text(token)
            temporary.replace(self.signal_file)
        except OSError as error:
            log.error("could not write the reload signal file: %s", error)
            return
        self._signal = token

    def _read_signal(self) -> str | None:
        if self.signal_file is None:
            return None
        try:
            return self.signal_file.read_text().strip() or None
        except OSError:
            return None
