"""The belief encoding of the tabular agents: what it keeps apart and what it merges."""

from __future__ import annotations

import numpy as np
import pytest

from cdss.agents.belief import N_BELIEF_ROWS, belief_row, belief_rows
from cdss.env import FEATURES, N_STATES, NVEC, decode, encode
from cdss.env.observation import STATUS_ABNORMAL, STATUS_NORMAL, STATUS_UNKNOWN


def test_every_observation_has_a_row_and_every_row_an_observation() -> None:
    rows = belief_rows()
    assert rows.shape == (N_STATES,) and rows.min() == 0
    assert len(np.unique(rows)) == N_BELIEF_ROWS == rows.max() + 1 == 488


@pytest.mark.parametrize("feature", ["lab_status", "condition_status"])
@pytest.mark.parametrize("known", [0, 1, 2])
def test_unknown_known_normal_and_known_abnormal_stay_apart(feature: str, known: int) -> None:
    index = FEATURES.index(feature)
    rows = set()
    for status in (STATUS_NORMAL, STATUS_ABNORMAL, STATUS_UNKNOWN):
        features = [known, 0, 0, 0, 1, 0]
        features[index] = status
        rows.add(belief_row(tuple(features)))
    assert len(rows) == 3


def test_a_known_severe_risk_is_one_row_per_level() -> None:
    rows = belief_rows()
    for state in range(N_STATES):
        features = decode(state)
        if features[0] >= 3:
            assert rows[state] == rows[encode((features[0], 0, 0, 0, 0, 0))]


def test_the_request_count_matters_only_at_the_step_limit() -> None:
    rows = belief_rows(max_steps=4)
    base = (1, 1, 2, 0, 2)
    assert rows[encode((*base, 0))] == rows[encode((*base, 1))] == rows[encode((*base, 2))]
    assert rows[encode((*base, 3))] != rows[encode((*base, 2))]  # a 4th request truncates
    short = belief_rows(max_steps=2)
    assert short[encode((*base, 0))] != short[encode((*base, 1))]  # one request, then decide


def test_the_row_is_a_function_of_the_observation_only() -> None:
    # No leakage: the encoding reads the observed features and nothing else, so two orders that
    # look alike share a row whatever their hidden facts.
    assert belief_rows().tolist() == [belief_row(decode(s)) for s in range(N_STATES)]
    assert len(NVEC) == len(FEATURES)
