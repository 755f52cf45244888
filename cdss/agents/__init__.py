"""Agents that decide on an order from its belief state: tabular TD learners and baselines."""

from cdss.agents.base import Agent, encoder_for, n_states_of
from cdss.agents.baselines import CautiousRuleAgent, OracleAgent, RandomAgent, RuleBasedAgent
from cdss.agents.tabular import QLearningAgent, SarsaAgent, TabularAgent

__all__ = [
    "Agent",
    "CautiousRuleAgent",
    "OracleAgent",
    "QLearningAgent",
    "RandomAgent",
    "RuleBasedAgent",
    "SarsaAgent",
    "TabularAgent",
    "encoder_for",
    "n_states_of",
]
