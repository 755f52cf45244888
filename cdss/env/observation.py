"""The belief state: what an agent sees of an order, computed from the observed facts only.

Six small integer features (`FEATURES`) form a `MultiDiscrete` observation whose raveled index
is the row of a tabular agent's Q-table. `summarize` computes, once per episode and vectorized
over a whole cohort, every number the environment needs to produce these features at each step
(before and after each request), so a step is a few integer operations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

FEATURES: tuple[str, ...] = (
    "known_severity",  # worst risk over the observed facts, 0 (none) .. 4 (contraindicated)
    "hidden_drugs",  # current drugs whose identity is hidden: 0, 1, 2 (two or more)
    "lab_status",  # labs relevant to the ordered drug: see STATUS_*
    "condition_status",  # conditions relevant to the ordered drug: see STATUS_*
    "order_severe",  # partners of the ordered drug at major or worse in the KB: 0, 1-3, 4+
    "requests",  # requests made so far, capped at 3
)
NVEC: tuple[int, ...] = (5, 3, 3, 3, 3, 4)
N_STATES = int(np.prod(NVEC))

# lab_status / condition_status. UNKNOWN wins over ABNORMAL: a hidden relevant fact is what a
# request can still change, while a known abnormal one already shows in known_severity. A
# relevant lab never measured is unknown too, before and after a request (none can reveal it).
STATUS_NORMAL = 0  # every relevant fact known and none abnormal (or none relevant)
STATUS_ABNORMAL = 1  # every relevant fact known, one raises the risk
STATUS_UNKNOWN = 2  # some relevant fact hidden, or a relevant lab never measured

MAX_REQUESTS_FEATURE = NVEC[FEATURES.index("requests")] - 1

# Row-major strides of the raveled index, the same order as np.ravel_multi_index.
STRIDES: tuple[int, ...] = tuple(int(np.prod(NVEC[i + 1 :])) for i in range(len(NVEC)))


def observation_space() -> spaces.MultiDiscrete:
    """The belief features as a gymnasium space (int64, like np.ravel_multi_index expects)."""
    return spaces.MultiDiscrete(np.array(NVEC, dtype=np.int64))


def encode(features: Sequence[int]) -> int:
    """Table index of a feature vector (row-major, as np.ravel_multi_index)."""
    if len(features) != len(NVEC):
        raise ValueError(f"expected {len(NVEC)} features {FEATURES}, got {len(features)}")
    index = 0
    for value, size, name in zip(features, NVEC, FEATURES, strict=True):
        if not 0 <= value < size:
            raise ValueError(f"feature {name}={value} outside 0..{size - 1}")
        index = index * size + int(value)
    return index


def decode(index: int) -> tuple[int, ...]:
    """Feature vector of a table index; the inverse of `encode`."""
    if not 0 <= index < N_STATES:
        raise ValueError(f"state index {index} outside 0..{N_STATES - 1}")
    return tuple(int(v) for v in np.unravel_index(index, NVEC))


def bucket_hidden_drugs(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2+ hidden current drugs."""
    return np.minimum(counts, 2)


def bucket_order_severe(counts: np.ndarray) -> np.ndarray:
    """0, 1-3, 4+ severe partners of the ordered drug in the knowledge base."""
    return np.where(counts == 0, 0, np.where(counts <= 3, 1, 2))


# Columns of the per-episode summary rows produced by `summarize`. `state_<m>` is the table
# index with no request made yet once the groups in bitmask m are revealed (bit 0 drugs, bit 1
# labs, bit 2 conditions); the requests feature has stride 1, so the index after r requests is
# `state_<m> + min(r, 3)`.
N_GROUPS = 3
ROW_FIELDS: tuple[str, ...] = (
    "true_risk",
    "order",
    "reward_class",  # row of the reward's decision table (the true risk, unless fuzzy)
    "drugs_hidden",  # bitmask over drug slots
    "labs_hidden",  # bitmask over LABS
    "conditions_hidden",  # bitmask over CONDITIONS
    *(f"state_{revealed}" for revealed in range(1 << N_GROUPS)),
)
ROW_STATE = ROW_FIELDS.index("state_0")
ROW_HIDDEN = ROW_FIELDS.index("drugs_hidden")
ROW_REWARD = ROW_FIELDS.index("reward_class")


def _bitmask(hidden: np.ndarray) -> np.ndarray:
    """One integer per row with bit j set where column j is hidden."""
    weights = np.left_shift(np.int64(1), np.arange(hidden.shape[1], dtype=np.int64))
    return hidden.astype(np.int64) @ weights


def _status(
    known: np.ndarray, full: np.ndarray, unknown_before: np.ndarray, unknown_after: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """lab_status / condition_status before and after the group is revealed."""
    before = np.where(unknown_before, STATUS_UNKNOWN, np.where(known > 0, STATUS_ABNORMAL, 0))
    after = np.where(unknown_after, STATUS_UNKNOWN, np.where(full > 0, STATUS_ABNORMAL, 0))
    return before, after


def _row_max(levels: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray:
    """Worst level per row, over the facts not hidden (all facts when `hidden` is None).

    Reduced over a transposed copy: numpy reduces a long axis far faster than many short rows.
    """
    if hidden is not None:
        levels = levels * ~hidden  # not np.where: several times slower on int8
    return np.ascontiguousarray(levels.T).max(axis=0, initial=0)


def _row_any(flags: np.ndarray) -> np.ndarray:
    return np.asarray(np.ascontiguousarray(flags.T).any(axis=0))


def summarize(
    *,
    true_risk: np.ndarray,
    order: np.ndarray,
    order_severe: np.ndarray,
    drug_levels: np.ndarray,
    drug_hidden: np.ndarray,
    lab_levels: np.ndarray,
    lab_hidden: np.ndarray,
    lab_relevant: np.ndarray,
    condition_levels: np.ndarray,
    condition_hidden: np.ndarray,
    condition_relevant: np.ndarray,
    lab_measured: np.ndarray | None = None,
    reward_class: np.ndarray | None = None,
) -> np.ndarray:
    """Per-episode rows (columns `ROW_FIELDS`) from per-fact risk levels and hidden masks.

    All inputs are per patient (first axis); `*_levels` hold each fact's risk contribution to
    the order (0 for an absent condition or an empty drug slot), `*_hidden` whether the fact is
    hidden, `*_relevant` whether a rule of the ordered drug reads that lab or condition,
    `lab_measured` whether the lab was ever measured (default: all were), `reward_class` the
    row of the reward table (default: the true risk). The `state_*` columns use only the
    observed facts of the groups not yet revealed: the belief state for each of the 8
    combinations of requests is known before the episode starts.
    """
    drugs_known, drugs_full = _row_max(drug_levels, drug_hidden), _row_max(drug_levels)
    labs_known, labs_full = _row_max(lab_levels, lab_hidden), _row_max(lab_levels)
    conditions_known = _row_max(condition_levels, condition_hidden)
    conditions_full = _row_max(condition_levels)
    never_measured = np.zeros(len(true_risk), dtype=bool)
    if lab_measured is not None:
        never_measured = _row_any(~lab_measured & lab_relevant)
    labs_before, labs_after = _status(
        labs_known, labs_full, _row_any(lab_hidden & lab_relevant) | never_measured, never_measured
    )
    hidden_conditions = _row_any(condition_hidden & condition_relevant)
    conditions_before, conditions_after = _status(
        conditions_known, conditions_full, hidden_conditions, np.zeros_like(hidden_conditions)
    )
    hidden_drugs = bucket_hidden_drugs(np.ascontiguousarray(drug_hidden.T).sum(axis=0))
    # Per group (drugs, labs, conditions) and per variant (0 hidden, 1 revealed): the group's
    # part of known_severity, and its status feature already multiplied by its stride.
    severity = ((drugs_known, drugs_full), (labs_known, labs_full),
                (conditions_known, conditions_full))  # fmt: skip
    status = ((hidden_drugs, 0), (labs_before, labs_after), (conditions_before, conditions_after))
    weighted = [
        [np.asarray(variant, dtype=np.int64) * STRIDES[1 + group] for variant in status[group]]
        for group in range(N_GROUPS)
    ]
    fixed = np.asarray(order_severe, dtype=np.int64) * STRIDES[FEATURES.index("order_severe")]

    rows = np.empty((len(true_risk), len(ROW_FIELDS)), dtype=np.int64)
    rows[:, 0] = true_risk
    rows[:, 1] = order
    rows[:, ROW_REWARD] = true_risk if reward_class is None else reward_class
    rows[:, ROW_HIDDEN] = _bitmask(drug_hidden)
    rows[:, ROW_HIDDEN + 1] = _bitmask(lab_hidden)
    rows[:, ROW_HIDDEN + 2] = _bitmask(condition_hidden)
    for revealed in range(1 << N_GROUPS):
        shown = [(revealed >> group) & 1 for group in range(N_GROUPS)]
        worst = np.maximum.reduce([severity[g][shown[g]] for g in range(N_GROUPS)])
        state = worst.astype(np.int64) * STRIDES[0] + fixed  # requests = 0: stride 1, left out
        for group in range(N_GROUPS):
            state += weighted[group][shown[group]]
        rows[:, ROW_STATE + revealed] = state
    return rows
