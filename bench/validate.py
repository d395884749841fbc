"""Benchmark of the validator's hit-policy analysis: overlaps and gaps on synthetic UNIQUE
tables of 500, 1,000 and 1,500 rules by 5, 10 and 15 input columns.

Each table starts as a partition of the input space — no overlap, no gap — made by cutting
boxes in two again and again (a number column at a point, an enum column into two sets of
values), like the tables a clinician builds by refining cases. Then 10% of the rules are
changed: half widened (a range made longer, or a value added), which makes overlaps, half
narrowed, which makes gaps. Two thirds of the columns are integer ranges over 0..999, one
third enums of 8 values. The seed is fixed.

The timed part is what ``triage validate`` does for a UNIQUE table without a default:
turning the rules into boxes (:func:`engine.validation.space.build_space`) and one walk for
overlaps and gaps (:func:`engine.validation.overlaps.overlaps_and_gaps`). Building the model
from sheets is not timed. Every result is checked against the table: each reported group of
rules must really overlap and be maximal among those reported, and random points must be
inside a reported gap exactly when no rule matches them.

The same run then benchmarks the Safety-sheet prover (``bench/prover_workloads.py``): 20
properties on the bundled workbook, 10 over a 1,500-rule x 15-column table and 10 over a
chain of three 300-rule tables, every verdict checked, and the run's peak memory.

    .venv/bin/python bench/validate.py            # the full grid, about a minute
    .venv/bin/python bench/validate.py --quick    # 500 x 5 and 1,500 x 15 only
    .venv/bin/python bench/validate.py --prover   # the prover's workloads only
    .venv/bin/python bench/validate.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.builder import build_model  # noqa: E402
from engine.model import Model  # noqa: E402
from engine.validation.cuts import bits  # noqa: E402
from engine.validation.index import BoxIndex  # noqa: E402
from engine.validation.overlaps import Analysis, find, overlaps_and_gaps  # noqa: E402
from engine.validation.space import TableSpace, build_space  # noqa: E402
from engine.validation.tablefindings import intersection  # noqa: E402
from engine.workbook import Sheet  # noqa: E402

SEED = 20261122
DOMAIN = 1000  # integer columns take 0..999
VALUES = tuple(f"v{i}" for i in range(8))  # enum columns
TARGETS = {(1500, 15): 10.0, (1500, 5): 0.5}  # seconds, overlaps and gaps together
MAX_NODES = 120_000
SIZES = [(r, c) for r in (500, 1000, 1500) for c in (5, 10, 15)]

Box = list[Any]  # per column: (lo, hi) half-open for numbers, frozenset for enums


def partition(rules: int, columns: int, rng: random.Random) -> tuple[list[bool], list[Box]]:
    numeric = [c % 3 != 2 for c in range(columns)]
    full: Box = [(0, DOMAIN) if n else frozenset(VALUES) for n in numeric]
    boxes = [full]
    while len(boxes) < rules:
        i = rng.randrange(len(boxes))
        box = boxes[i]
        c = rng.randrange(columns)
        if numeric[c]:
            lo, hi = box[c]
            if hi - lo < 2:
                continue
            cut = rng.randint(lo + 1, hi - 1)
            left, right = (lo, cut), (cut, hi)
        else:
            values = sorted(box[c])
            if len(values) < 2:
                continue
            rng.shuffle(values)
            k = rng.randint(1, len(values) - 1)
            left, right = frozenset(values[:k]), frozenset(values[k:])
        boxes[i] = [*box[:c], left, *box[c + 1 :]]
        boxes.append([*box[:c], right, *box[c + 1 :]])
    return numeric, boxes


def perturb(numeric: list[bool], boxes: list[Box], rng: random.Random) -> list[Box]:
    """Widen half of a tenth of the rules (overlaps) and narrow the other half (gaps)."""
    changed = rng.sample(range(len(boxes)), len(boxes) // 10)
    for n, i in enumerate(changed):
        widen = n % 2 == 0
        box = list(boxes[i])
        for c in rng.sample(range(len(box)), len(box)):
            if numeric[c]:
                lo, hi = box[c]
                step = rng.randint(5, 60)
                if widen and (lo > 0 or hi < DOMAIN):
                    box[c] = (max(0, lo - step), hi) if lo > 0 else (lo, min(DOMAIN, hi + step))
                    break
                if not widen and hi - lo > 2:
                    step = min(step, (hi - lo) // 2)
                    box[c] = (lo + step, hi) if rng.random() < 0.5 else (lo, hi - step)
                    break
            else:
                values = box[c]
                if widen and len(values) < len(VALUES):
                    box[c] = values | {rng.choice(sorted(set(VALUES) - values))}
                    break
                if not widen and len(values) > 1:
                    box[c] = values - {rng.choice(sorted(values))}
                    break
        boxes[i] = box
    return boxes


def cell(numeric: bool, part: Any) -> str:
    if numeric:
        lo, hi = part
        if (lo, hi) == (0, DOMAIN):
            return "-"
        if lo == 0:
            return f"< {hi}"
        if hi == DOMAIN:
            return f">= {lo}"
        return f"[{lo}..{hi})"
    if len(part) == len(VALUES):
        return "-"
    return ", ".join(f'"{v}"' for v in sorted(part))


def model_of(numeric: list[bool], boxes: list[Box]) -> Model:
    names = [f"x{c}" for c in range(len(numeric))]
    inputs = Sheet(
        "Inputs",
        (
            ("Name", "Type", "Unit", "Allowed values", "Required", "Description"),
            *(
                (n, "integer", None, f"[0..{DOMAIN - 1}]", "yes", None)
                if num
                else (n, "enum", None, ", ".join(VALUES), "yes", None)
                for n, num in zip(names, numeric, strict=True)
            ),
        ),
    )
    rows: list[tuple[Any, ...]] = [
        ("Table", "synthetic"),
        ("Hit policy", "UNIQUE"),
        ("Description", None),
        (),
        ("Kind", *["Input"] * len(names), "Output"),
        ("Name", *names, "result"),
        ("Output values",),
        ("Default",),
    ]
    for i, box in enumerate(boxes):
        cells = [cell(num, part) for num, part in zip(numeric, box, strict=True)]
        rows.append((f"R{i + 1}", *cells, f"r{i + 1}"))
    about = Sheet("About", (("Table id", "bench"), ("Version", "1.0.0")))
    sheets = [about, inputs, Sheet("Synthetic", tuple(rows))]
    return build_model(sheets, "bench", "bench", require_citations=False)


def inside(numeric: list[bool], box: Box, point: list[Any]) -> bool:
    return all(
        (part[0] <= v < part[1]) if num else (v in part)
        for num, part, v in zip(numeric, box, point, strict=True)
    )


def verify(
    space: TableSpace, found: Analysis, numeric: list[bool], boxes: list[Box], seed: str
) -> str:
    """Check the groups and gaps against the table itself: every group overlaps and no
    other rule meets all of it (maximal); every overlapping pair of rules is in a group;
    random points lie in exactly one gap when no rule matches them, else in none."""
    index = BoxIndex(space.boxes, len(space.dims))
    covered_pairs = set()
    for rules_bits, _ in found.groups:
        rules = bits(rules_bits)
        common = intersection(space, [space.rule_boxes[r][0] for r in rules])
        if not all(common):
            return f"group {rules} does not overlap"
        if index.meeting(common) != sum(1 << space.rule_boxes[r][0] for r in rules):
            return f"group {rules} is not maximal"
        covered_pairs.update((a, b) for a in rules for b in rules if a < b)
    for a in range(len(space.boxes)):
        for b in bits(index.overlapping(a)):
            if a < b and (space.rule_of[a], space.rule_of[b]) not in covered_pairs:
                return f"rules {a} and {b} overlap but are in no group"
    rng = random.Random(seed)
    for _ in range(5000):
        point = [rng.randrange(DOMAIN) if num else rng.choice(VALUES) for num in numeric]
        covered = any(inside(numeric, box, point) for box in boxes)
        atoms = [
            1 << (d.code(v) if num else d.constants.index(v))
            for d, num, v in zip(space.dims, numeric, point, strict=True)
        ]
        in_gaps = sum(all(a & m for a, m in zip(atoms, g, strict=True)) for g in found.gaps)
        if in_gaps > 1 or (in_gaps == 1) == covered:
            return f"point {point}: covered={covered}, in {in_gaps} gaps"
    return "ok"


def run(rules: int, columns: int, check: bool) -> dict[str, Any]:
    seed = f"{SEED}-{rules}-{columns}"
    rng = random.Random(seed)
    numeric, boxes = partition(rules, columns, rng)
    boxes = perturb(numeric, boxes, rng)
    model = model_of(numeric, boxes)
    start = time.perf_counter()
    space = build_space(model.tables[0], model, {})
    findings, _ = overlaps_and_gaps(space, MAX_NODES)
    seconds = time.perf_counter() - start
    found = find(space, MAX_NODES)  # the same walk, for the totals behind the findings
    result = {
        "rules": rules,
        "columns": columns,
        "seconds": round(seconds, 3),
        "overlap_groups": len(found.groups),
        "gaps": len(found.gaps),
        "findings": len(findings),
        "target_s": TARGETS.get((rules, columns)),
    }
    if check:
        result["check"] = verify(space, found, numeric, boxes, seed)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 x 5 and 1,500 x 15 only")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--no-check", action="store_true", help="skip checking the results")
    parser.add_argument("--prover", action="store_true", help="the prover's workloads only")
    args = parser.parse_args()
    sizes = [(500, 5), (1500, 5), (1500, 15)] if args.quick else SIZES
    if args.prover:
        sizes = []
    results = []
    for rules, columns in sizes:
        result = run(rules, columns, not args.no_check)
        results.append(result)
        if not args.json:
            target = result["target_s"]
            status = (
                ""
                if target is None
                else (f"  target {target} s: {'met' if result['seconds'] <= target else 'MISSED'}")
            )
            print(
                f"{rules:>6,} rules x {columns:>2} columns  {result['seconds']:>7.3f} s  "
                f"{result['overlap_groups']:>4} overlap groups  {result['gaps']:>4} gaps  "
                f"({result['findings']} findings)  check: {result.get('check', 'skipped')}"
                f"{status}",
                flush=True,
            )
    prover = run_prover(not args.no_check, args.json)
    if args.json:
        print(json.dumps({"overlaps_and_gaps": results, "prover": prover}, indent=2))
    return 0


PROVER_TARGETS = {"bundled": 1.0, "1500x15": 10.0, "chain 3x300": 10.0}  # seconds
# (the bundled workbook's own Safety sheet has no target of its own: it is reported beside)


def run_prover(check_results: bool, quiet: bool) -> list[dict[str, Any]]:
    """The Safety-sheet prover on its three workloads (bench/prover_workloads.py)."""
    import resource

    import bench.prover_workloads as w
    import engine

    runs: list[tuple[str, Any, Any, Any]] = []
    compiled = engine.load(w.BUNDLED)
    props = w.properties_of(compiled, w.safety_sheet(w.BUNDLED_PROPERTIES))
    sampler = w.sample_inside_bundled(compiled)
    runs.append(("bundled", compiled, props, sampler))
    if compiled.properties:  # the workbook's own Safety sheet
        runs.append(("bundled sheet", compiled, compiled.properties, sampler))
    rng = random.Random(SEED)
    for label, layers in (
        ("1500x15", [("PRIORITY", 1500, 15, True)]),
        ("chain 3x300", [("UNIQUE", 300, 5, False), ("COLLECT", 300, 5, True),
                         ("PRIORITY", 300, 5, True)]),
    ):
        compiled, shapes = w.synthetic(layers, f"{SEED}-{label}")
        output = f"t{len(layers)}"
        sheet = w.synthetic_sheet(w.synthetic_properties(shapes[-1], 10, rng), output)
        runs.append((label, compiled, w.properties_of(compiled, sheet), w.sample_inside(compiled)))
    found = []
    for label, compiled, props, sampler in runs:
        result = w.prove(compiled, props)
        status = w.check(compiled, result["results"], sampler, rng) if check_results else "skipped"
        target = PROVER_TARGETS.get(label)
        row = {
            "workload": label,
            "properties": len(props),
            "seconds": round(result["seconds"], 3),
            "encode_seconds": round(result["encode_seconds"], 3),
            "verdicts": result["verdicts"],
            "check": status,
            "target_s": target,
        }
        found.append(row)
        if not quiet:
            verdicts = ", ".join(f"{n} {v}" for v, n in sorted(result["verdicts"].items()))
            met = "" if target is None else (
                f"  target {target} s: {'met' if row['seconds'] <= target else 'MISSED'}"
            )
            print(f"prover {label:<13} {len(props):>3} properties  {row['seconds']:>7.3f} s "
                  f"(encoding {row['encode_seconds']:.3f} s)  {verdicts}  check: {status}{met}",
                  flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found.append({"peak_memory_mb": round(peak_mb), "target_mb": 1024})
    if not quiet:
        print(f"peak memory {peak_mb:,.0f} MB  target 1,024 MB: "
              f"{'met' if peak_mb <= 1024 else 'MISSED'}", flush=True)
    return found


if __name__ == "__main__":
    raise SystemExit(main())
