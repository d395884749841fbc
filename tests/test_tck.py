"""The DMN TCK (compliance level 2) through engine.load and durable-rules.

The cases are read where they are, ``shared/tck/compliance-level-2/`` beside the repository
(never copied in): one folder per case, each a ``.dmn`` model and ``*-test-*.xml`` files of
test cases. Every test case is one pytest test: its input nodes are the facts, each result
node's expected value (a value, a list or components) is compared with
``Decision.outputs[name]`` (numbers numerically), and a result node marked
``errorResult="true"`` must come out as an error (a ``HitPolicyViolation`` or ``FactError``).
The last test prints ``N passed, N failed`` per case and overall.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest

import engine
from engine.dmn import parse_xml
from engine.errors import FactError, HitPolicyViolation, TriageError

TCK_DIR = Path(__file__).resolve().parents[2] / "shared" / "tck" / "compliance-level-2"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MISSING = f"DMN TCK cases not found at {TCK_DIR} (the shared/ folder beside the repository)"


# --- reading test files --------------------------------------------------------------------


def _local(el: Element) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c) == name]


@dataclass(frozen=True)
class ResultNode:
    name: str
    expected: Any
    error: bool


@dataclass(frozen=True)
class TckTest:
    case: str  # the folder, e.g. 0004-simpletable-U
    model: Path
    test_file: str
    case_id: str
    facts: dict[str, Any]
    results: tuple[ResultNode, ...]
    unsupported: str = ""  # why this test case cannot run here (a decision service call …)

    @property
    def name(self) -> str:
        return f"{self.case}/{self.case_id}"


def read_value(el: Element) -> Any:
    """A TCK value element (value, component…, list, or nil) as Python data."""
    if el.get(f"{XSI}nil") == "true":
        return None
    lists = _children(el, "list")
    components = _children(el, "component")
    values = _children(el, "value")
    if lists:
        return [read_value(item) for item in _children(lists[0], "item")]
    if components:
        return {c.get("name", ""): read_value(c) for c in components}
    if values:
        return _scalar(values[0])
    if _local(el) == "value":
        return _scalar(el)
    return None


def _scalar(el: Element) -> Any:
    if el.get(f"{XSI}nil") == "true":
        return None
    if _children(el, "component") or _children(el, "list"):
        return read_value(el)
    text = el.text or ""
    kind = (el.get(f"{XSI}type") or "").rsplit(":", 1)[-1]
    if kind == "boolean":
        return text.strip() == "true"
    if kind in ("decimal", "integer", "int", "long", "double", "float", "short"):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def read_test_file(case: str, model: Path, path: Path) -> list[TckTest]:
    root = parse_xml(path.read_bytes(), str(path))
    cases = []
    for test in _children(root, "testCase"):
        facts = {node.get("name", ""): read_value(node) for node in _children(test, "inputNode")}
        results = []
        for node in _children(test, "resultNode"):
            expected = _children(node, "expected")
            results.append(
                ResultNode(
                    node.get("name", ""),
                    read_value(expected[0]) if expected else None,
                    node.get("errorResult", "false") == "true",
                )
            )
        unsupported = ""
        if test.get("type", "decision") != "decision":
            unsupported = f"test case type '{test.get('type')}' (only decisions are supported)"
        if test.get("invocableName") or _children(test, "invocationParameter"):
            unsupported = "invoking a decision service or knowledge model"
        if test.get("errorResult", "false") == "true":
            results = [ResultNode(r.name, r.expected, True) for r in results]
        cases.append(
            TckTest(
                case,
                model,
                path.name,
                test.get("id", str(len(cases) + 1)),
                facts,
                tuple(results),
                unsupported,
            )
        )
    return cases


def collect(folder: Path) -> list[TckTest]:
    """Every test case of every case folder under ``folder``, in name order."""
    cases: list[TckTest] = []
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        models = sorted(case.glob("*.dmn"))
        for test_file in sorted(case.glob("*-test-*.xml")):
            model = models[0] if models else case / f"{case.name}.dmn"
            cases.extend(read_test_file(case.name, model, test_file))
    return cases


# --- comparing -----------------------------------------------------------------------------


def same(actual: Any, expected: Any) -> bool:
    """TCK equality: numbers numerically, lists element by element, components by name."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(same(actual[k], expected[k]) for k in expected)
        )
    return bool(actual == expected)


_MODELS: dict[Path, engine.Model | TriageError] = {}


def _model(path: Path) -> engine.Model | TriageError:
    if path not in _MODELS:
        try:
            _MODELS[path] = engine.load(path)
        except TriageError as error:
            _MODELS[path] = error
    return _MODELS[path]


def run(test: TckTest, model: engine.Model | TriageError | None = None) -> list[str]:
    """Evaluate one test case; the list of what went wrong (empty when it passed)."""
    if test.unsupported:
        return [f"not supported: {test.unsupported}"]
    model = model if model is not None else _model(test.model)
    if isinstance(model, TriageError):
        return [f"the model does not load: {model}"]
    try:
        outputs: dict[str, Any] | None = dict(model.evaluate(test.facts).outputs)
        error: TriageError | None = None
    except (HitPolicyViolation, FactError) as exc:
        outputs, error = None, exc
    failures = []
    if not model.is_clean():
        failures.append("durable-rules sessions were left holding facts")
    for node in test.results:
        if node.error:
            if error is None:
                assert outputs is not None
                failures.append(f"{node.name}: expected an error, got {outputs.get(node.name)!r}")
            continue
        if outputs is None:
            failures.append(f"{node.name}: expected {node.expected!r}, got error: {error}")
        elif node.name not in outputs:
            failures.append(f"{node.name}: no decision of that name")
        elif not same(outputs[node.name], node.expected):
            failures.append(f"{node.name}: expected {node.expected!r}, got {outputs[node.name]!r}")
    return failures


# --- the tests -----------------------------------------------------------------------------

CASES = collect(TCK_DIR) if TCK_DIR.is_dir() else []
RESULTS: dict[str, dict[str, bool]] = {}


def _params() -> Iterator[Any]:
    if not CASES:
        yield pytest.param(None, id="tck-missing", marks=pytest.mark.skip(reason=MISSING))
    for test in CASES:
        yield pytest.param(test, id=test.name)


@pytest.mark.parametrize("test", list(_params()))
def test_tck_case(test: TckTest) -> None:
    failures = run(test)
    RESULTS.setdefault(test.case, {})[f"{test.test_file}#{test.case_id}"] = not failures
    assert not failures, "\n".join(failures)


@dataclass
class _Tally:
    passed: int = 0
    failed: int = 0
    rows: list[tuple[str, int, int]] = field(default_factory=list)


def summary(results: dict[str, dict[str, bool]]) -> list[str]:
    tally = _Tally()
    width = max((len(c) for c in results), default=4)
    lines = [f"DMN TCK compliance-level-2 ({TCK_DIR})"]
    for case in sorted(results):
        passed = sum(results[case].values())
        failed = len(results[case]) - passed
        tally.passed += passed
        tally.failed += failed
        lines.append(f"  {case:<{width}}  {passed} passed, {failed} failed")
    lines.append(f"TCK: {tally.passed} passed, {tally.failed} failed")
    return lines


def test_tck_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the table of results (runs last: pytest keeps the order of definition)."""
    if not CASES:
        pytest.skip(MISSING)
    if not RESULTS:
        pytest.skip("no TCK test case ran (deselected)")
    with capsys.disabled():
        print("\n" + "\n".join(summary(RESULTS)))
    assert all(all(r.values()) for r in RESULTS.values()), "some TCK test cases failed"
