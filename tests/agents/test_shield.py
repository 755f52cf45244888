"""The rule shield over every known severity and decision, and the agent it wraps."""

from __future__ import annotations

import pickle

import pytest

from cdss.agents import QLearningAgent, RandomAgent, RuleShield, ShieldedAgent
from cdss.env import N_STATES, Action, decode, encode
from cdss.env.actions import N_ACTIONS

DECISIONS = (Action.APPROVE, Action.WARN, Action.BLOCK)
REQUESTS = (Action.REQUEST_MEDS, Action.REQUEST_LABS, Action.REQUEST_HISTORY)


def test_known_severe_risks_are_always_blocked_and_moderate_never_approved() -> None:
    shield = RuleShield()
    for state in range(N_STATES):  # every belief state, every action
        known = decode(state)[0]
        for action in (*DECISIONS, *REQUESTS):
            taken = shield(state, int(action))
            if action in REQUESTS:
                assert taken == action  # asking is never overruled
            elif known >= 3:
                assert taken == Action.BLOCK  # never approved, never merely warned
            elif known == 2:
                assert taken == max(int(action), int(Action.WARN))  # never approved silently
            else:
                assert taken == action


def test_the_shield_reads_only_the_prescription_belief_state() -> None:
    with pytest.raises(ValueError, match="shield=rules"):
        RuleShield(n_states=16, n_actions=4)


def test_a_shielded_agent_counts_its_overrides_and_learns_the_taken_action() -> None:
    inner = QLearningAgent(N_STATES, N_ACTIONS, alpha=1.0, epsilon_start=0.0, epsilon_end=0.0)
    severe = encode((3, 0, 0, 0, 1, 0))
    inner.q[severe] = [5.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # it wants to approve a known major risk
    agent = ShieldedAgent(inner, RuleShield())
    assert agent.act(severe) == Action.BLOCK and agent.tally.overrides == 1
    agent.update(severe, Action.BLOCK, 2.0, severe, terminated=True)
    assert inner.q[severe, Action.BLOCK] == 2.0  # the update reached the wrapped agent
    with agent.counting() as tally:
        agent.act(severe, greedy=True)
        assert tally.overrides == 1
    assert agent.tally.overrides == 1  # an evaluation's count is its own
    assert (agent.name, agent.learns, agent.q is inner.q) == ("q", True, True)


def test_a_shielded_agent_pickles_and_keeps_its_stream() -> None:
    agent = ShieldedAgent(RandomAgent(seed=3), RuleShield())
    clone = pickle.loads(pickle.dumps(agent))
    assert [clone.act(0) for _ in range(30)] == [agent.act(0) for _ in range(30)]
