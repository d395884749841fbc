"""The prover: Safety-sheet properties proven for every case the Inputs sheet allows.

The stages, each reusable on its own:

* :mod:`~engine.prover.space` — one solver variable per input (built once, shareable by two
  models for a semantic diff), with the Inputs sheet's constraints;
* :mod:`~engine.prover.values` — what a name holds in the solver, and when a unary test holds;
* :mod:`~engine.prover.encode` — a model's tables, chained, as terms over the input space;
* :mod:`~engine.prover.check` — what a property means for one concrete case;
* :mod:`~engine.prover.prove` — verdicts: proven, violated, vacuous, not proven;
* :mod:`~engine.prover.witness` — counterexamples replayed through durable-rules.
"""

from engine.prover.check import breaks
from engine.prover.encode import ModelEncoding, encode_model
from engine.prover.prove import PropertyResult, Prover, Verdict, prove_properties
from engine.prover.space import InputSpace, conditions_of
from engine.prover.witness import Counterexample

__all__ = [
    "Counterexample",
    "InputSpace",
    "ModelEncoding",
    "PropertyResult",
    "Prover",
    "Verdict",
    "breaks",
    "conditions_of",
    "encode_model",
    "prove_properties",
]
