"""The compiler keeps durable-rules inside its limits, for any table.

Sizes around each limit run in a child process: a crash (segmentation fault) or an endless
loop in the C core must fail one test, not kill or freeze the run. The alpha network the
compiled rulesets make is also rebuilt here, independently, and walked the way durable-rules
walks it (``handleAlpha`` in events.c) to show that no message can exceed its stack.
"""

from __future__ import annotations

import json
import operator
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_sheets
from engine.compiler import RESERVED, fnv1a_32
from tests.sheets import ABOUT, inputs_sheet, range_table, table_sheet

SIZE_CHECK = Path(__file__).with_name("size_check.py")
DURABLE_STACK = 64  # MAX_STACK_SIZE in durable-rules' events.c
DURABLE_BUCKET = 512  # NEXT_BUCKET_LENGTH in rules.h: a node's children must leave a slot free
ALLOWED_OPERATORS = {"$and", "$neq", "$lt", "$lte", "$gt", "$gte"}


def run_size_check(n_rules: int, policy: str, xs: list[int]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, str(SIZE_CHECK), str(n_rules), policy, *map(str, xs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"child died ({completed.returncode}): {completed.stderr}"
    return [json.loads(line) for line in completed.stdout.splitlines()]


@pytest.mark.parametrize("n_rules", [1, 64, 65, 512, 513, 5000])
def test_collect_every_rule_matching_at_once(n_rules: int) -> None:
    """x = n-1 matches all n rules of 'x >= i' at once; x = -1 matches none."""
    xs = [-1, 0, n_rules // 2, n_rules - 1, n_rules + 10]
    for result in run_size_check(n_rules, "COLLECT", xs):
        x = result["x"]
        expected = [f"r{i}" for i in range(n_rules) if x >= i]
        assert result["out"] == expected
        assert result["clean"], "the session must hold nothing after an evaluation"


@pytest.mark.parametrize("n_rules", [1, 65, 513, 5000])
def test_first_picks_the_earliest_rule(n_rules: int) -> None:
    results = run_size_check(n_rules, "FIRST", [-5, 0, n_rules - 1])
    assert [r["out"] for r in results] == [None, "r0", "r0"]
    assert all(r["clean"] for r in results)


# --- the alpha network, rebuilt and walked independently ------------------------------------

_COMPARE = {
    "==": operator.eq,
    "$neq": operator.ne,
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}


def _tests_of(rule: dict[str, Any]) -> list[tuple[str, str, int]]:
    (condition,) = rule["all"]
    tests = []
    for test in condition["m"]["$and"]:
        ((key, value),) = test.items()
        if key.startswith("$"):
            ((prop, constant),) = value.items()
            tests.append((prop, key, constant))
        else:
            tests.append((key, "==", value))
    return tests


def alpha_network(definition: dict[str, Any]) -> dict[Any, Any]:
    """A trie of tests, shared the way durable-rules' findAlpha shares equal nodes."""
    root: dict[Any, Any] = {}
    for rule in definition.values():
        node = root
        for test in _tests_of(rule):
            node = node.setdefault(test, {})
    return root


def peak_stack(root: dict[Any, Any], message: dict[str, int]) -> int:
    stack, peak = [root], 1
    while stack:
        node = stack.pop()
        for (prop, op, constant), child in node.items():
            if prop in message and _COMPARE[op](message[prop], constant):
                stack.append(child)
                peak = max(peak, len(stack))
    return peak


def widest_node(root: dict[Any, Any]) -> int:
    widest, todo = 0, [root]
    while todo:
        node = todo.pop()
        widest = max(widest, len(node))
        todo.extend(node.values())
    return widest


def _operators(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {k for k in value if k.startswith("$")}
        for v in value.values():
            found |= _operators(v)
        return found
    if isinstance(value, list):
        return set().union(*(_operators(v) for v in value)) if value else set()
    return set()


range_cells = st.one_of(
    st.just("-"),
    st.integers(-5, 40).map(lambda v: f">= {v}"),
    st.integers(-5, 40).map(lambda v: f"< {v}"),
    st.tuples(st.integers(-5, 20), st.integers(0, 25)).map(lambda p: f"[{p[0]}..{p[0] + p[1]}]"),
    st.lists(st.integers(-5, 40), min_size=1, max_size=4).map(lambda vs: ", ".join(map(str, vs))),
    st.integers(-5, 40).map(lambda v: f"not({v})"),
    st.just("null"),
)


@settings(max_examples=40, deadline=None)
@given(
    rules=st.lists(st.tuples(range_cells, range_cells, range_cells), min_size=1, max_size=400),
    facts=st.lists(
        st.tuples(*[st.one_of(st.none(), st.integers(-10, 45))] * 3), min_size=1, max_size=20
    ),
)
def test_no_message_can_overflow_durable_rules(
    rules: list[tuple[str, str, str]], facts: list[tuple[int | None, ...]]
) -> None:
    sheets = [
        ABOUT,
        inputs_sheet([(n, "integer", None, "no") for n in ("a", "b", "c")]),
        table_sheet(
            "t",
            "COLLECT",
            ["a", "b", "c"],
            ["out"],
            [(*cells, f"r{i}") for i, cells in enumerate(rules)],
        ),
    ]
    model = load_sheets(sheets)
    runner = model.runners["t"]
    definitions = runner.compiled.definitions()
    networks = [alpha_network(d) for d in definitions]
    assert all(widest_node(n) < DURABLE_BUCKET for n in networks)
    assert all(_operators(d) <= ALLOWED_OPERATORS for d in definitions)
    assert all(len(d) <= 4096 for d in definitions)
    for values in facts:
        fact = dict(zip(("a", "b", "c"), values, strict=True))
        for network, messages in zip(networks, runner.messages(fact), strict=True):
            for message in json.loads(messages):
                assert len(message) <= 255
                assert all(isinstance(v, int) for k, v in message.items() if k not in ("sid", "id"))
                assert peak_stack(network, message) <= DURABLE_STACK
        model.evaluate(fact)
        assert model.is_clean()


def test_worst_case_tables_stay_under_the_stack_limit() -> None:
    model = load_sheets(range_table(600))
    runner = model.runners["t"]
    definitions = runner.compiled.definitions()
    assert len(definitions) > 1
    for definition, messages in zip(definitions, runner.messages({"x": 10_000}), strict=True):
        network = alpha_network(definition)
        for message in json.loads(messages):
            assert peak_stack(network, message) <= DURABLE_STACK
        assert widest_node(network) < DURABLE_BUCKET


def test_property_names_have_distinct_durable_hashes() -> None:
    inputs = [(f"v{i}", "integer", None, "no") for i in range(150)]
    rules = [tuple(["null"] * 150 + ["x"])]
    model = load_sheets(
        [
            ABOUT,
            inputs_sheet(inputs),
            table_sheet("t", "FIRST", [n for n, *_ in inputs], ["out"], rules),
        ]
    )
    fields = model.runners["t"].compiled.fields
    props = [p for f in fields for p in (f.prop, f.null_prop) if p] + list(RESERVED)
    assert len({fnv1a_32(p) for p in props}) == len(props)
    assert model.evaluate({}).outputs["t"] == "x"


def test_fnv1a_matches_durable_rules_constants() -> None:
    # HASH_ID and HASH_SID in durable-rules' state.h
    assert fnv1a_32("id") == 926444256
    assert fnv1a_32("sid") == 3593476751


def test_too_many_properties_is_a_workbook_error() -> None:
    """A list-valued input sends one flag per value: 300 values cannot fit one message."""
    from engine import WorkbookError

    values = [f"v{i}" for i in range(300)]
    producer = table_sheet("flags", "COLLECT", ["x"], ["flag"], [("-", "v0")],
                           output_values=[", ".join(values)])
    consumer = table_sheet("use", "FIRST", ["flag"], ["out"], [('"v1"', "yes")])
    with pytest.raises(WorkbookError) as caught:
        load_sheets([ABOUT, inputs_sheet([("x", "integer", None, "no")]), producer, consumer])
    (problem,) = caught.value.problems
    assert "304 message properties" in problem.message
    assert str(problem.location) == "use!A1"
