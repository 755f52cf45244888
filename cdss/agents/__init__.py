"""Agents that decide on an order from its belief state: tabular TD learners, baselines, shield."""

from cdss.agents.base import Agent, encoder_for, n_states_of
from cdss.agents.baselines import CautiousRuleAgent, OracleAgent, RandomAgent, RuleBasedAgent
from cdss.agents.schedules import SCHEDULES, Schedule
from cdss.agents.shield import RuleShield, Shield, ShieldedAgent, ShieldTally
from cdss.agents.tabular import (
    DoubleQLearningAgent,
    ExpectedSarsaAgent,
    QLearningAgent,
    SarsaAgent,
    TabularAgent,
)

__all__ = [
    "SCHEDULES",
    "Agent",
    "CautiousRuleAgent",
    "DoubleQLearningAgent",
    "ExpectedSarsaAgent",
    "OracleAgent",
    "QLearningAgent",
    "RandomAgent",
    "RuleBasedAgent",
    "RuleShield",
    "SarsaAgent",
    "Schedule",
    "Shield",
    "ShieldTally",
    "ShieldedAgent",
    "TabularAgent",
    "encoder_for",
    "n_states_of",
]
