"""The short form of bench/service.py, run by ``make test``: the real server under load from
separate client processes, against the bare Flask endpoint under the same gunicorn settings,
then a soak. Only 127.0.0.1 is targeted. The throughput and latency targets are printed by
the benchmark and recorded in docs/performance.md; here they are not asserted, because a
shared CI machine cannot promise them. What must hold anywhere: no request fails, and memory
stays within 10% of its level after warm-up.

``TRIAGE_LOAD_SECONDS`` (default 3) sets the length of each measured round and
``TRIAGE_SOAK_SECONDS`` (default 10) the soak.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import service as bench

pytestmark = pytest.mark.load

SECONDS = float(os.environ.get("TRIAGE_LOAD_SECONDS", "3"))
SOAK = float(os.environ.get("TRIAGE_SOAK_SECONDS", "10"))


def test_load_against_the_bare_endpoint_fails_no_request(tmp_path: Path) -> None:
    result = bench.compare(tmp_path, SECONDS, rounds=1, clients=4, workers=2, threads=1,
                           quiet=True)
    print(bench._report(result, None))
    for name in ("ours", "bare", "floor", "engine_only", "half_load"):
        assert result[name]["failed"] == 0, (name, result[name])
        assert result[name]["ok"] > 0
    assert result["ratio"] > 0


def test_soak_fails_no_request_and_keeps_memory_flat(tmp_path: Path) -> None:
    result = bench.soak(tmp_path, SOAK, clients=4, workers=2, threads=1, quiet=True)
    print(bench._report(None, result))
    assert result["failed"] == 0
    assert result["requests"] > 0
    assert result["rss_growth"] <= bench.TARGET_MEMORY, result
