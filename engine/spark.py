"""Evaluating a Spark DataFrame of cases, for what outgrows one machine (the ``[spark]``
extra; docs/scale.md shows a cluster run and a replay of an audit table exported to Parquet).

:func:`evaluate_spark` returns a DataFrame with the columns asked to be kept, one column per
output, ``error`` and ``version``. It runs :meth:`engine.CompiledModel.evaluate_frame` on
each Arrow batch through ``mapInPandas``, so every row gets the engine's own answer,
durable-rules included, and one bad row never fails the job.

The workbook travels as bytes in a broadcast variable, and each Python worker loads it once
(:func:`_model`, cached by content hash): executors need no shared file system and no copy of
the workbook on disk, only this package installed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.evaluator import CompiledModel
from engine.hitpolicy import Aggregation
from engine.model import Kind, Table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import DataFrame

_LOADED: dict[str, CompiledModel] = {}  # per Python worker: content hash -> loaded model


def _model(content: bytes, suffix: str) -> CompiledModel:
    """The workbook, loaded once per worker process."""
    key = hashlib.sha256(content).hexdigest() + suffix
    model = _LOADED.get(key)
    if model is None:
        from engine.impact.replay import load_bytes

        model = _LOADED[key] = load_bytes(content, suffix)
    return model


def evaluate_spark(
    cases: DataFrame,
    workbook: str | Path | bytes,
    suffix: str = ".xlsx",
    keep: Sequence[str] = (),
    facts_column: str | None = None,
) -> DataFrame:
    """Evaluate every row of ``cases``. Its columns named like inputs are the facts — or,
    with ``facts_column``, that column holds each case's facts as a JSON object (the audit
    trail's ``facts``). ``keep``: columns copied through (an id, the stored outputs)."""
    from pyspark.sql import SparkSession

    content = workbook if isinstance(workbook, bytes) else Path(workbook).read_bytes()
    if not isinstance(workbook, bytes):
        suffix = Path(workbook).suffix or suffix
    model = _model(content, suffix)  # here too: the schema, and a workbook that fails fails now
    schema = _schema(model, cases, keep)
    session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    shipped = session.sparkContext.broadcast(content)
    kept = list(keep)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        loaded = _model(shipped.value, suffix)
        for batch in batches:
            yield _answers(loaded, batch, kept, facts_column)

    return cases.mapInPandas(run, schema)  # type: ignore[arg-type]


def _answers(model: CompiledModel, batch: pd.DataFrame, keep: list[str],
             facts_column: str | None) -> pd.DataFrame:
    import orjson
    import pandas as pd

    if facts_column is not None:
        records = []
        for text in batch[facts_column].tolist():
            try:
                parsed = orjson.loads(text) if text is not None else None
            except orjson.JSONDecodeError:
                parsed = None
            records.append(parsed if isinstance(parsed, dict) else {"facts": text})
        facts = pd.DataFrame.from_records(records, index=batch.index) if records else \
            pd.DataFrame(index=batch.index)
        answers = model.evaluate_frame(facts, unknown="refuse")
    else:
        answers = model.evaluate_frame(batch)
    for table in model.tables:
        for output in table.outputs:
            if _spark_kind(table, output.kind) == "double":
                answers[output.name] = [None if v is None else float(v)
                                        for v in answers[output.name]]
    answers["version"] = model.version
    for column in keep:
        answers[column] = batch[column].to_numpy()
    return answers[[*keep, *(o.name for t in model.tables for o in t.outputs), "error",
                    "version"]]


def _spark_kind(table: Table, kind: Kind) -> str:
    if table.aggregation is Aggregation.COUNT:
        return "long"
    if table.aggregation is not None or kind is Kind.NUMBER:
        return "double"
    return {Kind.BOOLEAN: "boolean", Kind.INTEGER: "long"}.get(kind, "string")


def _schema(model: CompiledModel, cases: DataFrame, keep: Sequence[str]) -> Any:
    from pyspark.sql import types as T

    by_kind = {"long": T.LongType(), "double": T.DoubleType(), "boolean": T.BooleanType(),
               "string": T.StringType()}
    fields = [cases.schema[c] for c in keep]
    for table in model.tables:
        for output in table.outputs:
            element = by_kind[_spark_kind(table, output.kind)]
            kind = T.ArrayType(element) if table.returns_list else element
            fields.append(T.StructField(output.name, kind, True))
    fields += [T.StructField("error", T.StringType(), True),
               T.StructField("version", T.StringType(), False)]
    return T.StructType(fields)
