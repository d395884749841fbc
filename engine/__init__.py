"""Clinical decision tables: workbook -> model -> durable-rules -> decisions."""

from engine.errors import (
    EngineFailure,
    FactError,
    HitPolicyViolation,
    Location,
    Problem,
    TriageError,
    UnreadableFile,
    WorkbookError,
)
from engine.evaluator import CompiledModel
from engine.loader import load, load_sheets
from engine.model import Decision, FiredRule, Model

__all__ = [
    "CompiledModel",
    "Decision",
    "EngineFailure",
    "FactError",
    "FiredRule",
    "HitPolicyViolation",
    "Location",
    "Model",
    "Problem",
    "TriageError",
    "UnreadableFile",
    "WorkbookError",
    "load",
    "load_sheets",
]
