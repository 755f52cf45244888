"""The six actions of an episode: three decisions that end it, three requests that do not."""

from __future__ import annotations

from enum import IntEnum


class Action(IntEnum):
    """What the agent may do with an order; the values are the `Discrete(6)` action ids."""

    APPROVE = 0
    WARN = 1
    BLOCK = 2
    REQUEST_MEDS = 3
    REQUEST_LABS = 4
    REQUEST_HISTORY = 5


N_ACTIONS = len(Action)
DECISIONS = (Action.APPROVE, Action.WARN, Action.BLOCK)
N_DECISIONS = len(DECISIONS)

# The right decision per true risk level (none, minor, moderate, major, contraindicated).
CORRECT_ACTION: tuple[int, ...] = (
    Action.APPROVE,
    Action.APPROVE,
    Action.WARN,
    Action.BLOCK,
    Action.BLOCK,
)

# Fact groups in request order: REQUEST_MEDS reveals "drugs", and so on.
GROUPS: tuple[str, ...] = ("drugs", "labs", "conditions")
