"""conf/kb/*.yaml compose against the schema and build a knowledge base as the job does."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from cdss.knowledge import KnowledgeBase, Risk
from cdss.orchestration.schema import register_configs
from tests.knowledge.conftest import WriteDDInter

CONF = Path(__file__).resolve().parents[2] / "conf"


def _build(overrides: list[str]) -> tuple[KnowledgeBase, dict]:
    """Compose the main config and build `kb` the way cdss.orchestration.job.build does."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    node = OmegaConf.to_container(cfg.kb, resolve=True)
    assert isinstance(node, dict)
    name = node.pop("name")
    return instantiate(node, _convert_="all"), {"name": name, **node}


def test_kb_ddinter_composes_and_builds(write_ddinter: WriteDDInter) -> None:
    path = write_ddinter()
    kb, node = _build(["kb=ddinter", f"kb.path={path}", "kb.vocabulary=null", "kb.atc=null"])
    assert node["name"] == "ddinter" and node["unknown_policy"] == "moderate"
    assert kb.pair_level("warfarin", "acetylsalicylic acid") == Risk.MAJOR


def test_kb_curated_ddinter_composes_and_builds(write_ddinter: WriteDDInter) -> None:
    path = write_ddinter()
    overrides = ["kb=curated_ddinter", f"kb.path={path}", "kb.vocabulary=null", "kb.atc=null"]
    kb, node = _build([*overrides, "kb.unknown_policy=major"])
    assert node["name"] == "curated_ddinter"
    assert kb.pair_level("warfarin", "aspirin") == Risk.MAJOR
    assert kb.pair_level("paracetamol", "metoprolol") == Risk.MAJOR  # DDInter Unknown as major


def test_kb_curated_still_builds_with_the_new_keys() -> None:
    kb, node = _build(["kb=curated"])
    assert node["vocabulary"] is None and node["atc"] is None
    assert kb.name == "curated"


def test_misspelled_kb_key_fails_at_composition() -> None:
    with pytest.raises(ConfigCompositionException, match="vocabulry"):
        _build(["kb=ddinter", "kb.vocabulry=x"])


def test_bad_unknown_policy_fails_when_built(write_ddinter: WriteDDInter) -> None:
    with pytest.raises(InstantiationException, match="unknown_policy 'sometimes'"):
        _build(["kb=ddinter", f"kb.path={write_ddinter()}", "kb.unknown_policy=sometimes"])
