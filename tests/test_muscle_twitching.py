"""The muscle-twitching workbook (decision_tables/muscle_twitching.xlsx, version 2.0.0): it
loads, every vignette on its Tests sheet gives the outputs the reviewer expects, and the safety
promises hold as behaviour:

* the 1.0.0 input contract still holds: every 1.0.0 fact set (its 95 vignettes and every file in
  decision_tables/examples/) is accepted with the same meaning and never gets a less urgent
  disposition than 1.0.0 gave;
* a missing required fact is rejected (FactError naming the field), never read as "no"; a
  temperature that was not measured never leads to SELF_CARE;
* when no disposition rule matches, the disposition is ROUTINE_GP (the Default), never SELF_CARE;
  every red flag leads to URGENT_REFERRAL or more urgent, and the most urgent disposition wins;
* a missing laboratory value never triggers a lab finding and is never read as normal evidence;
  a measured abnormal value always blocks SELF_CARE;
* every property of the Safety sheet holds on random cases drawn around every threshold
  (``triage validate`` proves them for every case; this is an independent check through
  durable-rules).
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
    Compare,
    Condition,
    NoneOf,
    matches,
    parse_condition,
)
from engine.errors import FactError
from engine.evaluator import CompiledModel
from engine.loader import load
from engine.model import HitPolicy, Vignette

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLES = ROOT / "decision_tables" / "examples"
EXAMPLE = EXAMPLES / "muscle_twitching_case.json"
FACT_SETS_1_0 = EXAMPLES / "muscle_twitching_1.0_fact_sets.json"

URGENCY = ["EMERGENCY", "URGENT_SAME_DAY", "URGENT_REFERRAL", "ROUTINE_GP", "SELF_CARE"]
# Required inputs of 2.0.0: those of 1.0.0 except temperature_c, which is now optional.
REQUIRED = {
    "age_years": "integer", "duration_days": "number", "distribution": "enum",
    "progressive": "boolean", "weakness": "enum", "muscle_wasting": "boolean",
    "bulbar_symptoms": "boolean", "breathing_difficulty": "enum",
    "numbness_or_tingling": "boolean", "pain": "boolean", "bladder_or_bowel_change": "boolean",
    "agitation_or_confusion": "boolean", "clonus_or_rigidity": "boolean",
    "serotonergic_drug": "boolean", "new_medication": "boolean", "caffeine_mg_per_day": "number",
    "sleep_hours": "number", "high_stress": "boolean", "kidney_disease": "boolean",
    "metabolic_disorder": "boolean", "family_history_neuromuscular": "boolean",
}
OPTIONAL_1_0 = {"temperature_c", "potassium_mmol_l", "magnesium_mmol_l", "calcium_mmol_l",
                "dehydration", "heavy_exercise"}
NEW_2_0 = {"new_confusion", "speech_swallow_onset", "jaw_stiffness", "dopamine_drug_risk",
           "tetany_signs", "thyroid_or_parathyroid_surgery", "sodium_mmol_l", "nutritional_risk"}
LABS = ("potassium_mmol_l", "magnesium_mmol_l", "calcium_mmol_l", "sodium_mmol_l")
NORMAL = {"potassium_mmol_l": (3.5, 5.5), "magnesium_mmol_l": (0.7, 1.0),
          "calcium_mmol_l": (2.2, 2.6), "sodium_mmol_l": (135, 145)}
LAB_FLAGS = {"severe_potassium_abnormality", "symptomatic_potassium_abnormality",
             "moderate_hypokalaemia", "moderate_hyperkalaemia", "severe_hypocalcaemia",
             "symptomatic_hypocalcaemia", "moderate_hypercalcaemia", "severe_hypercalcaemia",
             "severe_hypomagnesaemia", "symptomatic_hypomagnesaemia", "moderate_hypermagnesaemia",
             "severe_hypermagnesaemia", "severe_hyponatraemia", "moderate_hyponatraemia",
             "severe_hypernatraemia", "moderate_hypernatraemia",
             "electrolyte_abnormality_with_weakness"}

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
def model() -> CompiledModel:
    return load(WORKBOOK)


def evaluate(facts: dict[str, Any]) -> dict[str, Any]:
    return dict(model().evaluate(facts).outputs)


def with_(**changes: Any) -> dict[str, Any]:
    facts = dict(REASSURING)
    facts.update(changes)
    return {k: v for k, v in facts.items() if v is not None}


def rank(disposition: str) -> int:
    return URGENCY.index(disposition)


# --- structure -------------------------------------------------------------------------------


def test_workbook_loads_with_the_declared_structure() -> None:
    m = model()
    assert m.about.table_id == "muscle_twitching" and m.about.version == "2.0.0"
    # No clinician has reviewed 2.0.0: the release fields say so honestly.
    assert "pending" in m.about.clinical_reviewer.lower()
    assert m.about.review_date.lower() == "pending"
    policies = {t.name: t.hit_policy for t in m.tables}
    assert policies == {"electrolyte_abnormal": HitPolicy.FIRST,
                        "red_flags": HitPolicy.COLLECT, "likely_causes": HitPolicy.COLLECT,
                        "disposition": HitPolicy.PRIORITY, "advice": HitPolicy.FIRST}
    disposition = m.model.output("disposition")
    assert disposition is not None
    assert list(disposition.allowed_values) == URGENCY
    assert disposition.has_default and disposition.default == "ROUTINE_GP"
    red_flags = m.model.output("red_flags")
    assert red_flags is not None and not red_flags.has_default
    for table in m.tables:
        assert all(rule.citation.strip() for rule in table.rules), table.name


def test_inputs_are_the_1_0_glossary_plus_optional_ones() -> None:
    declared = {i.name: i for i in model().inputs}
    assert set(declared) == set(REQUIRED) | OPTIONAL_1_0 | NEW_2_0
    required = {name: str(i.kind) for name, i in declared.items() if i.required}
    assert required == REQUIRED
    for lab in LABS:
        assert declared[lab].kind == "number" and not declared[lab].required


# --- the 1.0.0 input contract ----------------------------------------------------------------


def _fact_sets_1_0() -> list[dict[str, Any]]:
    return list(json.loads(FACT_SETS_1_0.read_text())["fact_sets"])


def test_the_1_0_fact_sets_are_the_1_0_vignettes_still_on_the_tests_sheet() -> None:
    sheet = {v.vignette_id: dict(v.facts) for v in model().vignettes}
    old = _fact_sets_1_0()
    assert len(old) == 95
    for case in old:
        assert sheet[case["id"]] == case["facts"], case["id"]


@pytest.mark.parametrize("case", _fact_sets_1_0(), ids=lambda c: c["id"])
def test_every_1_0_fact_set_is_accepted_and_never_less_urgent(case: dict[str, Any]) -> None:
    disposition = evaluate(dict(case["facts"]))["disposition"]
    assert rank(disposition) <= rank(case["disposition_1_0"]), (
        f"{case['id']}: 2.0.0 gives {disposition}, 1.0.0 gave {case['disposition_1_0']}")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_example_file_is_accepted(path: Path) -> None:
    document = json.loads(path.read_text())
    cases = ([c["facts"] for c in document["fact_sets"]] if "fact_sets" in document
             else [document])
    for facts in cases:
        assert evaluate(dict(facts))["disposition"] in URGENCY


def test_no_1_0_value_is_refused_at_the_edges_of_its_old_ranges() -> None:
    """1.0.0 allowed temperature 30-45 and any caffeine from 0; the edges still evaluate, and
    2.0.0 triages temperatures it used to refuse."""
    for changes in ({"temperature_c": 30}, {"temperature_c": 45}, {"caffeine_mg_per_day": 0},
                    {"temperature_c": 28.5}, {"temperature_c": 10}, {"temperature_c": 47}):
        assert evaluate(with_(**changes))["disposition"] in URGENCY
    with pytest.raises(FactError):
        model().evaluate(with_(temperature_c=98.6))  # Fahrenheit: refused, never misread


# --- vignettes -------------------------------------------------------------------------------


def _vignettes() -> tuple[Vignette, ...]:
    return model().vignettes


@pytest.mark.parametrize("vignette", _vignettes(), ids=lambda v: v.vignette_id)
def test_vignette(vignette: Vignette) -> None:
    assert {"red_flags", "disposition"} <= set(vignette.expected)
    assert set(REQUIRED) <= set(vignette.facts)
    outputs = evaluate(dict(vignette.facts))
    for name, expected in vignette.expected.items():
        assert outputs[name] == expected, f"{vignette.vignette_id} {name}: {vignette.note}"


def test_enough_vignettes_and_every_rule_decides_at_least_one() -> None:
    m = model()
    assert len(m.vignettes) >= 150
    decided: dict[str, set[str]] = {t.name: set() for t in m.tables}
    for vignette in m.vignettes:
        for fired in m.evaluate(vignette.facts).fired:
            decided[fired.table].add(fired.rule_id)
    for table in m.tables:
        assert decided[table.name] == {r.rule_id for r in table.rules}, table.name


def _numeric_thresholds() -> set[tuple[str, float]]:
    inputs = {i.name: i for i in model().inputs}
    found: set[tuple[str, float]] = set()
    for table in model().tables:
        for index, column in enumerate(table.inputs):
            if column.name not in inputs or str(inputs[column.name].kind) not in (
                    "number", "integer"):
                continue
            for rule in table.rules:
                condition = rule.cells[index].condition
                for item in getattr(condition, "items", ()):
                    if isinstance(item, Compare):
                        found.add((column.name, float(item.value)))  # type: ignore[arg-type]
                    elif isinstance(item, Between):
                        found |= {(column.name, float(item.low)), (column.name, float(item.high))}
    return found


@pytest.mark.parametrize("name,threshold", sorted(_numeric_thresholds()))
def test_both_sides_of_every_numeric_threshold_have_a_vignette(
        name: str, threshold: float) -> None:
    definition = model().model.input(name)
    assert definition is not None
    values = [float(v.facts[name]) for v in model().vignettes if name in v.facts]
    lowest, highest = _bounds(definition.value_range)
    assert threshold in values, f"no vignette at {name} = {threshold}"
    if lowest is None or threshold > lowest:
        assert any(v < threshold for v in values), f"no vignette below {name} {threshold}"
    if highest is None or threshold < highest:
        assert any(v > threshold for v in values), f"no vignette above {name} {threshold}"


def _bounds(condition: Condition | None) -> tuple[float | None, float | None]:
    """The lowest and highest value an Inputs-sheet range such as [0..24] or >= 0 allows."""
    for item in getattr(condition, "items", ()):
        if isinstance(item, Between):
            return float(item.low), float(item.high)
        if isinstance(item, Compare) and item.op in (">=", ">"):
            return float(item.value), None  # type: ignore[arg-type]
    return None, None


# --- safety: missing facts -------------------------------------------------------------------


def _red_flag_case() -> dict[str, Any]:
    return with_(bulbar_symptoms=True, breathing_difficulty="at_rest_or_lying_flat")


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_missing_required_fact_is_rejected_by_name(name: str) -> None:
    facts = _red_flag_case()
    del facts[name]
    with pytest.raises(FactError) as caught:
        model().evaluate(facts)
    assert [p.field for p in caught.value.problems] == [name]


def test_missing_optional_facts_are_accepted() -> None:
    facts = _red_flag_case()
    assert not set(facts) & (NEW_2_0 | set(LABS))
    assert evaluate(facts)["disposition"] == "EMERGENCY"


def test_unmeasured_temperature_never_gives_self_care() -> None:
    assert evaluate(REASSURING)["disposition"] == "SELF_CARE"
    assert evaluate(with_(temperature_c=None))["disposition"] == "ROUTINE_GP"


# --- safety: the Default and the flags -------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"temperature_c": 38.5}, {"pain": True}, {"kidney_disease": True},
     {"metabolic_disorder": True}, {"family_history_neuromuscular": True},
     {"temperature_c": None}],
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


# Each changes the reassuring case so that one red flag applies.
SINGLE_FLAGS: dict[str, dict[str, Any]] = {
    "respiratory_compromise": {"breathing_difficulty": "at_rest_or_lying_flat"},
    "sudden_weakness": {"weakness": "sudden"},
    "hypothermia": {"temperature_c": 34.0},
    "hyperthermia": {"temperature_c": 40.5},
    "severe_hypocalcaemia": {"calcium_mmol_l": 1.7},
    "possible_serotonin_toxicity": {"serotonergic_drug": True, "clonus_or_rigidity": True},
    "bladder_or_bowel_change": {"bladder_or_bowel_change": True},
    "moderate_hyperkalaemia": {"potassium_mmol_l": 6.2},
    "severe_hypomagnesaemia": {"magnesium_mmol_l": 0.3},
    "severe_hyponatraemia": {"sodium_mmol_l": 118},
    "new_confusion": {"new_confusion": True},
    "sudden_speech_or_swallowing": {"speech_swallow_onset": "sudden"},
    "tetany": {"tetany_signs": "carpopedal_spasm"},
    "progressive_weakness_wasting": {"muscle_wasting": True},
}
# Pairs whose combination raises a third flag by design (tested on their own below).
INTERACTING = {frozenset({"sudden_weakness", "bladder_or_bowel_change"}),
               frozenset({"possible_serotonin_toxicity", "hyperthermia"}),
               frozenset({"possible_serotonin_toxicity", "severe_hypomagnesaemia"}),
               frozenset({"possible_serotonin_toxicity", "severe_hypocalcaemia"}),
               frozenset({"severe_hypomagnesaemia", "tetany"}),
               frozenset({"severe_hypocalcaemia", "tetany"})}
PAIRS = [(a, b) for a, b in itertools.combinations(SINGLE_FLAGS, 2)
         if not set(SINGLE_FLAGS[a]) & set(SINGLE_FLAGS[b])
         and frozenset({a, b}) not in INTERACTING]


@pytest.mark.parametrize("flag", SINGLE_FLAGS)
def test_each_single_flag_case_raises_exactly_that_flag(flag: str) -> None:
    outputs = evaluate(with_(**SINGLE_FLAGS[flag]))
    assert outputs["red_flags"] == [flag]
    assert outputs["disposition"] in ("EMERGENCY", "URGENT_SAME_DAY", "URGENT_REFERRAL")
    assert "benign_fasciculation" not in outputs["likely_causes"]


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


def test_every_red_flag_leads_to_a_referral_or_more_urgent() -> None:
    """Read from the table: the rows of Disposition that test a red flag."""
    table = model().model.table("disposition")
    assert table is not None
    column = [c.name for c in table.inputs].index("red_flags")
    read = set()
    for rule in table.rules:
        condition = rule.cells[column].condition
        if isinstance(condition, AnyOf):
            for item in condition.items:
                if isinstance(getattr(item, "value", None), str):
                    read.add(item.value)  # type: ignore[union-attr]
                    assert rank(str(rule.outputs[0])) <= rank("URGENT_REFERRAL"), rule.rule_id
    flags = model().model.output("red_flags")
    assert flags is not None and read == set(flags.allowed_values)


# --- safety: laboratory values ---------------------------------------------------------------

ABNORMAL = [("potassium_mmol_l", 3.4), ("potassium_mmol_l", 5.6), ("magnesium_mmol_l", 0.6),
            ("magnesium_mmol_l", 1.1), ("calcium_mmol_l", 2.1), ("calcium_mmol_l", 2.7),
            ("sodium_mmol_l", 134), ("sodium_mmol_l", 146)]


@pytest.mark.parametrize("lab,value", ABNORMAL)
def test_measured_abnormal_lab_is_a_cause_and_blocks_self_care(lab: str, value: float) -> None:
    outputs = evaluate(with_(**{lab: value}))
    assert outputs["likely_causes"].count("electrolyte_disturbance") == 1
    assert outputs["disposition"] != "SELF_CARE"


def test_missing_labs_trigger_no_lab_finding() -> None:
    for facts in (REASSURING, with_(kidney_disease=True), _red_flag_case(),
                  with_(weakness="gradual", numbness_or_tingling=True)):
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
    """A rule reading a lab must have a lab cell that a missing value fails."""
    for table in model().tables:
        lab_columns = [i for i, c in enumerate(table.inputs) if c.name in LABS]
        for rule in table.rules:
            cells = [rule.cells[i].condition for i in lab_columns]
            if any(not isinstance(c, AnyValue) for c in cells):
                assert any(not isinstance(c, AnyValue) and not matches(c, None)
                           for c in cells), f"{table.name} {rule.rule_id}"


# --- the Safety sheet, checked on random cases through durable-rules -------------------------


@cache
def _properties() -> list[tuple[str, list[tuple[str, Condition]], list[tuple[str, Condition]]]]:
    sheet = openpyxl.load_workbook(WORKBOOK, read_only=True, data_only=True)["Safety"]
    rows = list(sheet.iter_rows(values_only=True))
    names, roles = rows[0], rows[1]
    found = []
    for row in rows[2:]:
        if not row[0]:
            continue
        when: list[tuple[str, Condition]] = []
        then: list[tuple[str, Condition]] = []
        for name, role, cell in zip(names[1:], roles[1:], row[1:], strict=False):
            if role in ("When", "Then") and cell is not None and str(cell).strip() != "-":
                (when if role == "When" else then).append((str(name), parse_condition(cell)))
        found.append((str(row[0]), when, then))
    return found


def test_the_safety_sheet_states_at_least_15_cited_properties() -> None:
    properties = _properties()
    assert len(properties) >= 15
    sheet = openpyxl.load_workbook(WORKBOOK, read_only=True)["Safety"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    citation = header.index("Citation")
    cited = [r[citation] for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]]
    assert all(c and str(c).strip() for c in cited)
    text = " ".join(str(c) for c in cited)
    for source in ("NICE NG127", "NICE NG42", "NHS", "Hunter", "Society for Endocrinology"):
        assert source in text, source


def _around(points: list[float], low: float, high: float) -> list[float]:
    values = {low, high}
    for p in points:
        values |= {p, round(p - 0.1, 4), round(p + 0.1, 4)}
    return sorted(v for v in values if low <= v <= high)


def _case_strategy() -> st.SearchStrategy[dict[str, Any]]:
    thresholds: dict[str, list[float]] = {}
    for name, value in _numeric_thresholds():
        thresholds.setdefault(name, []).append(value)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for definition in model().inputs:
        kind = str(definition.kind)
        if kind == "boolean":
            strategy: st.SearchStrategy[Any] = st.booleans()
        elif kind == "enum":
            strategy = st.sampled_from(list(definition.allowed_values))
        else:
            low, high = _bounds(definition.value_range)
            values = _around(thresholds.get(definition.name, []), low or 0.0,
                             high if high is not None else 1000.0)
            if kind == "integer":
                values = sorted({int(v) for v in values})
            strategy = st.sampled_from(values)
        fields[definition.name] = (st.one_of(st.none(), strategy) if not definition.required
                                   else strategy)
    return st.fixed_dictionaries(fields).map(
        lambda d: {k: v for k, v in d.items() if v is not None})


def _holds(cells: list[tuple[str, Condition]], facts: dict[str, Any],
           outputs: dict[str, Any]) -> bool:
    return all(matches(condition, outputs[name] if name in outputs else facts.get(name))
               for name, condition in cells)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case_strategy())
def test_safety_properties_hold_on_random_cases(facts: dict[str, Any]) -> None:
    outputs = evaluate(facts)
    for property_id, when, then in _properties():
        if _holds(when, facts, outputs):
            assert _holds(then, facts, outputs), (property_id, facts, outputs)


# --- properties over random cases -------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case_strategy())
def test_invariants_hold_for_random_cases(facts: dict[str, Any]) -> None:
    outputs = evaluate(facts)
    flags, disposition, causes = (outputs["red_flags"], outputs["disposition"],
                                  outputs["likely_causes"])
    assert disposition in URGENCY
    assert len(flags) == len(set(flags)) and len(causes) == len(set(causes))
    if flags:
        assert rank(disposition) <= rank("URGENT_REFERRAL")
        assert "benign_fasciculation" not in causes
    if disposition == "SELF_CARE":
        assert not flags
        assert facts["distribution"] == "focal" and facts["duration_days"] <= 14
        assert facts["weakness"] == "none" and not facts["muscle_wasting"]
        assert not facts["progressive"] and not facts["bulbar_symptoms"]
        assert facts["breathing_difficulty"] == "none"
        assert "temperature_c" in facts and 35 <= facts["temperature_c"] < 38
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
             "URGENT_REFERRAL": with_(muscle_wasting=True),
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


# --- the release gate ----------------------------------------------------------------------


def test_release_fails_only_on_the_review_fields_and_passes_once_they_are_filled(
    tmp_path: Path,
) -> None:
    from engine.validation import validate

    draft = validate(WORKBOOK, release=True)
    assert draft.exit_code() == 1
    assert {(f.code, f.sheet, f.cells) for f in draft.findings} == {
        ("TV801", "About", ("B6",)),
        ("TV801", "About", ("B7",)),
    }
    book = openpyxl.load_workbook(WORKBOOK)
    labels = {row[0].value: row[1] for row in book["About"].iter_rows(min_row=1)}
    labels["Clinical reviewer"].value = "Dr A Reviewer, consultant neurologist"
    labels["Review date"].value = "2026-11-30"
    reviewed = tmp_path / "reviewed.xlsx"
    book.save(reviewed)
    released = validate(reviewed, release=True)
    assert released.findings == [], [str(f) for f in released.findings]
    assert released.exit_code() == 0
