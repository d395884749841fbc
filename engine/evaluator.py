"""Evaluation: the only code that talks to durable-rules at run time.

We drive durable-rules' C engine (``durable_rules_engine``) directly rather than through its
``Host``: no background timer threads, no Python action closures whose exceptions the Host
would swallow, and full control of the session. Per table there is one ruleset and one
session (``sid`` "0"), reused for every evaluation — opening a session costs ~50x a match.

One evaluation of a table, under the table's lock:

1. ``assert_facts`` posts one message per chunk (see :mod:`engine.compiler`);
2. the matches are drained with ``start_action_for_state`` / ``complete_and_start_action``
   until none is left — each action's name is a path, each path a rule;
3. ``retract_facts`` removes the messages again.

A table of more than 256 rules has several rulesets, each visited the same way.
The session is then empty again: no stored fact, no event, no pending action — which
:meth:`TableRunner.is_clean` checks and the tests assert after every evaluation. Some calls
durable-rules offers are never made, because they crash or corrupt the C core:
``abandon_action`` (the next completed action then crashes), ``complete_and_start_action``
without a started action (segmentation fault), and ``delete_state`` on a session in which no
action was ever started (segmentation fault, see below).

Freeing a ruleset. ``delete_ruleset`` frees the ruleset's own pools but not what its session
holds (``deleteRuleset`` in rete.c frees ``statePool.content``, the array of sessions, and
nothing each session points to: the per-beta-node frame indexes, about 8 KB each, the message
pool, the action and connector states). A ruleset that served one evaluation therefore left
about 1.5 MB behind per load of the bundled workbook (measured: 40 loads, each evaluating 20
vignettes, grew a process by 61 MB; 2 MB when the session is freed first). ``delete_state``
frees all of it, but it also frees the session's action context, which ``ensureStateNode``
(state.c) never initialises: it is set by the first ``start_action_for_state`` that finds an
action, and set to NULL again by ``complete_and_start_action`` once the actions are drained.
So a session is freed with ``delete_state`` only once an action has been started in it; one in
which no rule ever fired keeps the old leak (its context is uninitialised memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import durable_rules_engine as dre

from engine.compiler import CHUNKS_PER_RULESET, CompiledTable, compile_model
from engine.conditions import AnyValue, Condition, matches
from engine.errors import EngineFailure
from engine.facts import FactChecker
from engine.hitpolicy import resolve
from engine.model import (
    About,
    Decision,
    FiredRule,
    HitPolicy,
    InputDef,
    MatchedCondition,
    Model,
    OutputDef,
    Rule,
    SafetyProperty,
    Table,
    Vignette,
)

_HANDLES = threading.Lock()  # the C core's handle table is a global without a lock


class _Ruleset:
    """A ruleset's handle, and whether an action was ever started in its session (only then
    may :func:`_delete_dead` free the session with ``delete_state``; see the module docstring).
    Kept apart from the runner so that the runner's finalizer can hold it."""

    __slots__ = ("handle", "acted")

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.acted = False


_DEAD: list[_Ruleset] = []  # rulesets whose runner is gone, not yet deleted
_SID = "0"
_NOT_HANDLED = 1  # ERR_EVENT_NOT_HANDLED in durable-rules' rules.h


def _keep_large_blocks_mapped() -> None:
    """durable-rules grows its node and string pools one element at a time with ``realloc``.
    Once glibc has raised its dynamic mmap threshold (it does after large frees), each
    growth copies the whole pool and building a 3,000-rule table takes seconds. Fixing the
    threshold at glibc's own default keeps large pools mapped, where growing is ``mremap``.
    Elsewhere than glibc this does nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return


_keep_large_blocks_mapped()


class TableRunner:
    """One compiled table loaded into durable-rules: its rulesets, each with one session."""

    def __init__(self, compiled: CompiledTable, name: str) -> None:
        self.compiled = compiled
        self._name = name
        self._definitions = [json.dumps(d, separators=(",", ":")) for d in compiled.definitions()]
        self._path_rule = {p.name: p.rule for p in compiled.paths}
        self._prefixes = tuple(
            tuple(
                f'{{"sid":"{_SID}","id":"c{c}","j":{c - first}'
                for c in range(first, min(first + CHUNKS_PER_RULESET, compiled.chunks))
            )
            for first in range(0, compiled.chunks, CHUNKS_PER_RULESET)
        )
        self._encoders = tuple((f.encode, f.source) for f in compiled.fields)
        self._lock = threading.Lock()
        self._states: list[int | None] = [None] * len(self._definitions)
        self._handles: list[int] = []
        self._rulesets: list[_Ruleset] = []
        self._finalizers: list[weakref.finalize] = []
        self._create_all()

    def _create_all(self) -> None:
        with _HANDLES:
            _delete_dead()
            for number, definition in enumerate(self._definitions):
                try:
                    handle = int(dre.create_ruleset(f"{self._name}.{number}", definition))
                except Exception as exc:  # durable_rules_engine.error
                    raise EngineFailure(
                        f"durable-rules refused table '{self.compiled.table}': {exc}"
                    ) from exc
                ruleset = _Ruleset(handle)
                self._handles.append(handle)
                self._rulesets.append(ruleset)
                self._finalizers.append(weakref.finalize(self, _free, ruleset))
            _delete_dead()  # any whose runner the garbage collector found meanwhile

    def body(self, values: Mapping[str, Any]) -> str:
        parts = [encode(values[source]) for encode, source in self._encoders]
        body = ",".join([part for part in parts if part])
        return "," + body + "}" if body else "}"

    def messages(self, values: Mapping[str, Any]) -> list[str]:
        """One JSON array of messages per ruleset."""
        body = self.body(values)
        return ["[" + ",".join(p + body for p in prefixes) + "]" for prefixes in self._prefixes]

    def match(self, values: Mapping[str, Any], first_only: bool = False) -> list[int]:
        """Indices of the rules whose conditions ``values`` satisfy, in rule order. With
        ``first_only`` (hit policy FIRST) chunks are posted one at a time, in rule order, and
        the search stops at the first chunk with a match: it holds the earliest matching rule,
        since every earlier rule lives in an earlier chunk."""
        if not self.compiled.paths:
            return []
        matched: set[int] = set()
        with self._lock:
            try:
                if first_only:
                    self._match_first(self.body(values), matched)
                else:
                    for number, messages in enumerate(self.messages(values)):
                        self._post(number, messages, matched)
            except Exception as exc:
                self._reset()
                raise EngineFailure(
                    f"durable-rules failed on table '{self.compiled.table}': {exc}"
                ) from exc
        return sorted(matched)

    def _match_first(self, body: str, matched: set[int]) -> None:
        for number, prefixes in enumerate(self._prefixes):
            for prefix in prefixes:
                self._post(number, "[" + prefix + body + "]", matched, single=True)
                if matched:
                    return

    def _post(self, number: int, messages: str, matched: set[int], single: bool = False) -> None:
        """Post ``messages`` to ruleset ``number``, collect every rule they match, and leave
        the session empty again. A ``single`` message that durable-rules reports as not
        handled reached no rule: nothing was stored and there is nothing to drain."""
        handle = self._handles[number]
        result, state = dre.assert_facts(handle, messages)
        self._states[number] = state
        if single and result == _NOT_HANDLED:
            return
        try:
            started = dre.start_action_for_state(handle, state)
            action = started[1] if started is not None else None
            if action is not None:
                self._rulesets[number].acted = True
            while action is not None:
                matched.add(self._path_rule[action[2 : action.index('"', 2)]])
                action = dre.complete_and_start_action(handle, state)
        finally:
            dre.retract_facts(handle, messages)

    def is_clean(self) -> bool:
        """No stored fact, event or pending action in any session."""
        with self._lock:
            clean = True
            for handle, state in zip(self._handles, self._states, strict=True):
                if state is None:
                    continue  # no message was ever posted
                facts = json.loads(dre.get_facts(handle, _SID))
                events = json.loads(dre.get_events(handle, _SID))
                pending = dre.start_action_for_state(handle, state)
                clean = clean and facts == [] and events == [] and pending is None
            if not clean:  # a dirty session must not serve again
                self._reset()
            return clean

    def _reset(self) -> None:
        """After a failure the sessions may hold anything: start over with new rulesets."""
        for finalizer in self._finalizers:
            finalizer()
        self._handles, self._rulesets, self._finalizers = [], [], []
        self._states = [None] * len(self._definitions)
        self._create_all()


def _free(ruleset: _Ruleset) -> None:
    """A runner's finalizer: delete its ruleset now if no one holds _HANDLES, else leave it to
    the holder. It must never wait for the lock: a finalizer runs wherever the garbage
    collector happens to run, which may be an allocation inside :meth:`_create_all` on this
    very thread, with the lock held (seen here: a test run that hung for good)."""
    _DEAD.append(ruleset)
    if _HANDLES.acquire(blocking=False):
        try:
            _delete_dead()
        finally:
            _HANDLES.release()


def _delete_dead() -> None:
    """Delete the rulesets waiting in _DEAD, with their session where that is safe (see the
    module docstring). Call with _HANDLES held."""
    while _DEAD:
        ruleset = _DEAD.pop()
        if ruleset.acted:
            try:
                dre.delete_state(ruleset.handle, _SID)
            except Exception:  # no session: nothing to free
                pass
        try:
            dre.delete_ruleset(ruleset.handle)
        except Exception:  # already gone; nothing left to free
            continue


class CompiledModel:
    """A model's tables loaded into durable-rules, ready to evaluate: what ``engine.load``
    returns. The :class:`~engine.model.Model` it holds stays plain, immutable data; this
    object owns the engine's rulesets. Evaluations may run from several threads at once."""

    def __init__(self, model: Model, compiled: Mapping[str, CompiledTable] | None = None) -> None:
        self.model = model
        compiled = compiled if compiled is not None else compile_model(model)
        self.runners = {
            t.name: TableRunner(compiled[t.name], f"{model.about.table_id or 'model'}.{t.name}")
            for t in model.tables
        }
        self._facts = FactChecker(model.inputs)
        self._tested = {t.name: tuple(_tested(t, r) for r in t.rules) for t in model.tables}

    # The model's data, read through: most callers need both the data and evaluate().
    @property
    def about(self) -> About:
        return self.model.about

    @property
    def inputs(self) -> tuple[InputDef, ...]:
        return self.model.inputs

    @property
    def tables(self) -> tuple[Table, ...]:
        return self.model.tables

    @property
    def vignettes(self) -> tuple[Vignette, ...]:
        return self.model.vignettes

    @property
    def properties(self) -> tuple[SafetyProperty, ...]:
        return self.model.properties

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def source(self) -> str:
        return self.model.source

    def input(self, name: str) -> InputDef | None:
        return self.model.input(name)

    def table(self, name: str) -> Table | None:
        return self.model.table(name)

    def output(self, name: str) -> OutputDef | None:
        return self.model.output(name)

    def evaluate(self, facts: Mapping[str, Any]) -> Decision:
        """Check ``facts`` against the Inputs sheet, then run every table through
        durable-rules. Raises :class:`~engine.errors.FactError` or
        :class:`~engine.errors.HitPolicyViolation`."""
        values = self._facts.check(facts)
        outputs: dict[str, Any] = {}
        fired: list[FiredRule] = []
        for table in self.model.tables:
            first_only = table.hit_policy is HitPolicy.FIRST
            outcome = resolve(table, self.runners[table.name].match(values, first_only))
            values.update(outcome.by_output)
            outputs[table.name] = outcome.value
            tested = self._tested[table.name]
            fired.extend(_describe(table, r, tested[r.index], values) for r in outcome.fired)
        return Decision(self.model.version, outputs, tuple(fired))

    def evaluate_frame(self, cases: Any, fired: bool = False, unknown: str = "ignore") -> Any:
        """Evaluate every row of a pandas DataFrame of cases into a DataFrame of outputs and
        an ``error`` column; one bad row never fails the frame. See
        :func:`engine.impact.frame.evaluate_frame`."""
        from engine.impact.frame import evaluate_frame  # pandas only when asked for

        return evaluate_frame(self, cases, fired, unknown)

    def describe(self, table: Table) -> dict[str, Any]:
        """The durable-rules rulesets of ``table``, in readable form (``triage compile``)."""
        return self.runners[table.name].compiled.describe(table)

    def is_clean(self) -> bool:
        return all(r.is_clean() for r in self.runners.values())


Tested = tuple[tuple[str, str, Condition], ...]  # (input, cell text, condition)


def _tested(table: Table, rule: Rule) -> Tested:
    """The cells of ``rule`` that test something, prepared once per model."""
    return tuple(
        (column.name, cell.text, cell.condition)
        for column, cell in zip(table.inputs, rule.cells, strict=True)
        if not isinstance(cell.condition, AnyValue)
    )


def _describe(table: Table, rule: Rule, tested: Tested, values: Mapping[str, Any]) -> FiredRule:
    """The fired rule as reviewers read it. Its conditions are checked once more against the
    values, in plain Python: a rule durable-rules fires wrongly is an error, never an answer."""
    conditions = tuple(MatchedCondition(name, text, values.get(name)) for name, text, _ in tested)
    held = zip(tested, conditions, strict=True)
    if not all(matches(condition, c.value) for (_, _, condition), c in held):
        raise EngineFailure(
            f"durable-rules fired rule '{rule.rule_id}' of table '{table.name}' "
            "although its conditions do not hold"
        )
    outputs = {o.name: v for o, v in zip(table.outputs, rule.outputs, strict=True)}
    return FiredRule(
        table.name, rule.rule_id, table.sheet, rule.row, rule.citation, conditions, outputs
    )
