"""Audited cases for the impact tests and bench/impact.py: random valid facts for a model, and
an audit trail written by the service's own writer (:class:`service.audit.AuditLog`) from
real evaluations."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from engine.evaluator import CompiledModel
from engine.model import Kind
from service.audit import AuditLog, AuditRow

TABLE = "muscle_twitching"
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def random_facts(model: CompiledModel, rng: random.Random) -> dict[str, Any]:
    """A valid case: every required input, most optional ones."""
    facts: dict[str, Any] = {}
    for definition in model.inputs:
        if not definition.required and rng.random() < 0.3:
            continue
        if definition.kind is Kind.BOOLEAN:
            facts[definition.name] = rng.random() < 0.3
        elif definition.kind is Kind.ENUM:
            facts[definition.name] = rng.choice(definition.allowed_values)
        else:
            low, high = _bounds(definition.value_range)
            if definition.kind is Kind.INTEGER:
                facts[definition.name] = rng.randint(int(low), int(high))
            else:
                facts[definition.name] = round(rng.uniform(low, high), 1)
    return facts


def _bounds(value_range: Any) -> tuple[float, float]:
    text = str(value_range) if value_range is not None else ""
    if text.startswith("[") and ".." in text:
        low, high = text[1:-1].split("..")
        return float(low), float(high)
    if text.startswith(">="):
        low = float(text[2:])
        return low, low + 60
    return 0.0, 100.0


def fill(url: str, model: CompiledModel, count: int, seed: int = 7,
         table_id: str = TABLE, distinct: int | None = None) -> list[AuditRow]:
    """``count`` evaluations of typical cases (:func:`typical_facts`) by ``model``, stored as
    the service stores them, a minute apart; with ``distinct``, each case is one of that many
    presentations (:func:`presentation`), drawn at random, so that facts repeat."""
    rng = random.Random(seed)
    log = AuditLog(url)
    log.create_schema()
    rows = []
    for n in range(count):
        facts = (typical_facts(model, rng) if distinct is None
                 else presentation(model, rng.randrange(distinct)))
        decision = model.evaluate(facts)
        rows.append(AuditRow(
            request_id=f"req-{seed}-{n:06d}", evaluated_at=START + dt.timedelta(minutes=n),
            table_id=table_id, version=model.version, facts=json.dumps(facts),
            outputs=json.dumps(dict(decision.outputs)),
            fired=json.dumps([f.as_dict() for f in decision.fired]),
        ))
    for start in range(0, len(rows), 500):
        log.record(rows[start:start + 500])
    log.dispose()
    return rows


def presentation(model: CompiledModel, k: int) -> dict[str, Any]:
    """The ``k``-th of a fixed list of typical cases (the same facts for the same ``k``,
    with keys in an order of their own, as different clients send them)."""
    facts = typical_facts(model, random.Random(k))
    names = list(facts)
    random.Random(-k).shuffle(names)
    return {n: facts[n] for n in names}


def typical_facts(model: CompiledModel, rng: random.Random) -> dict[str, Any]:
    """A case as most real ones look: few findings (each yes/no input true one time in 12, an
    enum on its first value — "none", "focal" — two times in three), numbers near the middle
    of their range, optional values given two times in five. The benchmark's workload."""
    facts: dict[str, Any] = {}
    for definition in model.inputs:
        if not definition.required and rng.random() < 0.6:
            continue
        if definition.kind is Kind.BOOLEAN:
            facts[definition.name] = rng.random() < 1 / 12
        elif definition.kind is Kind.ENUM:
            values = definition.allowed_values
            facts[definition.name] = values[0] if rng.random() < 2 / 3 else rng.choice(values)
        else:
            low, high = _bounds(definition.value_range)
            middle, spread = TYPICAL.get(definition.name, ((low + high) / 2, (high - low) / 8))
            value = min(max(rng.gauss(middle, spread), low), high)
            facts[definition.name] = (int(value) if definition.kind is Kind.INTEGER
                                      else round(value, 1))
    return facts


# typical values of the bundled table's numeric inputs (mean, spread); others: mid-range
TYPICAL = {
    "age_years": (45, 16), "duration_days": (12, 10), "temperature_c": (36.8, 0.5),
    "caffeine_mg_per_day": (200, 120), "sleep_hours": (7, 1.2),
    "potassium_mmol_l": (4.2, 0.4), "magnesium_mmol_l": (0.85, 0.1),
    "calcium_mmol_l": (2.4, 0.1),
}
