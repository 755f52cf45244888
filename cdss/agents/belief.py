"""The tabular agents' belief encoding: which Q-table row each observation of the
prescription environment uses.

The environment observes six features (`cdss.env.observation`, 1620 combinations). A table row
per combination spreads the data thin exactly where the clinical cases probe: after a request,
the same knowledge as a fresh order sits in another row (one per request count), and a row seen
a handful of times in training decides at random. Two aggregations keep what the decision
depends on and nothing else:

- Once a major or contraindicated risk is known, BLOCK is right whatever else is hidden: the
  true risk is the worst over all facts, so it cannot be lower. Such observations share one row
  per level.
- Otherwise the request count matters only through the step limit: whether the next request
  would end the episode without a decision. The row keeps known severity, hidden drugs, lab
  and condition status (known normal / known abnormal / unknown), the ordered drug's severe
  partners, and that flag.

So the encoding still separates "the fact that matters for this order is unknown" from "known
and normal" and "known and abnormal", in 3 x 3 x 3 x 3 x 3 x 2 + 2 = 488 rows.
"""

from __future__ import annotations

import numpy as np

from cdss.env.observation import FEATURES, N_STATES, NVEC, decode
from cdss.knowledge import Risk

_KNOWN = FEATURES.index("known_severity")
_REQUESTS = FEATURES.index("requests")
_MAX_REQUESTS_SEEN = NVEC[_REQUESTS] - 1  # the observation caps the request count here
_BELOW = tuple(n for i, n in enumerate(NVEC) if i not in (_KNOWN, _REQUESTS))
_N_OPEN = int(Risk.MAJOR) * int(np.prod(_BELOW)) * 2  # rows while no severe risk is known
N_BELIEF_ROWS = _N_OPEN + len(Risk) - int(Risk.MAJOR)


def at_step_limit(requests: int, max_steps: int) -> bool:
    """Whether the next request would truncate the episode (requests capped as observed; with
    `max_steps` above the cap + 1, "3 or more requests" stands for it)."""
    return requests >= min(max_steps - 1, _MAX_REQUESTS_SEEN)


def belief_row(features: tuple[int, ...], max_steps: int = 4) -> int:
    """The table row of one observation (its feature values)."""
    known = features[_KNOWN]
    if known >= Risk.MAJOR:
        return _N_OPEN + known - int(Risk.MAJOR)
    row = known
    for index, size in enumerate(NVEC):
        if index not in (_KNOWN, _REQUESTS):
            row = row * size + features[index]
    return row * 2 + int(at_step_limit(features[_REQUESTS], max_steps))


def belief_rows(max_steps: int = 4) -> np.ndarray:
    """Table row per observation index (`cdss.env.encode`), the `state_map` of a tabular
    agent on the prescription environment."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    return np.array([belief_row(decode(s), max_steps) for s in range(N_STATES)], dtype=np.int64)
