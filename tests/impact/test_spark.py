"""The ``[spark]`` helper in Spark's local mode: every row's answer equals what
``CompiledModel.evaluate`` gives for it, bad rows included. Skipped, with the reason, only
when pyspark or Java cannot be found."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import engine
from engine.evaluator import CompiledModel
from engine.validation.vignettes import outputs_by_name
from tests.impact.cases import random_facts
from tests.impact.conftest import WORKBOOK

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the [spark] extra "
                              "could not be installed here): the Spark helper is not tested")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # pyspark on pandas 3
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: Spark's local mode needs one")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers need this environment's packages
    session = (SparkSession.builder.master("local[2]").appName("triage-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()


def expected(model: CompiledModel, facts: dict[str, Any]) -> dict[str, Any]:
    try:
        outputs = outputs_by_name(model, model.evaluate(facts))
    except engine.TriageError as error:
        return {"error": str(error)}
    return {**outputs, "error": None}


def test_columns_of_facts(spark: Any, bundled: CompiledModel) -> None:
    import pandas as pd

    from engine.spark import evaluate_spark

    rng = random.Random(3)
    cases = [random_facts(bundled, rng) for _ in range(300)]
    cases[5]["age_years"] = 7  # outside [16..120]
    cases[9]["weakness"] = "a lot"  # not an allowed value
    frame = pd.DataFrame.from_records(cases)
    frame["case_id"] = range(len(cases))
    answers = evaluate_spark(spark.createDataFrame(frame), WORKBOOK, keep=["case_id"]).collect()
    assert len(answers) == len(cases)
    names = [o.name for t in bundled.tables for o in t.outputs]
    for row in answers:
        facts = {k: v for k, v in cases[row.case_id].items() if v is not None}
        want = expected(bundled, facts)
        got = row.asDict()
        assert got["version"] == bundled.version
        assert got["error"] == want["error"]
        for name in names:
            assert got[name] == want.get(name), (row.case_id, name)
    errors = {row.case_id: row.error for row in answers if row.error}
    assert set(errors) == {5, 9} and "age_years" in errors[5] and "weakness" in errors[9]


def test_audit_facts_as_json(spark: Any, bundled: CompiledModel) -> None:
    import pandas as pd

    from engine.spark import evaluate_spark

    rng = random.Random(4)
    cases = [random_facts(bundled, rng) for _ in range(200)]
    texts = [json.dumps(c) for c in cases]
    texts[0] = '{"age_years": 4'  # a stored row that no longer parses
    cases[1]["unknown_fact"] = 1  # a fact the workbook no longer declares
    texts[1] = json.dumps(cases[1])
    audit = pd.DataFrame({"request_id": [f"r{i}" for i in range(len(texts))], "facts": texts})
    answers = {r.request_id: r for r in evaluate_spark(
        spark.createDataFrame(audit), WORKBOOK.read_bytes(), keep=["request_id"],
        facts_column="facts").collect()}
    assert answers["r0"].error and answers["r1"].error and "unknown_fact" in answers["r1"].error
    for i in range(2, len(cases)):
        want = expected(bundled, cases[i])
        assert answers[f"r{i}"].disposition == want.get("disposition")
        assert answers[f"r{i}"].error == want["error"]
