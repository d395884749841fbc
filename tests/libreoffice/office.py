"""One headless LibreOffice for the LibreOffice tests, started once and driven through
Python-UNO (:mod:`tests.libreoffice.uno_jobs`), and ``soffice --convert-to`` as a person
runs it from a shell.

Starting LibreOffice takes seconds; opening and saving a workbook in a running one takes a
fraction of that. So the tests start it once (a session fixture in ``conftest.py``), send
it every workbook to re-save or edit as a batch of jobs, and quit it at the end. It runs
with its own throw-away profile, so it neither sees nor changes a user's settings.

Needs Debian's ``libreoffice-calc-nogui`` and ``python3-uno`` (``.ci/system-packages``
installs both); :func:`missing` says what is absent, for the skip message.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("uno_jobs.py")
UNO_PYTHON = "/usr/bin/python3"  # Debian's python3-uno is built for the system's Python
FILTERS = {  # what ``soffice --convert-to`` picks for each extension
    ".ods": "calc8",
    ".xlsx": "Calc MS Excel 2007 XML",
    ".xlsm": "Calc MS Excel 2007 VBA XML",
}
START_SECONDS = 120  # a cold start on a busy 2-core machine
JOB_SECONDS = 300


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing() -> str | None:
    """Why LibreOffice cannot be driven here, or ``None`` when it can."""
    how = "run `make test` as root, or: sudo apt-get install libreoffice-calc-nogui python3-uno"
    if soffice() is None:
        return f"LibreOffice is not installed (no soffice on PATH); {how}"
    probe = subprocess.run(
        [UNO_PYTHON, "-c", "import uno"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        return f"Python-UNO is not installed ({UNO_PYTHON} cannot import uno); {how}"
    return None


def version() -> str:
    """``LibreOffice 7.4.7.2 40(Build:2)``."""
    out = subprocess.run(
        [soffice() or "soffice", "--version"], capture_output=True, text=True, timeout=60
    )
    return out.stdout.strip()


def _profile_args(profile: Path) -> list[str]:
    return [
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
    ]


@dataclass
class Office:
    """A running LibreOffice listening on a private pipe."""

    workdir: Path
    pipe: str = field(default_factory=lambda: f"triage-tests-{uuid.uuid4().hex[:12]}")
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Office:
        profile = self.workdir / "profile"
        accept = f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        self.process = subprocess.Popen(
            [soffice() or "soffice", *_profile_args(profile), accept],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, ended as a whole in close()
        )
        return self

    def run(self, jobs: list[dict[str, Any]]) -> None:
        """Run the jobs (see :mod:`tests.libreoffice.uno_jobs`); fail naming every job
        LibreOffice could not do. Each source is opened from a copy, so that LibreOffice's
        lock file (``.~lock.NAME#``) never lands beside the original."""
        assert self.process is not None and self.process.poll() is None, "LibreOffice quit"
        batch = self.workdir / uuid.uuid4().hex[:8]
        batch.mkdir()
        copies = []
        for index, job in enumerate(jobs):
            source = Path(job["src"])
            copy = batch / str(index) / source.name
            copy.parent.mkdir()
            shutil.copyfile(source, copy)
            copies.append({**job, "src": str(copy)})
        jobs_file = batch / "jobs.json"
        jobs_file.write_text(json.dumps(copies, default=str), encoding="utf-8")
        done = subprocess.run(
            [UNO_PYTHON, str(DRIVER), self.pipe, str(jobs_file)],
            capture_output=True,
            text=True,
            timeout=START_SECONDS + JOB_SECONDS,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        if not lines:
            raise AssertionError(f"the UNO driver printed nothing: {done.stderr[-2000:]}")
        results = json.loads(lines[-1])
        failed = [
            f"{job['src']}: {result['error']}"
            for job, result in zip(jobs, results, strict=True)
            if not result["ok"]
        ]
        assert not failed, "LibreOffice failed:\n" + "\n".join(failed)

    def save_as(self, source: Path, *targets: Path, **changes: Any) -> None:
        """Open ``source``, make ``changes`` (see the driver's job keys) and save it to each
        target, in the format its extension names."""
        outputs = [{"dst": str(t), "filter": FILTERS[t.suffix.lower()]} for t in targets]
        self.run([{"src": str(source), "outputs": outputs, **changes}])

    def close(self) -> None:
        """Quit LibreOffice (File > Exit); if it does not quit, end the process group this
        Office started, and only that."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            subprocess.run(
                [UNO_PYTHON, str(DRIVER), self.pipe, "--terminate"],
                capture_output=True,
                timeout=30,
                check=False,
            )
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def convert_to(sources: list[Path], extension: str, outdir: Path, profile: Path) -> list[Path]:
    """``soffice --headless --convert-to EXT --outdir OUTDIR SOURCES...``, the command a
    person or a CI job runs: one start of LibreOffice for all the sources."""
    outdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            soffice() or "soffice",
            *_profile_args(profile),
            "--convert-to",
            extension,
            "--outdir",
            str(outdir),
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
        timeout=START_SECONDS + JOB_SECONDS,
        check=False,
    )
    made = [outdir / f"{s.stem}.{extension}" for s in sources]
    absent = [str(m) for m in made if not m.is_file()]
    assert done.returncode == 0 and not absent, (done.returncode, absent, done.stderr[-2000:])
    return made
