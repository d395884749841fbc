"""Run in a child process by test_compiler.py, so that a crash or an endless loop inside
durable-rules' C core shows up as a failed test rather than a dead or frozen test run.

Usage: python size_check.py N_RULES POLICY X [X ...]  — prints one JSON line per fact."""

from __future__ import annotations

import json
import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0])

from engine import load_sheets  # noqa: E402
from tests.sheets import range_table  # noqa: E402


def main() -> None:
    n_rules, policy, *xs = sys.argv[1:]
    model = load_sheets(range_table(int(n_rules), policy))
    for x in xs:
        decision = model.evaluate({"x": int(x)})
        print(
            json.dumps(
                {"x": int(x), "out": decision.outputs["t"], "clean": model.is_clean()}
            )
        )


if __name__ == "__main__":
    main()
