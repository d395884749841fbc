"""Evaluation benchmark: our durable-rules engine side by side with GoRules zen-engine,
pyDMNrules and a plain Python loop, all in one process on the same facts.

Run ``python bench/engine.py`` (full, about 2 minutes), ``--quick`` (CI smoke) or ``--json``
(machine-readable). See docs/performance.md for the method and the figures of a full run.

What is measured, and why:

* **Synthetic FIRST tables** of 30, 300 and 3,000 rules over 12 numeric inputs, every cell a
  closed integer range. Ranges are wide enough that a fact satisfies each cell most of the
  time, narrow enough that only a small share of the rules match a fact (and some facts match
  none), which is the shape of real triage tables: many inputs, few rules hit.
* **Engines** get exactly the same rules and the same facts. The plain loop is the floor: the
  least work any Python caller can do for this table. Every engine's answers are compared with
  ours, so a fast wrong engine cannot win.
* **Load and compile** of a 3,000-row workbook from an ``.xlsx`` file, and **resident memory**
  over a long run of evaluations (a leak in the C core would show there first).

Timings are per evaluation (``time.perf_counter_ns`` around one call) and the median is
reported: on a shared machine the mean is dominated by the slowest samples.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.workbook import Sheet  # noqa: E402

SEED = 20240517
N_INPUTS = 12
SIZES = (30, 300, 3000)
FACT_LOW, FACT_HIGH = 0, 99  # facts are ints in this closed range
# Two workloads over the same 12 inputs, facts uniform over 0..99:
# - sparse: each cell covers 10..50 of the 100 values, so almost no fact matches a rule and
#   every engine must look at every rule (the shape behind the reference figures:
#   a plain loop at about 7 / 67 / 480 us);
# - dense: each cell covers 55..85 values, so most facts match a rule early and engines that
#   stop at the first hit (zen, the plain loop) skip most of the table.
WORKLOADS = {"sparse": (10, 50), "dense": (55, 85)}
INPUT_NAMES = tuple(f"x{i}" for i in range(N_INPUTS))
OUTPUT = "result"
EXAMPLE_WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLE_FACTS = ROOT / "decision_tables" / "examples" / "muscle_twitching_case.json"

# targets shown in the output; none of them fails the run
TARGET_ZEN_RATIO = 3.0  # zen / ours at least this
TARGET_PLAIN_RATIO = 10.0  # ours / plain loop at most this
TARGET_LOAD_S = 2.0  # load + compile 3,000 rows from .xlsx
TARGET_MEMORY_MB = 20.0  # RSS growth over the memory run

Bounds = tuple[tuple[int, int], ...]  # (lo, hi) per input, both included
Facts = dict[str, int]
Evaluate = Callable[[Facts], str | None]  # the id of the rule that fired, None for no match


@dataclass(frozen=True)
class Rule:
    rule_id: str
    bounds: Bounds


@dataclass(frozen=True)
class Settings:
    """How much work a run does. Quick mode only proves that every path still runs."""

    evals: int  # measured evaluations per engine and table (fewer for slow engines)
    warmup: int
    budget_s: float  # time one engine may spend measuring one table
    memory_evals: int
    load_repeats: int


FULL = Settings(evals=2000, warmup=200, budget_s=10.0, memory_evals=1_000_000, load_repeats=3)
QUICK = Settings(evals=200, warmup=20, budget_s=1.0, memory_evals=100_000, load_repeats=1)


@dataclass
class Timing:
    """One engine on one table."""

    engine: str
    status: str = "ok"  # "ok", "not installed" or an error message
    median_us: float | None = None
    evals: int = 0
    build_s: float | None = None  # building the engine's table (not part of the comparison)
    mismatches: int | None = None  # answers that differ from ours on the same facts
    results: list[str | None] = field(default_factory=list, repr=False)


# --- synthetic tables ----------------------------------------------------------------------


def make_rules(count: int, rng: random.Random, workload: str = "dense") -> list[Rule]:
    """``count`` rules, each input a random closed range whose width the workload sets."""
    width_low, width_high = WORKLOADS[workload]
    rules = []
    for index in range(count):
        bounds = []
        for _ in range(N_INPUTS):
            width = rng.randint(width_low, width_high)
            low = rng.randint(FACT_LOW, FACT_HIGH - width)
            bounds.append((low, low + width))
        rules.append(Rule(f"R{index + 1}", tuple(bounds)))
    return rules


def make_facts(count: int, rng: random.Random) -> list[Facts]:
    return [{name: rng.randint(FACT_LOW, FACT_HIGH) for name in INPUT_NAMES}
            for _ in range(count)]


def build_sheets(rules: Sequence[Rule], table_id: str = "synthetic") -> tuple[Sheet, ...]:
    """The table as our workbook format lays it out (docs/workbook-format.md): About, Inputs,
    and one FIRST table whose output is the rule id, so every engine's answer is comparable."""
    about = Sheet("About", (
        ("Field", "Value"),
        ("Table id", table_id),
        ("Title", f"Synthetic benchmark, {len(rules)} rules"),
        ("Version", "1.0.0"),
        ("Owner", "bench/engine.py"),
    ))
    inputs = Sheet("Inputs", (
        ("Name", "Type", "Unit", "Allowed values", "Required", "Description"),
        *((name, "number", None, None, "yes", "synthetic input") for name in INPUT_NAMES),
    ))
    header: list[tuple[Any, ...]] = [
        ("Table", OUTPUT),
        ("Hit policy", "FIRST"),
        ("Description", "first rule whose every range holds the fact"),
        (),
        ("Kind", *(["Input"] * N_INPUTS), "Output", "Citation"),
        ("Name", *INPUT_NAMES, OUTPUT),
        ("Output values",),
        ("Default",),
    ]
    body = [(r.rule_id, *(f"[{lo}..{hi}]" for lo, hi in r.bounds), r.rule_id, "synthetic")
            for r in rules]
    return about, inputs, Sheet("Table", tuple(header + body))


def write_xlsx(sheets: Iterable[Sheet], path: Path) -> None:
    """Save sheets built in memory as a real workbook, for the load benchmark."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name)
        for row in sheet.rows:
            ws.append(list(row))
    book.save(path)


# --- engines -------------------------------------------------------------------------------


def plain_loop(rules: Sequence[Rule]) -> Evaluate:
    """The floor: tuples of bounds, first match wins, no checks, no explanation."""
    table = [(r.rule_id, r.bounds) for r in rules]

    def evaluate(facts: Facts) -> str | None:
        values = [facts[name] for name in INPUT_NAMES]
        for rule_id, bounds in table:
            for value, (low, high) in zip(values, bounds, strict=True):
                if not low <= value <= high:
                    break
            else:
                return rule_id
        return None

    return evaluate


def ours(rules: Sequence[Rule]) -> Evaluate:
    model = engine.load_sheets(build_sheets(rules))

    def evaluate(facts: Facts) -> str | None:
        return model.evaluate(facts).outputs[OUTPUT]  # type: ignore[no-any-return]

    return evaluate


def jdm_graph(rules: Sequence[Rule]) -> dict[str, Any]:
    """A GoRules JSON Decision Model: input node -> one decision table -> output node."""
    inputs = [{"id": f"in_{name}", "name": name, "field": name} for name in INPUT_NAMES]
    outputs = [{"id": "out_result", "name": OUTPUT, "field": OUTPUT}]
    rows = []
    for rule in rules:
        row = {"_id": rule.rule_id, "out_result": json.dumps(rule.rule_id)}
        row.update({f"in_{name}": f"[{lo}..{hi}]"
                    for name, (lo, hi) in zip(INPUT_NAMES, rule.bounds, strict=True)})
        rows.append(row)
    table = {"hitPolicy": "first", "inputs": inputs, "outputs": outputs, "rules": rows}
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "table", "type": "decisionTableNode", "name": OUTPUT,
             "position": {"x": 250, "y": 0}, "content": table},
            {"id": "response", "type": "outputNode", "name": "Response",
             "position": {"x": 500, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "type": "edge", "sourceId": "request", "targetId": "table"},
            {"id": "e2", "type": "edge", "sourceId": "table", "targetId": "response"},
        ],
    }


def zen_engine(rules: Sequence[Rule]) -> Evaluate:
    import zen

    decision = zen.ZenEngine().create_decision(json.dumps(jdm_graph(rules)))

    def evaluate(facts: Facts) -> str | None:
        return decision.evaluate(facts)["result"].get(OUTPUT)  # type: ignore[no-any-return]

    return evaluate


def write_pydmnrules_workbook(rules: Sequence[Rule], path: Path) -> None:
    """pyDMNrules' own layout: a Glossary, a Decision sheet naming the table, and the table
    (name, then a heading row starting with the hit policy; a double border closes the
    heading row and separates inputs from outputs; rules below, numbered in column A)."""
    import openpyxl
    from openpyxl.styles import Border, Side

    book = openpyxl.Workbook()
    glossary = book.active
    assert glossary is not None
    glossary.title = "Glossary"
    glossary.append(["Glossary"])
    glossary.append(["Variable", "Business Concept", "Attribute"])
    for index, name in enumerate((*INPUT_NAMES, OUTPUT)):
        glossary.append([name, "Data" if index == 0 else None, name])
    decision = book.create_sheet("Decision")
    decision.append(["Decision"])
    decision.append(["Decisions", "Execute Decision Tables"])
    decision.append(["Determine result", "Result"])
    table = book.create_sheet("Table")
    table.append(["Result"])
    table.append(["F", *INPUT_NAMES, OUTPUT])
    double, plain = Side(style="double"), Side()
    for col in range(1, N_INPUTS + 3):
        right = double if col == N_INPUTS + 1 else plain
        table.cell(row=2, column=col).border = Border(left=plain, top=plain, right=right,
                                                      bottom=double)
    for number, rule in enumerate(rules, start=1):
        table.append([number, *(f"[{lo}..{hi}]" for lo, hi in rule.bounds),
                      json.dumps(rule.rule_id)])
    book.save(path)


def pydmnrules_engine(rules: Sequence[Rule], workdir: Path) -> Evaluate:
    import pyDMNrules

    path = workdir / f"pydmnrules_{len(rules)}.xlsx"
    write_pydmnrules_workbook(rules, path)
    dmn = pyDMNrules.DMN()
    status = dmn.load(str(path))
    if status.get("errors"):
        raise RuntimeError("; ".join(map(str, status["errors"]))[:200])

    def evaluate(facts: Facts) -> str | None:
        _, decided = dmn.decide(facts)
        if not decided:  # no rule matched: an error status and an empty list
            return None
        return decided["Result"][OUTPUT]  # type: ignore[no-any-return]

    return evaluate


def is_installed(module: str) -> bool:
    """Import an optional engine now, so that its import time (seconds for pyDMNrules) is not
    counted as the time to build its table."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# --- measuring -----------------------------------------------------------------------------


def measure(name: str, build: Callable[[], Evaluate], facts: Sequence[Facts],
            warmup_facts: Sequence[Facts], settings: Settings) -> Timing:
    """Build the engine, warm it up, then time one call at a time. Slow engines get fewer
    evaluations (a prefix of the same facts) so that each stays within the time budget."""
    timing = Timing(name)
    started = time.perf_counter()
    try:
        evaluate = build()
    except Exception as exc:  # an engine that cannot load this table is reported, not fatal
        timing.status = f"failed to load: {exc}"[:160]
        return timing
    timing.build_s = time.perf_counter() - started
    per_eval = _warm_up(evaluate, warmup_facts, settings)
    count = max(20, min(settings.evals, int(settings.budget_s / max(per_eval, 1e-9))))
    samples: list[int] = []
    clock = time.perf_counter_ns
    for fact in facts[:count]:
        before = clock()
        result = evaluate(fact)
        samples.append(clock() - before)
        timing.results.append(result)
    timing.evals = len(samples)
    timing.median_us = statistics.median(samples) / 1000
    return timing


def _warm_up(evaluate: Evaluate, facts: Sequence[Facts], settings: Settings) -> float:
    """Run up to ``settings.warmup`` evaluations (less if they eat a tenth of the budget) and
    return the mean seconds per evaluation, to size the measured run."""
    started = time.perf_counter()
    done = 0
    for fact in facts[: settings.warmup]:
        evaluate(fact)
        done += 1
        if done >= 3 and time.perf_counter() - started > settings.budget_s / 10:
            break
    return (time.perf_counter() - started) / max(done, 1)


def compare(timing: Timing, reference: Timing) -> None:
    """Count the facts on which ``timing`` answered differently from ``reference``."""
    if timing.status == "ok":
        pairs = zip(timing.results, reference.results, strict=False)
        timing.mismatches = sum(1 for a, b in pairs if a != b)


def ratio(numerator: Timing | None, denominator: Timing | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    if numerator.median_us is None or not denominator.median_us:
        return None
    return numerator.median_us / denominator.median_us


# --- the benchmarks ------------------------------------------------------------------------


def bench_size(count: int, settings: Settings, workdir: Path,
               workload: str = "dense") -> dict[str, Any]:
    """All engines on one synthetic table."""
    rng = random.Random(SEED + count)
    rules = make_rules(count, rng, workload)
    facts = make_facts(settings.evals, rng)
    warmup_facts = make_facts(settings.warmup, rng)
    timings: dict[str, Timing] = {}
    timings["ours"] = measure("ours", lambda: ours(rules), facts, warmup_facts, settings)
    candidates: list[tuple[str, str, Callable[[], Evaluate]]] = [
        ("zen", "zen", lambda: zen_engine(rules)),
        ("pydmnrules", "pyDMNrules", lambda: pydmnrules_engine(rules, workdir)),
    ]
    for name, module, build in candidates:
        if not is_installed(module):
            timings[name] = Timing(name, status="not installed")
            continue
        timings[name] = measure(name, build, facts, warmup_facts, settings)
    timings["plain"] = measure("plain", lambda: plain_loop(rules), facts, warmup_facts, settings)
    for name in ("zen", "pydmnrules", "plain"):
        compare(timings[name], timings["ours"])
    answers = timings["plain"].results
    return {
        "workload": workload,
        "rules": count,
        "no_match_share": sum(r is None for r in answers) / max(len(answers), 1),
        "rules_matching_share": _matching_share(rules, facts[:200]),
        # a first-match loop stops at the first hit; a Rete network looks at every rule
        "rules_scanned_mean": statistics.mean(count if r is None else int(r[1:])
                                              for r in answers),
        "engines": {name: _public(t) for name, t in timings.items()},
        "ratios": {
            "zen/ours": ratio(timings["zen"], timings["ours"]),
            "pydmnrules/ours": ratio(timings["pydmnrules"], timings["ours"]),
            "ours/plain": ratio(timings["ours"], timings["plain"]),
        },
    }


def _matching_share(rules: Sequence[Rule], facts: Sequence[Facts]) -> float:
    """Mean share of the rules a fact satisfies (all of them, not only the first)."""
    hits = 0
    for fact in facts:
        values = [fact[name] for name in INPUT_NAMES]
        hits += sum(all(lo <= v <= hi for v, (lo, hi) in zip(values, r.bounds, strict=True))
                    for r in rules)
    return hits / max(len(rules) * len(facts), 1)


def _public(timing: Timing) -> dict[str, Any]:
    data = asdict(timing)
    del data["results"]
    return data


def bench_example(settings: Settings) -> dict[str, Any]:
    """The bundled clinical table with its example case: ours only (its cells are not the
    ranges the other engines were given, and there is no plain loop for it)."""
    missing = [str(p.relative_to(ROOT)) for p in (EXAMPLE_WORKBOOK, EXAMPLE_FACTS)
               if not p.is_file()]
    if missing:
        return {"status": "skipped: not found: " + ", ".join(missing)}
    loaded = json.loads(EXAMPLE_FACTS.read_text())
    facts = loaded.get("facts", loaded) if isinstance(loaded, dict) else loaded
    try:
        model = engine.load(EXAMPLE_WORKBOOK)
        model.evaluate(facts)
    except Exception as exc:
        return {"status": f"failed: {exc}"[:200]}

    def evaluate(case: Facts) -> str | None:
        model.evaluate(case)
        return None

    timing = measure("ours", lambda: evaluate, [facts] * settings.evals,
                     [facts] * settings.warmup, settings)
    result = {"status": "ok", "tables": len(model.tables),
              "rules": sum(len(t.rules) for t in model.tables), **_public(timing)}
    del result["build_s"], result["mismatches"]  # loaded above; nothing to compare with
    return result


def bench_load(settings: Settings, workdir: Path) -> dict[str, Any]:
    """``engine.load`` of the 3,000-rule table saved as .xlsx: read, check and compile. Reading
    the file alone is timed too, so that a miss can be put on the reader or the compiler."""
    from engine.workbook import read_workbook

    count = SIZES[-1]
    rules = make_rules(count, random.Random(SEED + count))
    path = workdir / f"synthetic_{count}.xlsx"
    write_xlsx(build_sheets(rules), path)
    read_workbook(path)  # pandas is imported once per process; that is not a load's cost
    seconds, reading = [], []
    for _ in range(settings.load_repeats):
        gc.collect()
        started = time.perf_counter()
        engine.load(path)
        seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        read_workbook(path)
        reading.append(time.perf_counter() - started)
    return {"rules": count, "repeats": len(seconds), "median_s": statistics.median(seconds),
            "all_s": seconds, "read_median_s": statistics.median(reading),
            "file_kb": round(path.stat().st_size / 1024)}


def rss_mb() -> float:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def bench_memory(evals: int) -> dict[str, Any]:
    """Many evaluations of the 30-rule table; growth is measured from 10% of the run (by then
    every cache and arena has reached its working size) to the end."""
    rng = random.Random(SEED)
    evaluate = ours(make_rules(SIZES[0], rng))
    facts = make_facts(1000, rng)
    checkpoint = max(evals // 10, 1)
    start_mb = at_checkpoint = rss_mb()
    started = time.perf_counter()
    for i in range(evals):
        evaluate(facts[i % len(facts)])
        if i + 1 == checkpoint:
            gc.collect()
            at_checkpoint = rss_mb()
    gc.collect()
    end_mb = rss_mb()
    return {"rules": SIZES[0], "evals": evals, "rss_start_mb": start_mb,
            "rss_at_10pct_mb": at_checkpoint, "rss_end_mb": end_mb,
            "growth_mb": end_mb - at_checkpoint, "seconds": time.perf_counter() - started}


def profile_ours(count: int, evals: int) -> str:
    """cProfile's top entries for our engine on one synthetic table: where the time goes."""
    rng = random.Random(SEED + count)
    evaluate = ours(make_rules(count, rng))
    facts = make_facts(evals, rng)
    for fact in facts[:20]:
        evaluate(fact)
    profiler = cProfile.Profile()
    profiler.enable()
    for fact in facts:
        evaluate(fact)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


# --- targets and report --------------------------------------------------------------------


def targets(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The goals we hold ourselves to, each with the figure reached and whether it is met."""
    found: list[dict[str, Any]] = []
    for size in report["synthetic"]:
        zen_ratio = size["ratios"]["zen/ours"]
        if zen_ratio is not None:
            found.append({"target": f"ours >= {TARGET_ZEN_RATIO:g}x faster than zen, "
                                    f"{size['workload']} {size['rules']} rules",
                          "value": zen_ratio, "unit": "x", "met": zen_ratio >= TARGET_ZEN_RATIO,
                          "short_by": _short(TARGET_ZEN_RATIO / zen_ratio)})
        plain_ratio = size["ratios"]["ours/plain"]
        if plain_ratio is not None:
            found.append({"target": f"ours within {TARGET_PLAIN_RATIO:g}x of plain loop, "
                                    f"{size['workload']} {size['rules']} rules",
                          "value": plain_ratio, "unit": "x",
                          "met": plain_ratio <= TARGET_PLAIN_RATIO,
                          "short_by": _short(plain_ratio / TARGET_PLAIN_RATIO)})
    load = report["load"]["median_s"]
    found.append({"target": f"load + compile {SIZES[-1]:,} rows <= {TARGET_LOAD_S:g} s",
                  "value": load, "unit": "s", "met": load <= TARGET_LOAD_S,
                  "short_by": _short(load / TARGET_LOAD_S)})
    memory = report["memory"]
    found.append({"target": f"RSS growth < {TARGET_MEMORY_MB:g} MB over {memory['evals']:,} evals",
                  "value": memory["growth_mb"], "unit": "MB",
                  "met": memory["growth_mb"] < TARGET_MEMORY_MB, "short_by": None})
    return found


def _short(factor: float) -> str | None:
    """How far a missed target is, as 'needs N.Nx'; None when met."""
    return f"needs {factor:.1f}x" if factor > 1 else None


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "processor": platform.machine(),
            "nproc": os.cpu_count(), "loadavg_1m_start": _loadavg(), "revision": _revision(),
            "versions": _versions()}


def _revision() -> str:
    """The commit measured, marked '+dirty' when engine/ has uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--", "engine")
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _loadavg() -> float | None:
    """Other work on the machine skews every figure; the report says how busy it was."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("durable-rules", "zen-engine", "pydmnrules"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _us(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render(report: Mapping[str, Any]) -> str:
    """The human-readable table."""
    lines = [f"Engine benchmark ({report['mode']} mode) - median microseconds per evaluation",
             "machine: " + ", ".join(f"{k}={v}" for k, v in report["machine"].items()
                                     if k != "versions"),
             "versions: " + ", ".join(f"{k} {v}" for k, v in
                                      report["machine"]["versions"].items()), ""]
    head = (f"{'workload':>8} {'rules':>6} {'ours':>9} {'zen':>9} {'pyDMNrules':>11} {'plain':>8} "
            f"{'zen/ours':>9} {'ours/plain':>10} {'no match':>9}  evals (ours/zen/pydmn/plain)")
    lines += [head, "-" * len(head)]
    for size in report["synthetic"]:
        e = size["engines"]
        cells = [_cell(e[name]) for name in ("ours", "zen", "pydmnrules", "plain")]
        evals = "/".join(str(e[name]["evals"]) for name in ("ours", "zen", "pydmnrules", "plain"))
        lines.append(f"{size['workload']:>8} {size['rules']:>6,} {cells[0]:>9} {cells[1]:>9} "
                     f"{cells[2]:>11} "
                     f"{cells[3]:>8} {_x(size['ratios']['zen/ours']):>9} "
                     f"{_x(size['ratios']['ours/plain']):>10} "
                     f"{size['no_match_share']:>8.0%}  {evals}")
    lines += ["n/i = not installed; slow engines run fewer evaluations (a prefix of the same "
              "facts)", ""]
    lines += _agreement(report)
    lines += _build_times(report)
    example = report["example"]
    if example["status"] == "ok":
        lines.append(f"muscle_twitching.xlsx ({example['tables']} tables, {example['rules']} "
                     f"rules), example case: ours {_us(example['median_us'])} us "
                     f"({example['evals']} evals); plain loop not applicable")
    else:
        lines.append(f"muscle_twitching.xlsx: {example['status']}")
    load = report["load"]
    lines.append(f"load + compile {load['rules']:,}-row .xlsx ({load['file_kb']} kB): median "
                 f"{load['median_s']:.2f} s of {load['repeats']} "
                 f"({', '.join(f'{s:.2f}' for s in load['all_s'])}); reading the file alone "
                 f"{load['read_median_s']:.2f} s")
    memory = report["memory"]
    lines.append(f"memory, {memory['evals']:,} evals of the {memory['rules']}-rule table in "
                 f"{memory['seconds']:.0f} s: RSS {memory['rss_start_mb']:.1f} -> "
                 f"{memory['rss_at_10pct_mb']:.1f} MB at 10% -> {memory['rss_end_mb']:.1f} MB; "
                 f"growth {memory['growth_mb']:+.2f} MB")
    lines += ["", "Targets (reported, not enforced):"]
    for t in report["targets"]:
        mark = "met   " if t["met"] else "MISSED"
        short = f"  ({t['short_by']})" if t["short_by"] else ""
        lines.append(f"  {mark} {t['target']}: {t['value']:.2f} {t['unit']}{short}")
    return "\n".join(lines)


def _cell(timing: Mapping[str, Any]) -> str:
    if timing["status"] == "not installed":
        return "n/i"
    if timing["status"] != "ok":
        return "failed"
    return _us(timing["median_us"])


def _agreement(report: Mapping[str, Any]) -> list[str]:
    lines = []
    for size in report["synthetic"]:
        parts = []
        for name, timing in size["engines"].items():
            if name == "ours":
                continue
            if timing["status"] != "ok":
                parts.append(f"{name} {timing['status']}")
            else:
                parts.append(f"{name} {timing['evals'] - timing['mismatches']}/{timing['evals']}")
        lines.append(f"same answer as ours, {size['workload']} {size['rules']:,} rules: "
                     + ", ".join(parts))
    return lines


def _build_times(report: Mapping[str, Any]) -> list[str]:
    parts = []
    for size in report["synthetic"]:
        built = ", ".join(f"{name} {t['build_s']:.2f}" for name, t in size["engines"].items()
                          if t["build_s"] is not None)
        parts.append(f"{size['workload']} {size['rules']:,} rules: {built}")
    share = ", ".join(f"{s['workload']} {s['rules']:,}: {s['rules_matching_share']:.2%}"
                      for s in report["synthetic"])
    scanned = ", ".join(f"{s['workload']} {s['rules']:,}: {s['rules_scanned_mean']:.0f}"
                        for s in report["synthetic"])
    return ["build s (not compared; sheets in memory for ours, .xlsx for pyDMNrules) - "
            + "; ".join(parts), f"share of rules a fact satisfies - {share}",
            f"rules a first-match loop examines, mean - {scanned}"]


def run(settings: Settings, mode: str, progress: Callable[[str], None]) -> dict[str, Any]:
    report: dict[str, Any] = {"mode": mode, "machine": machine(), "settings": asdict(settings)}
    # memory first: later benchmarks free hundreds of MB, and a leak would quietly reuse them
    progress(f"memory, {settings.memory_evals:,} evaluations ...")
    report["memory"] = bench_memory(settings.memory_evals)
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        workdir = Path(tmp)
        report["synthetic"] = []
        for workload in WORKLOADS:
            for count in SIZES:
                progress(f"{workload}, {count:,} rules ...")
                report["synthetic"].append(bench_size(count, settings, workdir, workload))
        progress("example table ...")
        report["example"] = bench_example(settings)
        progress("load + compile ...")
        report["load"] = bench_load(settings, workdir)
    report["machine"]["loadavg_1m_end"] = _loadavg()
    report["targets"] = targets(report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI smoke)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--memory-evals", type=int, metavar="N",
                        help="evaluations in the memory check (default 1,000,000; 100,000 quick)")
    parser.add_argument("--profile", type=int, metavar="RULES",
                        help="only print cProfile's top entries for ours on a RULES-rule table")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.profile:
        print(profile_ours(args.profile, settings.evals // 4))
        return 0
    if args.memory_evals is not None:
        settings = Settings(**{**asdict(settings), "memory_evals": args.memory_evals})

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    report = run(settings, "quick" if args.quick else "full", progress)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
