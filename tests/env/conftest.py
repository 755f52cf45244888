"""Fixtures of the environment tests: the curated knowledge base and small environments."""

from __future__ import annotations

import pytest

from cdss.env import CDSSEnv
from cdss.knowledge import KnowledgeBase, load_curated


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_curated()


@pytest.fixture
def make_env(kb: KnowledgeBase):
    """Build a CDSSEnv on the curated KB with keyword overrides."""

    def build(**kwargs: object) -> CDSSEnv:
        kwargs.setdefault("cohort_batch", 512)
        return CDSSEnv(kb=kb, **kwargs)

    return build
