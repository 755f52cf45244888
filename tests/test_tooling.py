"""The project's tooling: the DVC pipeline reproduces and then rests, and the config files that
CI, DVC and pre-commit read agree with each other and with the code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from scripts.report_metrics import metrics_of
from tests.conftest import REPO

EXPERIMENT = REPO / "conf" / "experiment" / "ablation.yaml"
SQLITE = "sqlite:///"


def dvc_pipeline() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


def out_paths(stage: dict) -> set[str]:
    """A stage's outputs, written either as plain paths or as {path: options}."""
    return {next(iter(out)) if isinstance(out, dict) else out for out in stage.get("outs", [])}


def compose_ablation() -> DictConfig:
    from cdss.orchestration.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose("config", overrides=["+experiment=ablation"], return_hydra_config=True)


def test_ablation_experiment_composes_and_writes_where_dvc_looks() -> None:
    lines = EXPERIMENT.read_text().splitlines()
    assert lines[0] == "# @package _global_"
    assert lines[1] == "# python launch.py -m +experiment=ablation"
    assert dvc_pipeline()["stages"]["ablation"]["cmd"] == "python launch.py -m +experiment=ablation"

    cfg = compose_ablation()
    store = cfg.mlflow.tracking_uri
    assert store.startswith(SQLITE), "DVC tracks the store as a file"
    outs = out_paths(dvc_pipeline()["stages"]["ablation"])
    assert outs == {store[len(SQLITE) :], cfg.hydra.sweep.dir}
    assert f"--tracking-uri {store} " in dvc_pipeline()["stages"]["report"]["cmd"]

    grid = cfg.hydra.sweeper.params
    algos = {path.stem for path in (REPO / "conf" / "algo").glob("*.yaml")}
    assert set(grid.algo.split(",")) <= algos
    assert all(0 <= int(rate) <= 95 for rate in str(grid.missing).split(","))


def test_dvc_params_name_keys_of_the_hydra_files() -> None:
    for stage in dvc_pipeline()["stages"].values():
        for entry in stage.get("params", []):
            for path, keys in entry.items():
                values = yaml.safe_load((REPO / path).read_text())
                for key in keys:
                    node = values
                    for part in key.split("."):
                        assert isinstance(node, dict) and part in node, f"{path}: no {key}"
                        node = node[part]


def test_dvc_and_telemetry_opt_outs_are_in_the_repository_config() -> None:
    config = (REPO / ".dvc" / "config").read_text()
    assert re.search(r"^\s*analytics\s*=\s*false\s*$", config, re.MULTILINE)
    assert re.search(r"^\s*check_update\s*=\s*false\s*$", config, re.MULTILINE)


def test_env_example_lists_every_variable_the_project_reads() -> None:
    names: set[str] = set()
    for path in [
        REPO / "launch.py",
        *REPO.glob("cdss/**/*.py"),
        *REPO.glob("hydra_plugins/**/*.py"),
    ]:
        text = path.read_text()
        names |= set(re.findall(r"\"((?:MLFLOW|CDSS|DVC|DO_NOT)_[A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"oc\.env:([A-Z0-9_]+)", text))
    for path in REPO.glob("conf/**/*.yaml"):
        names |= set(re.findall(r"oc\.env:([A-Z0-9_]+)", path.read_text()))
    assert "MLFLOW_TRACKING_URI" in names  # the scan itself works
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    assert names <= listed, f"add to .env.example: {sorted(names - listed)}"


def test_pre_commit_hooks_are_local_and_need_no_network() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])
    assert all(hook["language"] == "system" for hook in hooks)
    assert {hook["id"] for hook in hooks} == {"ruff-check", "ruff-format", "mypy"}


def test_makefile_has_the_documented_targets() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.M))
    assert {"install", "run", "test", "lint", "report", "mlflow-ui", "clean"} <= targets


def test_report_metrics_nest_algorithm_group_and_metric() -> None:
    rows = [
        {
            "algo.name": "q",
            "missing": "40",
            "algorithm": "q",
            "n_seeds": "2",
            "detection_rate_mean": "0.75",
            "detection_rate_ci_low": "0.5",
            "mean_return_mean": "nan",
        }
    ]
    assert metrics_of(rows) == {"q": {"missing_40": {"detection_rate": 0.75, "mean_return": None}}}


def copy_worktree(destination: Path) -> None:
    """What a clone of the working tree would hold: tracked and new files, not ignored ones.

    `git clone` would miss uncommitted edits, so the files are copied into a fresh repository.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not there
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=cdss-tests", "-c", "user.email=tests@cdss.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *command], cwd=destination, check=True, capture_output=True)


def dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run DVC with this interpreter first on PATH, so the stages' `python` is this one."""
    environment = {
        k: v
        for k, v in os.environ.items()
        # The copy's files are not the measured ones, and MLflow must use the stage's store.
        if not k.startswith("COVERAGE_") and k != "MLFLOW_TRACKING_URI"
    }
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment["PATH"]])
    environment["DVC_NO_ANALYTICS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_dvc_repro_runs_the_pipeline_then_has_nothing_to_do(tmp_path: Path) -> None:
    if not os.environ.get("CI"):  # CI installs the dvc extra; there a missing dvc is a failure
        pytest.importorskip("dvc", reason="needs the dvc extra: pip install -e '.[dvc]'")
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to list the project's files")
    clone = tmp_path / "clone"
    copy_worktree(clone)

    first = dvc(["repro"], clone)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in ("kb_check", "ablation", "report"):
        assert f"Running stage '{stage}'" in first.stdout, first.stdout
    metrics = json.loads((clone / "dvc" / "metrics.json").read_text())
    assert {"q", "sarsa", "rule_based", "cautious_rule"} <= set(metrics)
    assert (clone / "dvc" / "report" / "report.html").is_file()

    second = dvc(["repro"], clone)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running stage" not in second.stdout, second.stdout
    assert "Data and pipelines are up to date." in second.stdout

    # New missing rates: the grid is stale (the report follows it), the KB check is not.
    text = (clone / EXPERIMENT.relative_to(REPO)).read_text()
    edited = re.sub(r"^(\s+missing:) [0-9,]+", r"\1 20,60", text, count=1, flags=re.M)
    assert edited != text
    (clone / EXPERIMENT.relative_to(REPO)).write_text(edited)
    status = dvc(["status", "--json"], clone)
    assert status.returncode == 0, status.stdout + status.stderr
    stale = json.loads(status.stdout)
    assert "ablation" in stale and "kb_check" not in stale, stale
