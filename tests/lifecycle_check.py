"""Run in a child process by test_evaluator.py: rulesets created, used in every way a request
can use them, and freed, many times over. Freeing calls durable-rules' ``delete_state`` for
sessions in which an action was started (engine/evaluator.py says why that one is safe and
the others are not); a segmentation fault here shows up as a failed test, not a dead run.

Usage: python lifecycle_check.py SCENARIO [SCENARIO ...] — prints one JSON line per scenario.
"""

from __future__ import annotations

import gc
import json
import resource
import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0])

from engine import HitPolicyViolation, load_sheets  # noqa: E402
from tests.sheets import range_table  # noqa: E402

REPEATS = 25

# scenario -> (rules, hit policy, values of x evaluated in order); rule i is x >= i
SCENARIOS: dict[str, tuple[int, str, tuple[int, ...]]] = {
    "never_evaluated": (40, "COLLECT", ()),
    "no_match": (40, "COLLECT", (-1, -5)),
    "first_no_match": (40, "FIRST", (-1,)),  # one message, reported as not handled
    "match": (40, "COLLECT", (10, 39)),
    "match_then_none": (40, "COLLECT", (10, -1)),
    "none_then_match": (40, "COLLECT", (-1, 10)),
    "first_match": (40, "FIRST", (5, -1)),
    "some_rulesets_only": (600, "COLLECT", (100, -1)),  # 3 rulesets, only the first acts
    "violation": (40, "UNIQUE", (10,)),  # matches, then the hit policy refuses
}


def run(name: str) -> dict[str, object]:
    n_rules, policy, xs = SCENARIOS[name]
    sheets = range_table(n_rules, policy)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clean = True
    for _ in range(REPEATS):
        model = load_sheets(sheets)
        for x in xs:
            try:
                model.evaluate({"x": x})
            except HitPolicyViolation:
                pass
        clean = clean and model.is_clean()
        if name == "violation":  # and a runner started over, as after an engine failure
            for runner in model.runners.values():
                runner._reset()
        del model
        gc.collect()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"scenario": name, "clean": clean, "grew_kb": after - before}


def main() -> None:
    for name in sys.argv[1:]:
        print(json.dumps(run(name)), flush=True)


if __name__ == "__main__":
    main()
