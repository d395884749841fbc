"""How tests/data/dmn-real/ was made: the DMN files copied, unchanged, from the public
repositories named below, and manifest.json, which records for each file where it comes
from (repository, path, commit, licence), the test of that repository that states its
expected results, and those results, copied by hand from the test.

Run it with the repositories checked out (bare or not) under one folder, named
``owner+name`` (as the ``fetch`` tool of the development environment leaves them):

    python tests/data/dmn-real/build.py /work/.mirror

The results are keyed by decision *name*, as this engine reports them; where the source
test reads an output clause by name (Camunda's ``result.getSingleEntry()``, dmn-scala's
``eval(decision, "discount", …)``), the key is the decision that output belongs to. A case
with ``"here"`` states what this engine gives where it differs on purpose from the source
engine, and ``"why"`` says why; the test checks ``"here"`` then. ``"unordered"`` marks a
source test that only checks which values a list holds (AssertJ ``contains``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

SOURCES: dict[str, dict[str, str]] = {
    "kie-dmn-core": {
        "mirror": "kiegroup+drools",
        "repository": "https://github.com/kiegroup/drools",
        "licence": "Apache-2.0",
        "base": "kie-dmn/kie-dmn-core/src/test/resources/org/kie/dmn/core/",
        "tests": "kie-dmn/kie-dmn-core/src/test/java/org/kie/dmn/core/",
    },
    "dmn-scala": {
        "mirror": "camunda+dmn-scala",
        "repository": "https://github.com/camunda/dmn-scala",
        "licence": "Apache-2.0",
        "base": "src/test/resources/",
        "tests": "src/test/scala/org/camunda/dmn/",
    },
    "camunda-bpm-examples": {
        "mirror": "camunda+camunda-bpm-examples",
        "repository": "https://github.com/camunda/camunda-bpm-examples",
        "licence": "Apache-2.0",
        "base": "dmn-engine/",
        "tests": "dmn-engine/",
    },
    "camunda-bpm-platform": {
        "mirror": "camunda+camunda-bpm-platform",
        "repository": "https://github.com/camunda/camunda-bpm-platform",
        "licence": "Apache-2.0",
        "base": "engine-dmn/engine/src/test/resources/org/camunda/bpm/dmn/engine/",
        "tests": "engine-dmn/engine/src/test/java/org/camunda/bpm/dmn/engine/",
    },
    "kogito-examples": {
        "mirror": "apache+incubator-kie-kogito-examples",
        "repository": "https://github.com/apache/incubator-kie-kogito-examples",
        "licence": "Apache-2.0",
        "base": "kogito-quarkus-examples/",
        "tests": "kogito-quarkus-examples/",
    },
}

SIMPLE = "DMNDecisionTableHitPolicyTest.java"
RUNTIME = "DMNRuntimeTest.java"


def simple(age: int, risk: str, affordable: bool) -> dict[str, Any]:
    """kie's getSimpleTableContext."""
    return {"Age": age, "RiskCategory": risk, "isAffordable": affordable}


def case(test: str, facts: dict[str, Any], expected: dict[str, Any], **extra: Any) -> dict:
    return {"test": test, "facts": facts, "expected": expected, **extra}


STRICT = (
    "an input outside its allowed values is refused (FactError); KIE's lenient mode sets it "
    "to null and evaluates on"
)
MISSING = "a DMN input left out is null here; KIE reports a missing required dependency instead"

MODELS: list[dict[str, Any]] = [
    # --- kie-dmn-core: DMNDecisionTableHitPolicyTest -----------------------------------
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-U.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyUnique",
                simple(18, "Medium", True),
                {"Approval Status": "Approved"},
            ),
            case(
                "simpleDecisionTableHitPolicyUniqueSatisfies",
                simple(18, "ASD", False),
                {"Approval Status": "Declined"},
                here={"error": "FactError"},
                why=STRICT,
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-U-noinputvalues.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyUniqueNullWarn",
                simple(18, "ASD", False),
                {"Approval Status": None},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-A.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyAnyEqualRules",
                simple(18, "Medium", True),
                {"Approval Status": "Approved"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-A-non-equal.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyAnyNonEqualRules",
                simple(18, "Medium", True),
                {"error": "HitPolicyViolation"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-F.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyFirst",
                simple(18, "Medium", True),
                {
                    "Decision Result": {
                        "Approval Status": "Approved",
                        "Decision Review": "Decision final",
                    }
                },
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-P.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyPriority",
                simple(70, "Medium", True),
                {"Approval Status": "Declined"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-P-multiple-outputs.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyPriorityMultipleOutputs",
                simple(18, "Medium", True),
                {
                    "Decision Result": {
                        "Approval Status": "Declined",
                        "Decision Review": "Needs verification",
                    }
                },
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-O.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyOutputOrder",
                simple(70, "Medium", True),
                {"Approval Status": ["Declined", "Declined", "Approved"]},
                unordered=True,
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-O-multiple-outputs.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyOutputOrderMultipleOutputs",
                simple(18, "Medium", True),
                {
                    "Decision Result": [
                        {"Approval Status": "Declined", "Decision Review": "Needs verification"},
                        {"Approval Status": "Declined", "Decision Review": "Decision final"},
                        {"Approval Status": "Approved", "Decision Review": "Needs verification"},
                        {"Approval Status": "Approved", "Decision Review": "Decision final"},
                    ]
                },
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-R.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyRuleOrder",
                simple(70, "Medium", True),
                {"Approval Status": ["Approved", "Needs review", "Declined"]},
                unordered=True,
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollect",
                simple(70, "Medium", True),
                {"Status number": [10, 25, 13]},
                unordered=True,
            ),
            case(
                "simpleDecisionTableHitPolicyCollectNoHits",
                simple(5, "Medium", True),
                {"Status number": []},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C-sum.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollectSum",
                simple(70, "Medium", True),
                {"Status number": 48},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C-min.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollectMin",
                simple(70, "Medium", True),
                {"Status number": 10},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C-max.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollectMax",
                simple(70, "Medium", True),
                {"Status number": 25},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C-count.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollectCount",
                simple(70, "Medium", True),
                {"Status number": 3},
            ),
            case(
                "simpleDecisionTableHitPolicyCollectCountNoHits",
                simple(5, "Medium", True),
                {"Status number": 0},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "0004-simpletable-C-sum-multiple-outputs.dmn",
        "tests": SIMPLE,
        "refused": {"code": "TV113", "message": "COLLECT SUM needs exactly one output clause"},
        "cases": [
            case(
                "simpleDecisionTableHitPolicyCollectSumMultipleOutputs",
                simple(70, "Medium", True),
                {"Decision Result": {"Value1": 25, "Value2": 32}},
            ),
        ],
        "why": "an aggregation over several output clauses is refused, as DMN 1.3 "
        "(8.2.11) allows C+ with a single output only; KIE sums each output",
    },
    {
        "source": "kie-dmn-core",
        "path": "BranchDistribution.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "decisionTableHitPolicyUnique",
                {"Branches dispersion": "Province", "Number of Branches": 10},
                {"Branches distribution": "Medium"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "Collect_Hit_Policy.dmn",
        "tests": SIMPLE,
        "cases": [case("decisionTableHitPolicyCollect", {"Input": 20}, {"Collect": 50})],
    },
    {
        "source": "kie-dmn-core",
        "path": "hitpolicyAnyWithOverlap.dmn",
        "tests": SIMPLE,
        "cases": [
            case(
                "decisionTableHitPolicyAnyWithOverlapDoOverlap",
                {"a number": 20},
                {"error": "HitPolicyViolation"},
            ),
            case(
                "decisionTableHitPolicyAnyWithOverlapNoOverlap",
                {"a number": -1},
                {"a decision": "boh"},
            ),
        ],
    },
    # --- kie-dmn-core: DMNRuntimeTest and others ---------------------------------------
    {
        "source": "kie-dmn-core",
        "path": "DTABLE_NON_PRIORITY_MISSING_OUTVALS.dmn",
        "tests": RUNTIME,
        "cases": [],
        "validate": {"absent": ["TV308"]},
        "note": "non_priority_table_missing_output_values: the model compiles without errors",
    },
    {
        "source": "kie-dmn-core",
        "path": "DTABLE_PRIORITY_MISSING_OUTVALS.dmn",
        "tests": RUNTIME,
        "cases": [],
        "validate": {"present": ["TV308"]},
        "note": "priorityTableMissingOutputValues: KIE reports one message, that a PRIORITY "
        "table lists no output values; here the model loads and triage validate warns (TV308)",
    },
    {
        "source": "kie-dmn-core",
        "path": "Dinner.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "dinner",
                {
                    "Guests with children": True,
                    "Season": "Fall",
                    "Number of guests": 4,
                    "Temp": 25,
                    "Rain Probability": 30,
                },
                {
                    "Where to eat": "Outside",
                    "Dish": "Spareribs",
                    "Drinks": ["Apero", "Ale", "Juice Boxes"],
                },
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "EmptyinputValuesoutputValuesdefaultOutputEntry.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "emptyinputValuesoutputValuesdefaultOutputEntry",
                {"my number": 47},
                {"my DT": "positive"},
            ),
            case(
                "emptyinputValuesoutputValuesdefaultOutputEntry",
                {"my number": -1},
                {"my DT": "negative"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "NotificationsTest2.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "notificationsApproved2",
                {
                    "existingActivityApplicability": True,
                    "Distance": 9999,
                    "willIncreaseTraffic": True,
                },
                {
                    "Notification Status": "Notification to Province Approved",
                    "Permit Status": "Building Activity Province Permit Required",
                },
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "Number_and_null_entry.dmn",
        "tests": RUNTIME,
        "cases": [
            case("nullOnNumber", {"num": None}, {"Decision Logic 1": "Null"}),
            case("nullOnNumber", {"num": 4}, {"Decision Logic 1": "Positive number"}),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "RecommenderHitPolicy1_allowNull.dmn",
        "tests": RUNTIME,
        "cases": [case("soundLevelAllowNull", {"Level": None}, {"Evaluation": "Unknown"})],
    },
    {
        "source": "kie-dmn-core",
        "path": "RecommenderHitPolicy1_allowNull_itemDef.dmn",
        "tests": RUNTIME,
        "cases": [case("soundLevelAllowNullItemDef", {"Level": None}, {"Evaluation": "Unknown"})],
    },
    {
        "source": "kie-dmn-core",
        "path": "Simple_Not.dmn",
        "tests": RUNTIME,
        "cases": [case("simpleNot", {"Occupation": "Student"}, {"a": "Is Student"})],
    },
    {
        "source": "kie-dmn-core",
        "path": "WrongConstraintsInItemDefinition.dmn",
        "tests": RUNTIME,
        "refused": {"code": "TV201", "message": "FEEL is case-sensitive: write true"},
        "cases": [],
        "note": "wrongConstraintsInItemDefinition: KIE reports the allowedValues and "
        "inputValues 'True,False' as FEEL it cannot compile",
    },
    {
        "source": "kie-dmn-core",
        "path": "drools1502-noprefix.dmn",
        "tests": RUNTIME,
        "cases": [case("noPrefix", {"MyInput": "a"}, {"MyDecision": "Decision taken"})],
    },
    {
        "source": "kie-dmn-core",
        "path": "habitability.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "kieIssue270",
                {},
                {"error": "missing required dependencies"},
                here={"habitability": None},
                why=MISSING,
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "null_values.dmn",
        "tests": RUNTIME,
        "cases": [
            case("testNull", {"Null Input": None}, {"Null value": "Input is null"}),
            case("testNull", {"Null Input": "foo"}, {"Null value": "Input is not null"}),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "priority_table.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "priorityTable",
                {"isAffordable": False, "RiskCategory": "Medium"},
                {"Approval Status": "Declined"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "uniqueNoMatch.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "uniqueMissingMatchDefaultEmpty",
                {"inputInteger": 11},
                {"Decision_decisionboolean": True},
            ),
            case(
                "uniqueMissingMatchDefaultEmpty",
                {"inputInteger": 12},
                {"Decision_decisionboolean": None},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "will_be_null_if_negative.dmn",
        "tests": RUNTIME,
        "cases": [
            case(
                "drools2200",
                {"a number": -1},
                {"will be null if negative": {"s1": None, "s2": "negative"}},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "DT_empty_output_cell.dmn",
        "tests": "DMNDecisionTableRuntimeTest.java",
        "cases": [
            case(
                "emptyOutputCell",
                {"MonthlyDeptPmt": 1, "MonthlyPmt": 1, "MonthlyIncome": 1},
                {"Logique de décision 1": None},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "decisiontable-default-value.dmn",
        "tests": "DMNDecisionTableRuntimeTest.java",
        "cases": [
            case(
                "decisionTableDefaultValue",
                simple(16, "Medium", True),
                {"Approval Status": "Declined"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "drools1502-InputExpression.dmn",
        "tests": "DMNDecisionTableRuntimeTest.java",
        "cases": [
            case(
                "dTInputExpressionLocalXmlnsInference",
                {"MyInput": "a"},
                {"MyDecision": "Decision taken"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "actualInputMatchInputValues-forTypeRef.dmn",
        "tests": "DMNInputRuntimeTest.java",
        "cases": [
            case(
                "inputClauseTypeRefWithAllowedValues",
                {"MyInput": "a"},
                {"MyDecision": "Decision taken"},
            ),
            case("inputDataTypeRefWithAllowedValues", {"MyInput": "zzz"}, {"error": "FactError"}),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "alphanetwork/alphasupport.dmn",
        "tests": "alphanetwork/DMNDecisionTableAlphaSupportingTest.java",
        "cases": [
            case(
                "simpleDecision",
                {"Existing Customer": "s", "Application Risk Score": 123},
                {"Pre-bureau risk category table": "LOW"},
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "alphanetwork/an-simpletable-multipletests.dmn",
        "tests": "alphanetwork/DMNDecisionTableAlphaSupportingTest.java",
        "cases": [
            case(
                "simpleTableMultipleTests", simple(21, "Low", True), {"Approval Status": "Approved"}
            ),
        ],
    },
    {
        "source": "kie-dmn-core",
        "path": "v1_2/dmn-hotcold.dmn",
        "tests": "DMNUpdateTest.java",
        "cases": [
            case(
                "as_kie_wb_common_services_backend_builder2",
                {"temperature": 3},
                {"is it cold?": "hot"},
            )
        ],
    },
    # --- kogito-examples ---------------------------------------------------------------
    {
        "source": "kogito-examples",
        "path": "dmn-multiple-models-quarkus-example/src/main/resources/habitability.dmn",
        "tests": "dmn-multiple-models-quarkus-example/src/test/java/org/kie/kogito/dmn/"
        "quarkus/example/HabitabilityTest.java",
        "cases": [
            case(
                "testEvaluateHabitability",
                {"oxygene": 70, "temperature": 30},
                {"habitability": "somehow doable"},
            )
        ],
    },
    # --- dmn-scala ---------------------------------------------------------------------
    {
        "source": "dmn-scala",
        "path": "decisiontable/discount.dmn",
        "tests": "DecisionTableHitPolicyTest.scala",
        "cases": [
            case(
                "The decision table 'Discount' (Unique) should return '0.1'",
                {"customer": "Business", "orderSize": 7},
                {"Discount": 0.1},
            ),
            case(
                "it should return '0.15'",
                {"customer": "Business", "orderSize": 15},
                {"Discount": 0.15},
            ),
            case(
                "it should return '0.05'",
                {"customer": "Private", "orderSize": 9},
                {"Discount": 0.05},
            ),
            case(
                "DecisionTableTest: return null if no rule match",
                {"customer": "Something else", "orderSize": 9},
                {"Discount": None},
            ),
        ],
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/discount_default-output.dmn",
        "tests": "DecisionTableTest.scala",
        "cases": [
            case(
                "return the default-output if no rule match",
                {"customer": "Something else", "orderSize": 9},
                {"Discount": 0.05},
            )
        ],
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/adjustments.dmn",
        "tests": "DecisionTableTest.scala",
        "cases": [
            case(
                "A decision table with multiple outputs should return single values",
                {"customer": "Business", "orderSize": 7},
                {"Adjustments": {"discount": 0.1, "shipping": "Air"}},
            ),
            case(
                "return null if no rule match",
                {"customer": "Something else", "orderSize": 9},
                {"Adjustments": None},
            ),
        ],
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/adjustments_default-output.dmn",
        "tests": "DecisionTableTest.scala",
        "cases": [
            case(
                "return the default-output if no rule match",
                {"customer": "Something else", "orderSize": 9},
                {"Adjustments": {"discount": 0.05, "shipping": "Ground"}},
            )
        ],
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/adjustments_empty_output_name.dmn",
        "tests": "DecisionTableTest.scala",
        "refused": {"code": "TV106", "message": "needs a name"},
        "cases": [],
        "note": "fail if an output name is empty: dmn-scala refuses it too ('no output name "
        "defined for `Discount`')",
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/holidays_collect_sum.dmn",
        "tests": "DecisionTableHitPolicyTest.scala",
        "refused": {"code": "TV202", "message": "correct the typeRef 'string'"},
        "cases": [
            case(
                "The decision table 'Holidays' (Collect-Sum) should return '30'",
                {"age": 58, "yearsOfService": 31},
                {"Holidays": 30},
            )
        ],
        "why": 'every input and output clause says typeRef="string" while the entries '
        "compare numbers; dmn-scala ignores typeRefs, KIE and this engine do not",
    },
    {
        "source": "dmn-scala",
        "path": "decisiontable/routingRules.dmn",
        "tests": "DecisionTableHitPolicyTest.scala",
        "refused": {"code": "TV202", "message": "correct the typeRef 'string'"},
        "cases": [
            case(
                "The decision table 'Routing Rules' (Output Order) should return single value",
                {"age": 25, "riskCategory": "MEDIUM", "deptReview": False},
                {
                    "Routing rules": [
                        {"routing": "ACCEPT", "reviewLevel": "NONE", "reason": "Acceptable"}
                    ]
                },
            )
        ],
        "why": 'typeRef="string" on inputs compared with numbers (< 18) and booleans '
        "(true); dmn-scala ignores typeRefs, KIE and this engine do not",
    },
    {
        "source": "dmn-scala",
        "path": "bkm/BkmWithDecisionTable.dmn",
        "tests": "BkmTest.scala",
        "refused": {"code": "TV126", "message": "business knowledge model"},
        "cases": [],
        "note": "a business knowledge model whose body is a decision table, invoked from a "
        "literal expression: outside the supported subset",
    },
    # --- camunda-bpm-examples ----------------------------------------------------------
    {
        "source": "camunda-bpm-examples",
        "path": "dmn-engine-drg/src/main/resources/org/camunda/bpm/example/drg/dinnerDecisions.dmn",
        "tests": "dmn-engine-drg/src/test/java/org/camunda/bpm/example/drg/DrgDecisionTest.java",
        "cases": [
            case(
                "shouldServeGuiness",
                {"season": "Spring", "guestCount": 10, "guestsWithChildren": False},
                {"Beverages": ["Guiness", "Water"]},
                unordered=True,
            ),
            case(
                "shouldServeBordeauxAndAppleJuice",
                {"season": "Winter", "guestCount": 7, "guestsWithChildren": True},
                {"Beverages": ["Bordeaux", "Apple Juice", "Water"]},
                unordered=True,
            ),
            case(
                "shouldServePinotNoir",
                {"season": "Summer", "guestCount": 14, "guestsWithChildren": False},
                {"Beverages": ["Pinot Noir", "Water"]},
                unordered=True,
            ),
        ],
    },
    {
        "source": "camunda-bpm-examples",
        "path": "dmn-engine-java-main-method/src/main/resources/org/camunda/bpm/example/"
        "dish-decision.dmn11.xml",
        "tests": "dmn-engine-java-main-method/src/test/java/org/camunda/bpm/example/"
        "DishDecisionTest.java",
        "cases": [
            case(
                "shouldServeDryAgedInSpringForFewGuests",
                {"season": "Spring", "guestCount": 4},
                {"Dish": "Dry Aged Gourmet Steak"},
            ),
            case(
                "shouldServeSteakInSpringForSomeGuests",
                {"season": "Spring", "guestCount": 7},
                {"Dish": "Steak"},
            ),
            case(
                "shouldServeStewInSpringForManyGuests",
                {"season": "Spring", "guestCount": 20},
                {"Dish": "Stew"},
            ),
        ],
    },
    # --- camunda-bpm-platform ----------------------------------------------------------
    {
        "source": "camunda-bpm-platform",
        "path": "api/Example.dmn",
        "tests": "api/EvaluateDecisionTest.java",
        "cases": [
            case(
                "shouldEvaluateExample",
                {"status": "bronze", "sum": 200},
                {
                    "Check Order": {
                        "result": "notok",
                        "reason": "work on your status first, as bronze you're not going to get "
                        "anything",
                    }
                },
            ),
            case(
                "shouldEvaluateExample",
                {"status": "silver", "sum": 200},
                {
                    "Check Order": {
                        "result": "ok",
                        "reason": "you little fish will get what you want",
                    }
                },
            ),
            case(
                "shouldEvaluateExample",
                {"status": "silver", "sum": 1200},
                {
                    "Check Order": {
                        "result": "notok",
                        "reason": "you took too much man, you took too much!",
                    }
                },
            ),
            case(
                "shouldEvaluateExample",
                {"status": "gold", "sum": 200},
                {"Check Order": {"result": "ok", "reason": "you get anything you want"}},
            ),
        ],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "api/dmn12/NoInput.dmn",
        "tests": "api/EvaluateDecisionTest.java",
        "cases": [case("shouldEvaluateRuleWithoutInput_Dmn12", {}, {"decision": "ok"})],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "api/dmn13/NoInput.dmn",
        "tests": "api/EvaluateDecisionTest.java",
        "cases": [case("shouldEvaluateRuleWithoutInput_Dmn13", {}, {"decision": "ok"})],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "evaluate/EvaluateDrdDishDecisionExample.dmn",
        "tests": "evaluate/DmnDecisionEvaluationTest.java",
        "cases": [
            case(
                "shouldEvaluateDrdDishDecisionExample",
                {"temperature": 20, "dayType": "Weekend"},
                {"Dish Decision": "Steak"},
            )
        ],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "evaluate/EvaluateMultiLevelDecisionsWithMultipleInputAndSingleOutput.dmn",
        "tests": "evaluate/DmnDecisionEvaluationTest.java",
        "cases": [
            case(
                "shouldEvaluateDecisionWithRequiredDecisionByKey",
                {"xx": "xx", "yy": "yy", "zz": "zz", "ll": "ll"},
                {"A": "aa"},
            )
        ],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "evaluate/EvaluateDecisionsWithParentDecision.dmn",
        "tests": "evaluate/DmnDecisionEvaluationTest.java",
        "cases": [
            case(
                "shouldEvaluateDecisionsWithRequiredDecisionAndParentDecision",
                {"ff": True, "dd": 5},
                {"A": 7.0},
            )
        ],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "evaluate/EvaluateSharedDecisions.dmn",
        "tests": "evaluate/DmnDecisionEvaluationTest.java",
        "cases": [case("shouldEvaluateSharedDecisions", {"ff": "ff"}, {"A": "aa"})],
    },
    {
        "source": "camunda-bpm-platform",
        "path": "transform/DrgCollectTest.dmn",
        "tests": "evaluate/DmnDecisionEvaluationTest.java",
        "refused": {"code": "TV126", "message": "JUEL"},
        "cases": [
            case(
                "shouldEvaluateDecisionWithCollectHitPolicyReturningAList",
                {"dayType": "WeekDay"},
                {"Dish Decision": "Steak"},
            )
        ],
        "why": "the input expression guestCount.size() is JUEL",
    },
]


def git(mirror: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={mirror}", *args], check=True, capture_output=True, text=True
    ).stdout


def main(root: Path) -> None:
    manifest = []
    for model in MODELS:
        source = SOURCES[model["source"]]
        mirror = root / source["mirror"] / "repo"
        commit = git(mirror, "rev-parse", "HEAD").strip()
        path = source["base"] + model["path"]
        data = subprocess.run(
            ["git", f"--git-dir={mirror}", "show", f"HEAD:{path}"], check=True, capture_output=True
        ).stdout
        target = HERE / model["source"] / model["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entry = {
            "file": f"{model['source']}/{model['path']}",
            "repository": source["repository"],
            "path": path,
            "commit": commit,
            "licence": source["licence"],
            "tests": source["tests"] + model["tests"],
            **{k: v for k, v in model.items() if k not in ("source", "path", "tests")},
        }
        manifest.append(entry)
    # Apache-2.0 asks for a copy of the licence and each project's NOTICE, if it has one.
    licence = git(root / SOURCES["kie-dmn-core"]["mirror"] / "repo", "show", "HEAD:LICENSE")
    (HERE / "LICENSE-Apache-2.0.txt").write_text(licence, encoding="utf-8")
    for name, source in SOURCES.items():
        mirror = root / source["mirror"] / "repo"
        if "NOTICE" in git(mirror, "ls-tree", "--name-only", "HEAD").split():
            (HERE / name / "NOTICE").write_text(git(mirror, "show", "HEAD:NOTICE"), "utf-8")
    (HERE / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
