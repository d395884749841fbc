"""Evaluation through durable-rules: sessions stay clean, threads are safe, failures are
translated and recovered from, and no background thread is ever started."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import durable_rules_engine
import pytest

from engine import EngineFailure, HitPolicyViolation, load_sheets
from engine.model import Model
from tests.sheets import ABOUT, inputs_sheet, range_table, table_sheet


def triage_model() -> Model:
    inputs = inputs_sheet(
        [
            ("age", "integer", "[0..120]", "yes"),
            ("kind", "enum", "a, b, c", "yes"),
            ("level", "number", None, "no"),
        ]
    )
    flags = table_sheet(
        "flags",
        "COLLECT",
        ["age", "kind", "level"],
        ["flags"],
        [
            (">= 65", "-", "-", "old"),
            ("[18..64]", '"a", "b"', "< 3.5", "low"),
            ("-", "not(c)", "null", "unmeasured"),
        ],
        output_values=["old, low, unmeasured"],
    )
    disposition = table_sheet(
        "disposition",
        "PRIORITY",
        ["flags"],
        ["disposition"],
        [
            ('"old", "low"', "HIGH"),
            ("null", "NONE"),
            ('"unmeasured"', "LOW"),
        ],
        output_values=["HIGH, LOW, NONE"],
        defaults=["LOW"],
    )
    return load_sheets([ABOUT, inputs, flags, disposition])


def test_chained_evaluation_reports_fired_rules_with_values() -> None:
    decision = triage_model().evaluate({"age": 70, "kind": "a"})
    assert decision.outputs == {"flags": ["old", "unmeasured"], "disposition": "HIGH"}
    fired = [(f.table, f.rule_id, f.row) for f in decision.fired]
    assert fired == [("flags", "R1", 9), ("flags", "R3", 11), ("disposition", "R1", 9)]
    first = decision.fired[0]
    assert [(c.input, c.test, c.value) for c in first.conditions] == [("age", ">= 65", 70)]
    assert first.citation == "test source"


def test_facts_matching_nothing_leave_the_sessions_clean() -> None:
    model = triage_model()
    for _ in range(2_000):  # alternating: durable-rules crashed on sessions like these
        assert model.evaluate({"age": 10, "kind": "c", "level": 9}).outputs["flags"] == []
        assert model.evaluate({"age": 70, "kind": "c", "level": 1}).outputs["flags"] == ["old"]
    assert model.is_clean()


def test_no_background_threads_are_started() -> None:
    before = threading.active_count()
    model = triage_model()
    model.evaluate({"age": 70, "kind": "a"})
    assert threading.active_count() == before


def test_concurrent_evaluations_give_the_sequential_answers() -> None:
    model = load_sheets(range_table(700, "COLLECT"))
    xs = [(i * 37) % 760 - 30 for i in range(400)]
    expected = {x: model.evaluate({"x": x}).outputs["t"] for x in set(xs)}

    def run(x: int) -> bool:
        return model.evaluate({"x": x}).outputs["t"] == expected[x]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(run, xs * 3))
    assert model.is_clean()


def test_a_durable_rules_failure_is_translated_and_the_table_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = triage_model()
    real = durable_rules_engine.assert_facts

    def broken(handle: int, messages: str) -> object:
        raise durable_rules_engine.error("Could not assert facts, error code: 303")

    monkeypatch.setattr(durable_rules_engine, "assert_facts", broken)
    with pytest.raises(EngineFailure, match="error code: 303"):
        model.evaluate({"age": 70, "kind": "a"})
    monkeypatch.setattr(durable_rules_engine, "assert_facts", real)
    assert model.evaluate({"age": 70, "kind": "a"}).outputs["disposition"] == "HIGH"
    assert model.is_clean()


def test_unique_violation_names_every_matching_rule() -> None:
    sheets = range_table(5, "UNIQUE")
    model = load_sheets(sheets)
    with pytest.raises(HitPolicyViolation) as caught:
        model.evaluate({"x": 3})
    assert caught.value.rule_ids == ("R1", "R2", "R3", "R4")
    assert caught.value.table == "t"
    assert model.evaluate({"x": 0}).outputs["t"] == "r0"


def test_rulesets_are_freed_with_their_model() -> None:
    import gc

    model = triage_model()
    model.evaluate({"age": 70, "kind": "a"})
    handles = [h for r in model.runners.values() for h in r._handles]
    for handle in handles:
        durable_rules_engine.get_facts(handle, "0")  # alive: no error
    del model
    gc.collect()
    for handle in handles:
        with pytest.raises(durable_rules_engine.error, match="error code: 111"):
            durable_rules_engine.get_facts(handle, "0")  # ERR_INVALID_HANDLE


def test_a_model_collected_while_another_loads_neither_hangs_nor_leaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A runner's finalizer deletes its rulesets under the lock that guards durable-rules'
    # handle table. The garbage collector may run it in the middle of building another
    # table, on the same thread, with that lock held: it must not wait for the lock then.
    import gc

    real = durable_rules_engine.create_ruleset

    def collecting(name: str, definition: str) -> object:
        gc.collect()  # the collector, run by an allocation here, while the lock is held
        return real(name, definition)

    dead = triage_model()
    handles = [h for r in dead.runners.values() for h in r._handles]
    cycle: list[object] = [dead]
    cycle.append(cycle)  # only the collector can free it now
    del dead, cycle
    built: list[Model] = []
    monkeypatch.setattr(durable_rules_engine, "create_ruleset", collecting)
    worker = threading.Thread(target=lambda: built.append(triage_model()), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "loading a model hung while another was being collected"
    for handle in handles:  # deleted by the build that held the lock, once it was done
        with pytest.raises(durable_rules_engine.error, match="error code: 111"):
            durable_rules_engine.get_facts(handle, "0")
    assert built[0].evaluate({"age": 70, "kind": "a"}).outputs["disposition"] == "HIGH"


LIFECYCLE_CHECK = Path(__file__).with_name("lifecycle_check.py")


def test_rulesets_are_freed_safely_after_every_way_of_using_them() -> None:
    """Freeing a ruleset frees its session with ``delete_state`` where an action was started
    (and leaves it where none was: that call crashes there). Every way a request can leave a
    session — never used, nothing matched, one message not handled, matches, a violation, a
    ruleset of several where only some acted, a runner started over — is freed 25 times in a
    child process, so a segmentation fault fails this test instead of the test run."""
    from tests.lifecycle_check import SCENARIOS

    completed = subprocess.run(
        [sys.executable, str(LIFECYCLE_CHECK), *SCENARIOS],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"child died ({completed.returncode}): {completed.stderr}"
    results = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [r["scenario"] for r in results] == list(SCENARIOS)
    assert all(r["clean"] for r in results), results
