"""What the explanation in words costs next to the evaluation it explains.

Run ``python bench/explain.py`` (about 10 seconds). For every vignette of the bundled
workbook, in one process: ``Model.evaluate`` (the baseline), ``Explainer.explain`` (the
service's ``explanation``: labels, every matched condition in words) and
``Explainer.report`` (``triage evaluate --explain``). Medians of ``time.perf_counter_ns``
over repeated calls, and the explanation's median as a share of the evaluation's, so the
figure means the same on a faster or slower machine. See docs/performance.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/, whose engine.py would shadow the package

import engine  # noqa: E402
from engine.explanation import Explainer  # noqa: E402

WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
ROUNDS = 20


def _median_us(call: Callable[[], object]) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    compiled = engine.load(WORKBOOK)
    explainer = Explainer(compiled.model)
    evaluate, explain, report, conditions = [], [], [], []
    for vignette in compiled.model.vignettes:
        facts = dict(vignette.facts)
        decision = compiled.evaluate(facts)
        evaluate.append(_median_us(partial(compiled.evaluate, facts)))
        explain.append(_median_us(partial(explainer.explain, decision)))
        report.append(_median_us(partial(explainer.report, decision)))
        conditions.append(sum(len(f.conditions) for f in decision.fired))
    cases = len(evaluate)
    print(f"{cases} vignettes of {WORKBOOK.name}, median of {ROUNDS} calls each, then median "
          f"over the vignettes; conditions named per case: median "
          f"{statistics.median(conditions):.0f}, most {max(conditions)}")
    base = statistics.median(evaluate)
    for name, times in (("Model.evaluate", evaluate), ("Explainer.explain", explain),
                        ("Explainer.report", report)):
        mid = statistics.median(times)
        print(f"  {name:18} {mid:8.1f} us   {mid / base:5.2f} x evaluate")


if __name__ == "__main__":
    main()
