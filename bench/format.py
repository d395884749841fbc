"""Benchmark of `triage format` (issue 16's targets: the bundled workbook in 1 s or less, a
3,000-row workbook in 5 s or less).

Two workbooks: the bundled ``decision_tables/muscle_twitching.xlsx``, and a generated one
with a PRIORITY table of 3,000 rules over 6 enum, 6 boolean and 3 number inputs (so most
columns get drop-downs and the output column urgency colours) and 300 vignettes. The seed
is fixed.

For each, the median of several runs, each on a fresh copy of the unformatted file:

* **format** — :func:`engine.authoring.format_workbook`, writing the file (what
  ``triage format`` does after Python has started);
* **check** — ``format_workbook(check=True)`` on the formatted copy (``--check`` in CI);
* **baseline** — openpyxl alone loading and saving the same file, the floor for any
  formatter that keeps the workbook's cells by rewriting it with openpyxl. The ratio
  format / baseline (CPU seconds) is what formatting itself costs on top.

Wall-clock and CPU seconds are both given: on the shared 2-core machine other jobs stretch
the wall clock, never the CPU time.

and, for the bundled workbook, the whole command ``triage format`` in a new process (Python
start and imports included).

    .venv/bin/python bench/format.py           # about a minute
    .venv/bin/python bench/format.py --runs 3
    .venv/bin/python bench/format.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.authoring import format_workbook  # noqa: E402

BUNDLED = ROOT / "decision_tables" / "muscle_twitching.xlsx"
SEED = 20261202
TARGETS = {"bundled": 1.0, "rows_3000": 5.0}  # seconds, format
LEVELS = ("EMERGENCY", "URGENT", "SOON", "ROUTINE", "SELF_CARE")


def generated(path: Path, rules: int = 3000, vignettes: int = 300) -> Path:
    """A workbook of ``rules`` rule rows, laid out as docs/workbook-format.md says."""
    from openpyxl import Workbook

    rng = random.Random(SEED)
    enums = {f"enum_{i}": [f"value_{i}_{k}" for k in range(4)] for i in range(6)}
    booleans = [f"flag_{i}" for i in range(6)]
    numbers = [f"number_{i}" for i in range(3)]
    book = Workbook()
    about = book.active
    about.title = "About"
    for row in (("Field", "Value"), ("Table id", "generated"), ("Title", "Generated"),
                ("Version", "1.0.0")):
        about.append(row)
    inputs = book.create_sheet("Inputs")
    inputs.append(("Name", "Type", "Unit", "Allowed values", "Required", "Description"))
    for name, values in enums.items():
        inputs.append((name, "enum", None, ", ".join(values), "yes", f"generated {name}"))
    for name in booleans:
        inputs.append((name, "boolean", None, None, "no", f"generated {name}"))
    for name in numbers:
        inputs.append((name, "number", "mg", "[0..1000]", "yes", f"generated {name}"))
    names = [*enums, *booleans, *numbers]
    table = book.create_sheet("Disposition")
    for row in (("Table", "disposition"), ("Hit policy", "PRIORITY"),
                ("Description", "generated"), (), ("Kind", *["Input"] * len(names), "Output",
                                                   "Citation", "Note"),
                ("Name", *names, "disposition"),
                ("Output values", *[None] * len(names), ", ".join(LEVELS)),
                ("Default", *[None] * len(names), "SELF_CARE")):
        table.append(row)
    for index in range(rules):
        cells: list[Any] = [f"R{index + 1}"]
        for name in names:
            if rng.random() < 0.6:
                cells.append("-")
            elif name in enums:
                cells.append(rng.choice(enums[name]))
            elif name in booleans:
                cells.append(rng.choice(("true", "false")))
            else:
                low = rng.randint(0, 900)
                cells.append(f"[{low}..{low + rng.randint(1, 100)}]")
        cells += [rng.choice(LEVELS), "bench/format.py", None]
        table.append(cells)
    tests = book.create_sheet("Tests")
    tests.append(("Test id", *names, "disposition", "Note"))
    for index in range(vignettes):
        facts: list[Any] = [rng.choice(enums[n]) for n in enums]
        facts += [rng.choice((True, False)) for _ in booleans]
        facts += [rng.randint(0, 1000) for _ in numbers]
        tests.append((f"T{index + 1}", *facts, None, None))
    book.save(path)
    return path


def median_seconds(work: Callable[[], None], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of this process (the CPU time is what the
    work costs when the shared machine is busy with other jobs)."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def bench(name: str, source: Path, workdir: Path, runs: int) -> dict[str, Any]:
    from openpyxl import load_workbook

    copies = iter(range(1_000_000))

    def fresh() -> Path:
        return Path(shutil.copy(source, workdir / f"{name}-{next(copies)}.xlsx"))

    def formatting() -> None:
        path = fresh()
        assert format_workbook(path).changed

    def baseline() -> None:
        path = fresh()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_workbook(path, rich_text=True).save(path)

    formatted = fresh()
    format_workbook(formatted)  # also warms the imports up

    def checking() -> None:
        assert not format_workbook(formatted, check=True).changed

    result: dict[str, Any] = {"workbook": name, "bytes": source.stat().st_size, "runs": runs,
                              "target_s": TARGETS[name]}
    for key, work in (("format", formatting), ("check", checking), ("baseline", baseline)):
        result[f"{key}_s"], result[f"{key}_cpu_s"] = median_seconds(work, runs)
    result["ratio"] = result["format_cpu_s"] / result["baseline_cpu_s"]
    result["meets_target"] = result["format_s"] <= TARGETS[name]
    return result


def command_seconds(source: Path, workdir: Path, runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (of the child process) of the whole command."""
    triage = Path(sys.executable).with_name("triage")
    command = [str(triage)] if triage.exists() else [sys.executable, "-m", "engine.cli"]
    walls, cpus = [], []
    for _ in range(runs):
        path = Path(shutil.copy(source, workdir / "command.xlsx"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([*command, "format", str(path)], check=True, capture_output=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = generated(workdir / "rows_3000.xlsx")
        results = [bench("bundled", BUNDLED, workdir, args.runs),
                   bench("rows_3000", rows, workdir, max(3, args.runs // 2))]
        command = command_seconds(BUNDLED, workdir, 3)
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"results": results, "command_bundled_s": command, "loadavg": load},
                         indent=2))
        return
    print(f"seconds, median wall (CPU of this process); load average {load:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'workbook':<11} {'bytes':>9} {'format':>14} {'check':>14} {'openpyxl only':>14} "
          f"{'ratio':>6}  target")
    for r in results:
        verdict = "met" if r["meets_target"] else "MISSED (wall)"
        cells = [f"{r[k + '_s']:.2f} ({r[k + '_cpu_s']:.2f})" for k in ("format", "check",
                                                                       "baseline")]
        print(f"{r['workbook']:<11} {r['bytes']:>9,} {cells[0]:>14} {cells[1]:>14} "
              f"{cells[2]:>14} {r['ratio']:>6.2f}  <= {r['target_s']:.0f} s {verdict}")
    print(f"`triage format` on the bundled workbook, whole command: {command[0]:.2f} s "
          f"({command[1]:.2f} s CPU), median of 3")


if __name__ == "__main__":
    main()
