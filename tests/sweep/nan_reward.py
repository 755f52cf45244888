"""A reward that pays NaN for every decision, so a trial finishes and returns a NaN objective.

The shipped RewardTable rejects non-finite cells; this one sets them after validation, for the
sweep tests only (selected by tests/sweep/conf/reward/nan_table.yaml).
"""

from __future__ import annotations

from typing import Any

from cdss.env import RewardTable


class NanRewardTable(RewardTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        nan = float("nan")
        self.decisions = tuple((nan, nan, nan) for _ in self.decisions)
