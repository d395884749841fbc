"""Proving the Safety sheet's properties for every case the Inputs sheet allows.

For each property the solver is asked for a case that breaks it (:mod:`engine.prover.check`
says what breaking means): its ``When`` cells on inputs hold and either some table gives no
answer, or its ``When`` cells on outputs hold and a ``Then`` cell does not. The tables and
the input space are encoded once (:mod:`engine.prover.encode`) and shared by every property.

* no such case: the property is **proven** — unless no case satisfies its ``When`` at all,
  which is reported as **vacuous** (it can never apply, which is rarely what was meant);
* a case: the solver's patient is replayed through durable-rules, and only if the engine
  really breaks the property is it **violated**, with that patient as the counterexample;
* anything else — a solver timeout, a replay that does not break it, a table the encoding
  states only approximately — is **not proven**, with the reason. Never "proven".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import z3

from engine.evaluator import CompiledModel
from engine.hitpolicy import HitPolicy
from engine.model import Model, SafetyProperty
from engine.prover.encode import ModelEncoding, encode_model
from engine.prover.space import InputSpace, conditions_of
from engine.prover.values import all_of, any_of, negate, to_z3
from engine.prover.witness import Counterexample, replay

TIMEOUT_MS = 20_000  # per solver call


class Verdict(StrEnum):
    PROVEN = "proven"
    VIOLATED = "violated"
    VACUOUS = "vacuous"
    NOT_PROVEN = "not proven"


@dataclass(frozen=True)
class PropertyResult:
    prop: SafetyProperty
    verdict: Verdict
    reason: str = ""  # why it is not proven
    counterexample: Counterexample | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        prop = self.prop
        where = prop.location
        return {
            "id": prop.property_id,
            "sheet": where.sheet if where else None,
            "row": prop.row,
            "severity": prop.severity,
            "citation": prop.citation,
            "verdict": self.verdict.value,
            "reason": self.reason or None,
            "counterexample": self.counterexample.as_dict() if self.counterexample else None,
            "seconds": round(self.seconds, 4),
        }


class Prover:
    """The encoding of one compiled model, ready to prove any number of properties."""

    def __init__(
        self,
        compiled: CompiledModel,
        properties: Sequence[SafetyProperty] | None = None,
        timeout_ms: int = TIMEOUT_MS,
    ) -> None:
        self.compiled = compiled
        model = compiled.model
        self.properties = tuple(model.properties if properties is None else properties)
        extra = [(c.name, c.condition) for p in self.properties for c in (*p.when, *p.then)]
        self.space = InputSpace.of(model.inputs, conditions_of(model, extra))
        self.encoding: ModelEncoding = encode_model(model, self.space)
        self.solver = z3.Solver(ctx=self.space.ctx)
        self.solver.set(timeout=timeout_ms)
        self.solver.add(*self.space.domain, *self.encoding.definitions)
        self._violation = self.encoding.any_violation()
        self._checked_violation = False

    def prove_all(self, tests_columns: Sequence[str] | None = None) -> list[PropertyResult]:
        return [self.prove(p, tests_columns) for p in self.properties]

    def prove(
        self, prop: SafetyProperty, tests_columns: Sequence[str] | None = None
    ) -> PropertyResult:
        start = time.perf_counter()
        try:
            verdict, reason, example = self._prove(prop, tests_columns)
        except Exception as exc:  # a prover bug leaves this property not proven, never proven
            reason = f"the prover failed ({type(exc).__name__}: {exc}); please report this"
            verdict, reason, example = Verdict.NOT_PROVEN, reason, None
        return PropertyResult(prop, verdict, reason, example, time.perf_counter() - start)

    def _prove(
        self, prop: SafetyProperty, tests_columns: Sequence[str] | None
    ) -> tuple[Verdict, str, Counterexample | None]:
        enc, ctx, solver = self.encoding, self.space.ctx, self.solver
        inputs = self.space.vars
        self._drop_impossible_violation()
        when_in = all_of([enc.holds(c.name, c.condition) for c in prop.when if c.name in inputs],
                         ctx)
        when_out = all_of(
            [enc.holds(c.name, c.condition) for c in prop.when if c.name not in inputs], ctx
        )
        then = all_of([enc.holds(c.name, c.condition) for c in prop.then], ctx)
        broken = all_of(
            [when_in, any_of([self._violation, all_of([when_out, negate(then)], ctx)], ctx)], ctx
        )
        solver.push()
        try:
            solver.add(to_z3(broken, ctx))
            answer = solver.check()
            if answer == z3.sat:
                candidates = self._patients()
            elif answer == z3.unknown:
                return Verdict.NOT_PROVEN, self._unknown(), None
        finally:
            solver.pop()
        if answer == z3.sat:
            found = replay(self.compiled, prop, candidates, tests_columns)
            if isinstance(found, str):
                return Verdict.NOT_PROVEN, found, None
            return Verdict.VIOLATED, "", found
        limit = self._limit(prop)
        if limit:
            return Verdict.NOT_PROVEN, limit, None
        applies = all_of([when_in, any_of([self._violation, when_out], ctx)], ctx)
        if solver.check(to_z3(applies, ctx)) == z3.unsat:
            return Verdict.VACUOUS, "", None
        return Verdict.PROVEN, "", None

    def _drop_impossible_violation(self) -> None:
        """Once per model: if no case can leave a table without an answer (UNIQUE and ANY
        tables never break), every property is proven without that question, which each
        proof would otherwise settle again."""
        if self._checked_violation or isinstance(self._violation, bool):
            return
        self._checked_violation = True
        if self.solver.check(self._violation) == z3.unsat:
            self._violation = False

    def _patients(self) -> list[dict[str, Any]]:
        """Facts for the solver's case, preferring one that gives every optional input (a
        reviewer reads a whole patient more easily), then the case as the solver found it."""
        solver = self.solver
        optional = [v.present for v in self.space.vars.values() if v.present is not True]
        first = self.space.facts(solver.model())
        while optional:
            if solver.check(*optional) == z3.sat:
                return [self.space.facts(solver.model()), first]
            core = {str(c) for c in solver.unsat_core()}
            kept = [p for p in optional if str(p) not in core]
            if len(kept) == len(optional):
                break
            optional = kept
        if optional == [] and solver.check() == z3.sat:
            return [self.space.facts(solver.model()), first]
        return [first]

    def _unknown(self) -> str:
        reason = self.solver.reason_unknown()
        if "timeout" in reason or "canceled" in reason:
            return "the solver ran out of time"
        return f"the solver could not decide ({reason})"

    def _limit(self, prop: SafetyProperty) -> str:
        """Why a proof of ``prop`` may lean on something the encoding states approximately."""
        limits = self.encoding.limits
        if not limits:
            return ""
        cone = _cone(self.compiled.model, prop)
        return "; ".join(reason for table, reason in limits.items() if table in cone)


def _cone(model: Model, prop: SafetyProperty) -> set[str]:
    """The tables a property's verdict depends on: those producing its names, every table
    that can refuse an answer (UNIQUE, ANY), and every table these read."""
    producer = {o.name: t for t in model.tables for o in t.outputs}
    todo = [producer[c.name] for c in (*prop.when, *prop.then) if c.name in producer]
    todo += [t for t in model.tables if t.hit_policy in (HitPolicy.UNIQUE, HitPolicy.ANY)]
    cone: set[str] = set()
    while todo:
        table = todo.pop()
        if table.name in cone:
            continue
        cone.add(table.name)
        todo.extend(producer[c.name] for c in table.inputs if c.name in producer)
    return cone


def prove_properties(
    compiled: CompiledModel,
    properties: Sequence[SafetyProperty] | None = None,
    *,
    tests_columns: Sequence[str] | None = None,
    timeout_ms: int = TIMEOUT_MS,
) -> list[PropertyResult]:
    """Prove every property (the model's own by default)."""
    props = compiled.model.properties if properties is None else properties
    if not props:
        return []
    return Prover(compiled, props, timeout_ms).prove_all(tests_columns)
