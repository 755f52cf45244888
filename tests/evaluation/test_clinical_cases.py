"""Policies on the clinical cases with facts hidden (../shared/cases/cases.json): trained
Q-learning meets at least 90% of them, the cautious checker every one.

A case entry hides some facts and lists what is acceptable while they stay unknown. A policy
plays the order greedily until it decides. If by then it has asked for every hidden fact the
ordered drug's rules read, it decided on the whole record, and the case's own acceptable
decisions apply; otherwise the entry's do ("a policy must not silently approve then").
"""

from __future__ import annotations

from typing import Any

import pytest

from cdss.agents import Agent, CautiousRuleAgent, encoder_for
from cdss.env import GROUPS, CDSSEnv
from cdss.knowledge import KnowledgeBase, fact_key_from_case, load_curated, record_from_case
from cdss.orchestration.job import build_parts, execute
from tests.conftest import CASES_MISSING, CASES_PATH, load_cases
from tests.training.jobs import compose_job


def hidden_entries() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    if not CASES_PATH.is_file():
        pytest.fail(CASES_MISSING)
    cases = load_cases()
    entries = [(case, entry) for case in cases for entry in case.get("with_facts_hidden", ())]
    assert entries, f"{CASES_PATH} has no with_facts_hidden entries"
    return entries


def _read_by_the_order(kb: KnowledgeBase, order: str, fact: str) -> bool:
    group, _, name = fact.partition(".")
    drug = kb.drug_id(order)
    if group == "labs":
        return name in kb.relevant_labs(drug)
    if group == "conditions":
        return name in kb.relevant_conditions(drug)
    return True  # any current drug may interact


def play(
    env: CDSSEnv, agent: Agent, case: dict[str, Any], entry: dict[str, Any]
) -> tuple[str, bool]:
    """The decision the agent reaches on the entry's order, and whether it is acceptable."""
    kb = env.kb
    record, order = record_from_case(case, kb)
    hide = [fact_key_from_case(item, kb) for item in entry["hide"]]
    observation, _ = env.reset(options={"record": record, "order": order, "hide": hide})
    encode = encoder_for(env.observation_space)
    asked: set[str] = set()
    with agent.seeded(0):
        while True:
            action = agent.act(encode(observation), greedy=True)
            if action >= len(("APPROVE", "WARN", "BLOCK")):
                asked.add(GROUPS[action - 3])
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
    if info["decision"] is None:
        return "none (step limit)", False
    unknown = [
        f for f in hide if f.partition(".")[0] not in asked and _read_by_the_order(kb, order, f)
    ]
    acceptable = entry["acceptable_decisions"] if unknown else case["acceptable_decisions"]
    decision = info["decision"].name
    return ("asked, then " if asked else "") + decision, decision in acceptable


@pytest.fixture(scope="module")
def env() -> CDSSEnv:
    return CDSSEnv(kb=load_curated(), missing=40)


def test_trained_q_learning_meets_at_least_90_percent(env: CDSSEnv) -> None:
    cfg = compose_job("algo=q", "missing=40")  # the default job
    result = execute(cfg)
    agent = build_parts(cfg).agent
    agent.load_policy_table(result.q_table)
    outcomes = [(case["id"], *play(env, agent, case, entry)) for case, entry in hidden_entries()]
    met = sum(ok for _, _, ok in outcomes)
    assert met >= 0.9 * len(outcomes), outcomes


def test_the_cautious_checker_meets_every_entry(env: CDSSEnv) -> None:
    agent = CautiousRuleAgent()
    for case, entry in hidden_entries():
        decision, ok = play(env, agent, case, entry)
        assert ok, f"{case['id']} hiding {entry['hide']}: {decision}, acceptable {entry}"
