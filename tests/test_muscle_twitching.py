"""The muscle-twitching workbook (decision_tables/muscle_twitching.xlsx): it loads, every
vignette on its Tests sheet gives the outputs the reviewer expects, and the safety properties
hold as behaviour:

* a missing required fact is rejected (FactError naming the field), never read as "no";
* when no disposition rule matches, the disposition is ROUTINE_GP (the Default), never
  SELF_CARE;
* when several red flags apply, the most urgent disposition wins;
* a missing laboratory value never triggers a lab finding and is never read as normal
  evidence; a measured abnormal value always blocks SELF_CARE.
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conditions import AnyValue, NoneOf, matches
from engine.errors import FactError
from engine.loader import load
from engine.model import HitPolicy, Model, Vignette

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLE = ROOT / "decision_tables" / "examples" / "muscle_twitching_case.json"

URGENCY = ["EMERGENCY", "URGENT_SAME_DAY", "URGENT_REFERRAL", "ROUTINE_GP", "SELF_CARE"]
REQUIRED = {
    "age_years": "integer", "duration_days": "number", "distribution": "enum",
    "progressive": "boolean", "weakness": "enum", "muscle_wasting": "boolean",
    "bulbar_symptoms": "boolean", "breathing_difficulty": "enum",
    "numbness_or_tingling": "boolean", "pain": "boolean", "bladder_or_bowel_change": "boolean",
    "temperature_c": "number", "agitation_or_confusion": "boolean",
    "clonus_or_rigidity": "boolean", "serotonergic_drug": "boolean",
    "new_medication": "boolean", "caffeine_mg_per_day": "number", "sleep_hours": "number",
    "high_stress": "boolean", "kidney_disease": "boolean", "metabolic_disorder": "boolean",
    "family_history_neuromuscular": "boolean",
}
LABS = ("potassium_mmol_l", "magnesium_mmol_l", "calcium_mmol_l")
NORMAL = {"potassium_mmol_l": (3.5, 5.5), "magnesium_mmol_l": (0.7, 1.0),
          "calcium_mmol_l": (2.2, 2.6)}
LAB_FLAGS = {"severe_potassium_abnormality", "moderate_hyperkalaemia", "severe_hypocalcaemia",
             "severe_hypomagnesaemia"}

# A 30-year-old with one eyelid twitch for 5 days and nothing else: SELF_CARE.
REASSURING: dict[str, Any] = {
    "age_years": 30, "duration_days": 5, "distribution": "focal", "progressive": False,
    "weakness": "none", "muscle_wasting": False, "bulbar_symptoms": False,
    "breathing_difficulty": "none", "numbness_or_tingling": False, "pain": False,
    "bladder_or_bowel_change": False, "temperature_c": 36.8, "agitation_or_confusion": False,
    "clonus_or_rigidity": False, "serotonergic_drug": False, "new_medication": False,
    "caffeine_mg_per_day": 200, "sleep_hours": 8, "high_stress": False,
    "kidney_disease": False, "metabolic_disorder": False, "family_history_neuromuscular": False,
}


@cache
def model() -> Model:
    return load(WORKBOOK)


def evaluate(facts: dict[str, Any]) -> dict[str, Any]:
    return dict(model().evaluate(facts).outputs)


def with_(**changes: Any) -> dict[str, Any]:
    facts = dict(REASSURING)
    facts.update(changes)
    return facts


def rank(disposition: str) -> int:
    return URGENCY.index(disposition)


# --- the workbook ----------------------------------------------------------------------------


def test_workbook_loads_with_the_declared_structure() -> None:
    m = model()
    assert m.about.table_id == "muscle_twitching"
    assert m.about.version == "1.0.0"
    assert m.about.clinical_reviewer  # honest placeholder until a clinician has reviewed it
    policies = {t.name: t.hit_policy for t in m.tables}
    assert policies == {"red_flags": HitPolicy.COLLECT, "likely_causes": HitPolicy.COLLECT,
                        "disposition": HitPolicy.PRIORITY, "advice": HitPolicy.FIRST}
    disposition = m.output("disposition")
    assert disposition is not None
    assert list(disposition.allowed_values) == URGENCY
    assert disposition.has_default and disposition.default == "ROUTINE_GP"
    red_flags = m.output("red_flags")
    assert red_flags is not None and not red_flags.has_default
    for table in m.tables:
        assert all(rule.citation.strip() for rule in table.rules), table.name


def test_inputs_are_exactly_the_agreed_glossary() -> None:
    declared = {i.name: i for i in model().inputs}
    required = {name: str(i.kind) for name, i in declared.items() if i.required}
    assert required == REQUIRED
    for lab in LABS:
        assert declared[lab].kind == "number" and not declared[lab].required
    assert set(declared) - set(REQUIRED) - set(LABS) <= {"dehydration", "heavy_exercise"}
    assert all(not declared[n].required for n in set(declared) - set(REQUIRED))


def test_enough_vignettes_and_every_rule_decides_at_least_one() -> None:
    m = model()
    assert len(m.vignettes) >= 50
    decided: dict[str, set[str]] = {t.name: set() for t in m.tables}
    for vignette in m.vignettes:
        for fired in m.evaluate(vignette.facts).fired:
            decided[fired.table].add(fired.rule_id)
    for table in m.tables:
        assert decided[table.name] == {r.rule_id for r in table.rules}, table.name


# --- vignettes -------------------------------------------------------------------------------


def _vignettes() -> tuple[Vignette, ...]:
    return model().vignettes


@pytest.mark.parametrize("vignette", _vignettes(), ids=lambda v: v.vignette_id)
def test_vignette(vignette: Vignette) -> None:
    assert {"red_flags", "disposition", "likely_causes"} <= set(vignette.expected)
    assert set(REQUIRED) <= set(vignette.facts)
    outputs = evaluate(dict(vignette.facts))
    for name, expected in vignette.expected.items():
        assert outputs[name] == expected, f"{vignette.vignette_id} {name}: {vignette.note}"


# --- safety: missing facts -------------------------------------------------------------------


def _red_flag_case() -> dict[str, Any]:
    return with_(bulbar_symptoms=True, breathing_difficulty="at_rest_or_lying_flat")


def test_red_flag_case_is_an_emergency_when_complete() -> None:
    assert evaluate(_red_flag_case())["disposition"] == "EMERGENCY"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_missing_required_fact_is_rejected_by_name(name: str) -> None:
    facts = _red_flag_case()
    del facts[name]
    with pytest.raises(FactError) as caught:
        model().evaluate(facts)
    assert [p.field for p in caught.value.problems] == [name]


def test_missing_optional_facts_are_accepted() -> None:
    facts = _red_flag_case()
    assert not set(facts) & set(LABS)
    assert evaluate(facts)["disposition"] == "EMERGENCY"


# --- safety: the Default ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"temperature_c": 38.5}, {"pain": True}, {"kidney_disease": True},
     {"metabolic_disorder": True}, {"family_history_neuromuscular": True},
     {"agitation_or_confusion": True}, {"potassium_mmol_l": 3.4}, {"calcium_mmol_l": 2.7}],
    ids=lambda c: next(iter(c)),
)
def test_no_matching_disposition_rule_gives_routine_gp(changes: dict[str, Any]) -> None:
    decision = model().evaluate(with_(**changes))
    assert not [f for f in decision.fired if f.table == "disposition"]
    assert decision.outputs["disposition"] == "ROUTINE_GP"


def test_reassuring_case_is_self_care_and_one_change_takes_it_away() -> None:
    assert evaluate(REASSURING)["disposition"] == "SELF_CARE"
    assert evaluate(with_(duration_days=15))["disposition"] == "ROUTINE_GP"
    assert evaluate(with_(distribution="multifocal"))["disposition"] == "ROUTINE_GP"


# --- safety: the most urgent disposition wins ------------------------------------------------

# Each changes the reassuring case so that one red flag applies.
SINGLE_FLAGS: dict[str, dict[str, Any]] = {
    "respiratory_compromise": {"breathing_difficulty": "at_rest_or_lying_flat"},
    "sudden_weakness": {"weakness": "sudden"},
    "hypothermia": {"temperature_c": 34.0},
    "severe_hypocalcaemia": {"calcium_mmol_l": 1.7},
    "possible_serotonin_toxicity": {"serotonergic_drug": True, "clonus_or_rigidity": True},
    "bladder_or_bowel_change": {"bladder_or_bowel_change": True},
    "moderate_hyperkalaemia": {"potassium_mmol_l": 6.2},
    "severe_hypomagnesaemia": {"magnesium_mmol_l": 0.3},
    "bulbar_involvement": {"bulbar_symptoms": True},
    "progressive_weakness_wasting": {"muscle_wasting": True},
    "exertional_breathlessness": {"breathing_difficulty": "on_exertion"},
}
# With weakness, a bladder change is no longer bladder_or_bowel_change but the more urgent
# cauda_equina_or_cord (tested on its own below).
INTERACTING = {frozenset({"sudden_weakness", "bladder_or_bowel_change"})}
PAIRS = [(a, b) for a, b in itertools.combinations(SINGLE_FLAGS, 2)
         if not set(SINGLE_FLAGS[a]) & set(SINGLE_FLAGS[b])
         and frozenset({a, b}) not in INTERACTING]


@pytest.mark.parametrize("flag", SINGLE_FLAGS)
def test_each_single_flag_case_raises_exactly_that_flag(flag: str) -> None:
    outputs = evaluate(with_(**SINGLE_FLAGS[flag]))
    assert outputs["red_flags"] == [flag]
    assert outputs["disposition"] != "SELF_CARE"


@pytest.mark.parametrize("first,second", PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_two_red_flags_give_the_more_urgent_disposition(first: str, second: str) -> None:
    alone = [evaluate(with_(**SINGLE_FLAGS[f]))["disposition"] for f in (first, second)]
    combined = evaluate(with_(**SINGLE_FLAGS[first], **SINGLE_FLAGS[second]))
    assert {first, second} <= set(combined["red_flags"])
    assert combined["disposition"] == min(alone, key=rank)


def test_bladder_change_with_weakness_becomes_cauda_equina_emergency() -> None:
    outputs = evaluate(with_(bladder_or_bowel_change=True, weakness="gradual"))
    assert outputs["red_flags"] == ["cauda_equina_or_cord", "progressive_weakness_wasting"]
    assert outputs["disposition"] == "EMERGENCY"


def test_bulbar_with_breathlessness_at_rest_is_an_emergency() -> None:
    outputs = evaluate(_red_flag_case())
    assert outputs["red_flags"] == ["respiratory_compromise", "bulbar_involvement"]
    assert evaluate(with_(bulbar_symptoms=True))["disposition"] == "URGENT_REFERRAL"
    assert outputs["disposition"] == "EMERGENCY"


# --- safety: laboratory values ---------------------------------------------------------------

ABNORMAL = [("potassium_mmol_l", 3.4), ("potassium_mmol_l", 5.6), ("magnesium_mmol_l", 0.6),
            ("magnesium_mmol_l", 1.1), ("calcium_mmol_l", 2.1), ("calcium_mmol_l", 2.7)]


@pytest.mark.parametrize("lab,value", ABNORMAL)
def test_measured_abnormal_lab_is_a_cause_and_blocks_self_care(lab: str, value: float) -> None:
    outputs = evaluate(with_(**{lab: value}))
    assert outputs["likely_causes"].count("electrolyte_disturbance") == 1
    assert outputs["disposition"] != "SELF_CARE"


def test_missing_labs_trigger_no_lab_finding() -> None:
    for facts in (REASSURING, with_(kidney_disease=True), _red_flag_case()):
        outputs = evaluate(facts)
        assert "electrolyte_disturbance" not in outputs["likely_causes"]
        assert not LAB_FLAGS & set(outputs["red_flags"])


def test_no_rule_reads_a_lab_through_not() -> None:
    for table in model().tables:
        for column, index in ((c, i) for i, c in enumerate(table.inputs) if c.name in LABS):
            for rule in table.rules:
                assert not isinstance(rule.cells[index].condition, NoneOf), (
                    f"{table.name} {rule.rule_id} {column.name}")


def test_every_lab_rule_needs_a_measured_value() -> None:
    """A rule producing a lab finding must have a lab cell that a missing value fails."""
    m = model()
    lab_outputs = {"likely_causes": {"electrolyte_disturbance"}, "red_flags": LAB_FLAGS}
    for table_name, findings in lab_outputs.items():
        table = m.table(table_name)
        assert table is not None
        lab_columns = [i for i, c in enumerate(table.inputs) if c.name in LABS]
        for rule in table.rules:
            if rule.outputs[0] in findings:
                assert any(
                    not isinstance(rule.cells[i].condition, AnyValue)
                    and not matches(rule.cells[i].condition, None)
                    for i in lab_columns
                ), f"{table_name} {rule.rule_id}"


# --- properties over random cases -------------------------------------------------------------


def _facts() -> st.SearchStrategy[dict[str, Any]]:
    tenth = st.integers(0, 10)
    required = {
        "age_years": st.integers(16, 120),
        "duration_days": st.sampled_from([0, 3, 13, 14, 14.5, 15, 60, 400]),
        "distribution": st.sampled_from(["focal", "multifocal", "widespread"]),
        "weakness": st.sampled_from(["none", "none", "gradual", "rapid", "sudden"]),
        "breathing_difficulty": st.sampled_from(["none", "none", "on_exertion",
                                                 "at_rest_or_lying_flat"]),
        "temperature_c": st.sampled_from([30.0, 34.9, 35.0, 36.8, 37.9, 38.0, 39.5, 45.0]),
        "caffeine_mg_per_day": st.sampled_from([0, 200, 400, 401, 900]),
        "sleep_hours": st.sampled_from([0, 5, 6.9, 7, 9, 24]),
    }
    for name, kind in REQUIRED.items():
        if kind == "boolean":
            required[name] = st.booleans()
    labs = {
        "potassium_mmol_l": st.one_of(st.none(), st.builds(lambda a, b: a + b / 10,
                                                          st.integers(2, 7), tenth)),
        "magnesium_mmol_l": st.one_of(st.none(), st.sampled_from([0.3, 0.4, 0.6, 0.7, 1.0,
                                                                  1.1])),
        "calcium_mmol_l": st.one_of(st.none(), st.sampled_from([1.8, 1.9, 2.1, 2.2, 2.6,
                                                                2.7])),
        "dehydration": st.one_of(st.none(), st.booleans()),
        "heavy_exercise": st.one_of(st.none(), st.booleans()),
    }
    return st.fixed_dictionaries({**required, **labs}).map(
        lambda d: {k: v for k, v in d.items() if v is not None})


def _flag_floor() -> dict[str, str]:
    """For each red flag, the disposition its own rule gives (read from the table)."""
    table = model().table("disposition")
    assert table is not None
    column = [c.name for c in table.inputs].index("red_flags")
    floor: dict[str, str] = {}
    for rule in table.rules:
        condition = rule.cells[column].condition
        if not isinstance(condition, AnyValue):
            for item in condition.items:
                value = getattr(item, "value", None)
                if isinstance(value, str):
                    floor[value] = str(rule.outputs[0])
    return floor


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_facts())
def test_invariants_hold_for_random_cases(facts: dict[str, Any]) -> None:
    outputs = evaluate(facts)
    flags, disposition, causes = (outputs["red_flags"], outputs["disposition"],
                                  outputs["likely_causes"])
    assert disposition in URGENCY
    assert len(flags) == len(set(flags)) and len(causes) == len(set(causes))
    floor = _flag_floor()
    for flag in flags:
        assert rank(disposition) <= rank(floor[flag]), flag
    if disposition == "SELF_CARE":
        assert not flags
        assert facts["distribution"] == "focal" and facts["duration_days"] <= 14
        assert facts["weakness"] == "none" and not facts["muscle_wasting"]
        assert not facts["progressive"] and not facts["bulbar_symptoms"]
        assert facts["breathing_difficulty"] == "none" and 35 <= facts["temperature_c"] < 38
        for lab, (low, high) in NORMAL.items():
            assert lab not in facts or low <= facts[lab] <= high
    abnormal = any(lab in facts and not low <= facts[lab] <= high
                   for lab, (low, high) in NORMAL.items())
    assert ("electrolyte_disturbance" in causes) == abnormal
    if not any(lab in facts for lab in LABS):
        assert not LAB_FLAGS & set(flags)


# --- advice and the example case -------------------------------------------------------------

SEED_MEDICINES = ("mecobalamin", "gabapentin", "dexamethasone", "mannitol", "riluzole",
                  "edaravone", "coenzyme", "vitamin b12 injection")


@pytest.mark.parametrize("disposition", URGENCY)
def test_advice_for_each_disposition_safety_nets_without_medicines(disposition: str) -> None:
    facts = {"EMERGENCY": _red_flag_case(), "URGENT_SAME_DAY": with_(bladder_or_bowel_change=True),
             "URGENT_REFERRAL": with_(bulbar_symptoms=True),
             "ROUTINE_GP": with_(duration_days=30), "SELF_CARE": REASSURING}[disposition]
    outputs = evaluate(facts)
    assert outputs["disposition"] == disposition
    advice = outputs["advice"]
    assert "999" in advice
    assert not any(name in advice.lower() for name in SEED_MEDICINES)
    others = {evaluate(f)["advice"] for f in (REASSURING, _red_flag_case())} - {advice}
    assert others  # the advice differs between dispositions


def test_example_case_is_complete_and_evaluates() -> None:
    facts = json.loads(EXAMPLE.read_text())
    assert set(REQUIRED) <= set(facts)
    outputs = evaluate(facts)
    assert outputs["red_flags"] == []
    assert outputs["disposition"] == "ROUTINE_GP"
    assert outputs["likely_causes"] == ["lifestyle_trigger", "benign_fasciculation"]
