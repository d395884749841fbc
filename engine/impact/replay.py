"""``triage replay``: the audited cases re-evaluated against a candidate workbook.

The main process streams the audit trail (:mod:`.auditdb`) in batches and hands each batch
to a pool of worker processes, one per core by default; each worker loads the candidate once
(from its bytes), evaluates the batch with :func:`engine.impact.frame.evaluate_frame` and
sends back only counts and the cases worth listing. At most two batches per worker are in
flight, and the main process writes the listed cases to a temporary file as they come
(:mod:`.spill`), so memory stays flat however many cases there are. Processes rather than threads:
durable-rules' C core is not thread-safe and its rulesets cannot be shared between
processes, so each worker owns its own, as the service's workers do.

Nothing is written to the audit database (:mod:`.auditdb` opens it read-only).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine.evaluator import CompiledModel
from engine.impact.auditdb import AuditedCase, AuditSource
from engine.impact.diff import direction, ordered_outputs
from engine.impact.semantic import freeze
from engine.impact.spill import HELD, MAX_LISTED_REFUSALS, Listed
from engine.model import Model, OutputDef


class CorruptAuditRow(Exception):
    """A stored row whose facts or outputs no longer parse."""


@dataclass
class Outcome:
    """What one batch, or the whole replay, found."""

    cases: int = 0
    changed: int = 0  # cases for which some output the candidate shares differs
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    down: list[dict[str, Any]] = field(default_factory=list)
    up: int = 0
    refused: dict[str, list[Any]] = field(default_factory=dict)  # message -> [count, ids]
    fired: Counter[str] = field(default_factory=Counter)  # "table/rule_id" -> times
    listed: list[dict[str, Any]] = field(default_factory=list)  # changed cases (csv)
    corrupt: str = ""
    evaluated: int = 0  # cases the engine was asked about (the others repeated facts)

    def add(self, other: Outcome) -> None:
        self.cases += other.cases
        self.changed += other.changed
        self.evaluated += other.evaluated
        self.matrix.update(other.matrix)
        self.down.extend(other.down)
        self.up += other.up
        for message, (count, ids) in other.refused.items():
            mine = self.refused.setdefault(message, [0, []])
            mine[0] += count
            mine[1].extend(ids[: MAX_LISTED_REFUSALS - len(mine[1])])
        self.fired.update(other.fired)
        if not self.corrupt:
            self.corrupt = other.corrupt

    @property
    def refused_count(self) -> int:
        return sum(count for count, _ in self.refused.values())


@dataclass(frozen=True)
class _Verdict:
    """A stored answer against the candidate's: ``kind`` is same, changed, down-triage,
    up-triage or refused; labels for the matrix; the chosen output's values; the refusal."""

    kind: str
    old_label: str
    new_label: str
    old: Any
    new: Any
    error: str = ""


MEMO_LIMIT = 10_000  # distinct facts a worker keeps answers for (about 30 MB of its memory)


class Replayer:
    """Compares a batch of audited cases with what ``model`` answers now.

    The answer is a pure function of the facts (the candidate is fixed), and audited cases
    repeat — the same presentation, asked again, or by many patients — so each distinct set
    of facts is evaluated once: a memo of answers by a 128-bit hash of the facts' canonical
    JSON (keys sorted), each answer kept once as JSON however many facts share it, bounded
    by ``memo_limit`` (past it the memo starts afresh, so memory stays flat).
    :attr:`Outcome.evaluated` counts what the engine was asked."""

    def __init__(self, model: CompiledModel, output: str | None, list_changed: bool,
                 memo_limit: int = MEMO_LIMIT) -> None:
        self.model = model
        self.memo: dict[bytes, bytes] = {}  # hash of the facts -> the answer as JSON
        self._shared: dict[bytes, bytes] = {}  # one copy of each answer
        self.memo_limit = memo_limit
        ordered = ordered_outputs(model.model)
        chosen = output or (ordered[-1].name if ordered else model.tables[-1].outputs[0].name)
        self.output: OutputDef | None = model.output(chosen)
        if self.output is None:
            raise ValueError(f"the candidate has no output '{chosen}'")
        self.ordered = self.output if self.output in ordered else None
        self.list_changed = list_changed
        self.outputs = [(t.name, o.name, len(t.outputs) == 1, t.returns_list)
                        for t in model.tables for o in t.outputs]

    def run(self, batch: Sequence[AuditedCase]) -> Outcome:
        import pandas as pd

        found = Outcome(cases=len(batch))
        rows: list[tuple[AuditedCase, bytes]] = []
        stored: dict[str, dict[str, Any]] = {}  # stored outputs (text) -> by output
        known: dict[bytes, dict[str, Any]] = {}  # this batch's answers from the memo
        asked: dict[bytes, dict[str, Any]] = {}  # facts not in the memo, once each
        for case in batch:
            try:
                parsed = orjson.loads(case.facts)
                old = stored.get(case.outputs)
                if old is None:
                    raw = orjson.loads(case.outputs)
                    if isinstance(raw, dict):
                        old = stored[case.outputs] = self._by_output(raw)
            except orjson.JSONDecodeError:
                parsed, old = None, None
            if not isinstance(parsed, dict) or old is None:
                found.corrupt = (f"audit row {case.row_id} (request id {case.request_id}): "
                                 "its stored facts or outputs no longer parse as a JSON object")
                return found
            key = facts_key(parsed)
            if key not in known and key not in asked:
                hit = self.memo.get(key)
                if hit is not None:
                    known[key] = orjson.loads(hit)
                else:
                    asked[key] = parsed
            rows.append((case, key))
        if asked:
            answers = self.model.evaluate_frame(pd.DataFrame.from_records(list(asked.values())),
                                                fired=True, unknown="refuse")
            if len(self.memo) + len(asked) > self.memo_limit:
                self.memo.clear()
                self._shared.clear()
            for key, record in zip(asked, answers.to_dict("records"), strict=True):
                known[key] = record
                text = orjson.dumps(record)
                self.memo[key] = self._shared.setdefault(text, text)
        found.evaluated = len(asked)
        # the same stored answer and the same new one compare the same way: once each
        verdicts: dict[tuple[bytes, str], _Verdict] = {}
        answered: Counter[bytes] = Counter()
        for case, key in rows:
            verdict = verdicts.get((key, case.outputs))
            if verdict is None:
                verdict = verdicts[(key, case.outputs)] = self._verdict(stored[case.outputs],
                                                                        known[key])
            self._count(found, case, verdict)
            if verdict.kind != "refused":
                answered[key] += 1
        for key, times in answered.items():
            for rule in known[key]["fired"]:
                found.fired[rule] += times
        return found

    def _verdict(self, old: dict[str, Any], new: dict[str, Any]) -> _Verdict:
        """How a stored answer and the candidate's compare."""
        name = self.output.name  # type: ignore[union-attr]
        before = old.get(name)
        if new["error"] is not None:
            return _Verdict("refused", _label(before), "refused", before, None, new["error"])
        after = new[name]
        if not any(freeze(old[n]) != freeze(new[n]) for n in old if n in new):
            return _Verdict("same", _label(before), _label(after), before, after)
        kind = "changed"
        if self.ordered is not None:
            way = direction(self.ordered, before, after)
            kind = "down-triage" if way == "down" else "up-triage" if way == "up" else kind
        return _Verdict(kind, _label(before), _label(after), before, after)

    def _count(self, found: Outcome, case: AuditedCase, verdict: _Verdict) -> None:
        found.matrix[(verdict.old_label, verdict.new_label)] += 1
        if verdict.kind == "same":
            return
        found.changed += 1
        if verdict.kind == "refused":
            entry = found.refused.setdefault(verdict.error, [0, []])
            entry[0] += 1
            if len(entry[1]) < MAX_LISTED_REFUSALS:
                entry[1].append(case.request_id)
        elif verdict.kind == "down-triage":
            found.down.append({
                "request_id": case.request_id,
                "evaluated_at": _iso(case.evaluated_at),
                "version": case.version,
                "old": verdict.old,
                "new": verdict.new,
            })
        elif verdict.kind == "up-triage":
            found.up += 1
        if self.list_changed:
            name = self.output.name  # type: ignore[union-attr]
            found.listed.append({
                "request_id": case.request_id,
                "evaluated_at": _iso(case.evaluated_at),
                "version": case.version,
                "class": verdict.kind,
                f"old_{name}": verdict.old,
                f"new_{name}": verdict.new,
                "error": verdict.error or None,
            })

    def _by_output(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored answer (by table) as one value per output the candidate has; outputs of
        tables the stored answer lacks are left out."""
        flat: dict[str, Any] = {}
        for table, output, alone, as_list in self.outputs:
            if table not in stored:
                continue
            result = stored[table]
            if alone:
                flat[output] = result
            elif as_list:
                flat[output] = [r.get(output) if isinstance(r, dict) else None
                                for r in result or []]
            else:
                flat[output] = result.get(output) if isinstance(result, dict) else None
        return flat


def facts_key(facts: dict[str, Any]) -> bytes:
    """The memo's key for a case: a hash of its facts as canonical JSON."""
    return hashlib.blake2b(orjson.dumps(facts, option=orjson.OPT_SORT_KEYS),
                           digest_size=16).digest()


def _label(value: Any) -> str:
    """A matrix row or column: the value, or for a list its first (most urgent) value."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _iso(moment: Any) -> str:
    if isinstance(moment, dt.datetime):
        return moment.isoformat(timespec="microseconds") + "Z"
    return str(moment)


# --- worker processes ----------------------------------------------------------------------

_WORKER: Replayer | None = None  # one per worker process, set by its initializer


def _start_worker(content: bytes, suffix: str, output: str | None, list_changed: bool) -> None:
    global _WORKER
    _WORKER = Replayer(load_bytes(content, suffix), output, list_changed)


def _work(batch: list[AuditedCase]) -> Outcome:
    assert _WORKER is not None
    return _WORKER.run(batch)


def load_bytes(content: bytes, suffix: str, source: str = "") -> CompiledModel:
    """A workbook from its bytes (as the version store and Spark ship it)."""
    from engine.loader import compile_loaded

    return compile_loaded(model_from_bytes(content, suffix))


def model_from_bytes(content: bytes, suffix: str) -> Model:
    """The model of a workbook's bytes, not compiled (reports that only read its rules)."""
    from engine.loader import read_model

    with tempfile.TemporaryDirectory(prefix="triage-") as folder:
        path = Path(folder) / f"workbook{suffix}"
        path.write_bytes(content)
        return read_model(path)


@dataclass
class ReplayRun:
    """A replay's counts, and its listed cases on disk (:meth:`close` deletes them)."""

    candidate: CompiledModel
    table_id: str
    output: str
    outcome: Outcome  # counts only: the listed cases are in ``listed``
    old_fired: Counter[str]
    seconds: float
    workers: int
    listed: Listed

    def __enter__(self) -> ReplayRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.listed.close()


def replay(
    source: AuditSource,
    candidate_path: str,
    candidate: CompiledModel,
    table_id: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    output: str | None = None,
    workers: int | None = None,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
    on_listed: Callable[[list[dict[str, Any]]], None] | None = None,
    held: int = HELD,
) -> ReplayRun:
    """Replay every audited case of ``table_id`` (between ``since`` and ``until``). The
    down-triaged cases and refusals go to a :class:`~engine.impact.spill.Listed` holding at
    most ``held`` of them in memory; close the returned run to delete them. Raises
    :class:`CorruptAuditRow`, :class:`~engine.impact.auditdb.AuditSourceError`."""
    import time

    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    replayer = Replayer(candidate, output, on_listed is not None)
    total = Outcome()
    listed = Listed(held)
    try:
        batches = source.cases(table_id, since, until, batch)
        for found in _outcomes(batches, replayer, candidate_path, workers, output,
                               on_listed is not None):
            if found.corrupt:
                raise CorruptAuditRow(found.corrupt)
            listed.add(found.down, found.refused)
            found.down, found.refused = [], {}
            total.add(found)
            if on_listed is not None and found.listed:
                on_listed(found.listed)
            if progress is not None:
                progress(found.cases)
        old_fired: Counter[str] = Counter()
        for _, _, table, rule, count in source.fired_counts(table_id, since, until):
            old_fired[f"{table}/{rule}"] += count
    except BaseException:
        listed.close()
        raise
    name = replayer.output.name  # type: ignore[union-attr]
    return ReplayRun(candidate, table_id, name, total, old_fired,
                     time.perf_counter() - started, workers, listed)


def _outcomes(batches: Iterator[list[AuditedCase]], replayer: Replayer, path: str,
              workers: int, output: str | None, list_changed: bool) -> Iterator[Outcome]:
    """One outcome per batch. With several workers, each case goes to the worker its facts
    hash to (the stored text: the same facts are sent the same way), so each worker's memo
    holds its own share of the distinct facts and none is evaluated twice."""
    if workers <= 1:
        for part in batches:
            yield replayer.run(part)
        return
    import multiprocessing

    content = Path(path).read_bytes()
    # forked from a fresh server process that has imported pandas and the engine, never from
    # this one (no inherited durable-rules state or threads); the workers share those pages
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pandas", "engine.impact.frame", "engine.impact.replay"])
    with contextlib.ExitStack() as stack:
        pools = [stack.enter_context(ProcessPoolExecutor(
            1, mp_context=context, initializer=_start_worker,
            initargs=(content, Path(path).suffix, output, list_changed)))
            for _ in range(workers)]
        pending: deque[list[Future[Outcome]]] = deque()
        for part in batches:
            shares: list[list[AuditedCase]] = [[] for _ in pools]
            for case in part:
                shares[hash(case.facts) % workers].append(case)
            pending.append([pool.submit(_work, share)
                            for pool, share in zip(pools, shares, strict=True) if share])
            if len(pending) >= 2:
                yield _together(pending.popleft())
        while pending:
            yield _together(pending.popleft())


def _together(parts: list[Future[Outcome]]) -> Outcome:
    """The outcomes of one batch's shares as one, its cases in the order they were stored."""
    found = Outcome()
    for part in parts:
        found.add(part.result())
        found.listed.extend(part.result().listed)
    found.down.sort(key=_stored_order)
    found.listed.sort(key=_stored_order)
    return found


def _stored_order(case: dict[str, Any]) -> tuple[str, str]:
    return case["evaluated_at"], case["request_id"]
