"""Small pieces on their own: JSON Schema from unary tests, the explanation's sentences,
settings refused at start-up, the JSON log formatter, message clipping."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import engine
from engine.conditions import parse_condition
from engine.model import Model
from service.config import ConfigError, settings
from service.errors import clip
from service.explain import Explainer
from service.logs import JsonFormatter
from service.schema import range_schema
from tests.service.conftest import WORKBOOK, example_facts


@pytest.mark.parametrize(
    ("cell", "schema"),
    [
        ("[16..120]", {"minimum": 16, "maximum": 120}),
        ("(0..1]", {"exclusiveMinimum": 0, "maximum": 1}),
        ("]0..1[", {"exclusiveMinimum": 0, "exclusiveMaximum": 1}),
        (">= 0", {"minimum": 0}),
        ("> 0", {"exclusiveMinimum": 0}),
        ("< 5", {"exclusiveMaximum": 5}),
        ("<= 5", {"maximum": 5}),
        ("!= 3", {"not": {"const": 3}}),
        ("[0..5], [10..20]", {"anyOf": [{"minimum": 0, "maximum": 5},
                                        {"minimum": 10, "maximum": 20}]}),
        ("not([0..5])", {"not": {"anyOf": [{"minimum": 0, "maximum": 5}]}}),
        ("-", {}),
    ],
)
def test_range_schema(cell: str, schema: dict[str, Any]) -> None:
    assert range_schema(parse_condition(cell)) == schema


def _label(model: Model, output: str, code: Any) -> str:
    """The workbook's words for an output value (its Labels row)."""
    definition = model.output(output)
    assert definition is not None and definition.labels, output
    return definition.labels[definition.allowed_values.index(code)]


def test_explanation_names_results_rules_and_facts_in_labels() -> None:
    compiled = engine.load(WORKBOOK)
    model = compiled.model
    explainer = Explainer(model)
    decision = compiled.evaluate(example_facts())
    text = explainer.explain(decision)
    electrolytes = _label(model, "electrolyte_abnormal", decision.outputs["electrolyte_abnormal"])
    assert text.startswith(f"Electrolytes: {electrolytes}, the table's default, as no rule")
    assert "Red flags: none, as no rule matched." in text
    caffeine = model.input("caffeine_mg_per_day")
    assert caffeine is not None
    assert (f"by rule C19 (row 25), because {caffeine.label} is 450 {caffeine.unit} "
            "(above 400)") in text
    assert "more condition" not in text  # C24's eleven conditions are all named
    disposition = _label(model, "disposition", decision.outputs["disposition"])
    assert f"Disposition: {disposition}, by rule " in text
    assert text.endswith(f"Advice: from rule A4 (row 12), because disposition is {disposition}.")
    emergency = {**example_facts(), "breathing_difficulty": "at_rest_or_lying_flat"}
    decision = compiled.evaluate(emergency)
    text = explainer.explain(decision)
    flags = decision.outputs["red_flags"]
    assert flags
    assert f"red flags include {_label(model, 'red_flags', flags[0])}" in text
    assert "respiratory_compromise" not in text and "at_rest_or_lying_flat" not in text


@pytest.mark.parametrize(
    ("key", "value"),
    [("MAX_BATCH", 0), ("MAX_BATCH", "10"), ("MAX_CONTENT_LENGTH", True),
     ("KEEP_PREVIOUS_VERSIONS", -1), ("WATCH_INTERVAL", 0), ("ADMIN_TOKEN", "short")],
)
def test_bad_settings_are_refused(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        settings({key: value})


def test_json_log_lines_carry_extra_fields_and_exceptions() -> None:
    record = logging.LogRecord("service.request", logging.INFO, __file__, 1, "%s %s",
                               ("POST", "/x"), None)
    record.request_id = "abc"
    record.status = 200
    line = json.loads(JsonFormatter().format(record))
    assert line | {"message": "POST /x", "request_id": "abc", "status": 200,
                   "level": "INFO", "name": "service.request"} == line
    assert line["time"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exc_info"]


def test_clip_keeps_both_ends() -> None:
    text = "a" * 1000 + " is outside the allowed range"
    clipped = clip(text)
    assert len(clipped) == 300
    assert clipped.endswith("is outside the allowed range") and clipped.startswith("aaa")


def test_metrics_are_batched_and_written_by_the_flush_thread_and_on_close() -> None:
    import time

    from service.metrics import FLUSH_SECONDS, Metrics

    metrics = Metrics()
    route = "/v1/tables/<table_id>/evaluate"
    labels = {"method": "POST", "route": route, "status": "200"}

    def written() -> float:
        return metrics.registry.get_sample_value("triage_http_requests_total", labels) or 0.0

    metrics.observe_request("POST", route, 200, 0.002)
    assert written() == 0.0  # batched: not yet in prometheus_client
    deadline = time.monotonic() + 5 * FLUSH_SECONDS
    while written() == 0.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written() == 1.0  # written by the background thread, without a scrape
    metrics.observe_request("BREW", route, 200, 0.002)  # an invented method: "other"
    metrics.close()
    assert metrics.registry.get_sample_value(
        "triage_http_requests_total", {**labels, "method": "other"}) == 1.0
    assert metrics.registry.get_sample_value(
        "triage_http_request_duration_seconds_count", {"route": route}) == 2.0
    assert not metrics.flusher.is_alive()
