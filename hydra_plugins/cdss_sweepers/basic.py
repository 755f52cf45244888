"""Hydra's basic sweeper, but one failed job no longer hides the others' fate.

The stock sweeper re-raises the first failed job's error after its batch and skips the
multirun-end callbacks, leaving the parent MLflow run open. This one runs every batch, closes
the parent run as FAILED listing the failed jobs, and then raises one error naming them all.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


class SweepFailedError(RuntimeError):
    """Some jobs of a multirun failed; the message lists them."""


@dataclass
class CdssBasicSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.cdss_sweepers.basic.CdssBasicSweeper"


ConfigStore.instance().store(
    group="hydra/sweeper", name="cdss_basic", node=CdssBasicSweeperConf, provider="cdss"
)


def describe_failures(results: list[JobReturn]) -> list[str]:
    """One line per failed job: its number, overrides and error."""
    lines = []
    for job in results:
        if job.status == JobStatus.FAILED:
            number = job.hydra_cfg.hydra.job.num if job.hydra_cfg else "?"
            error = job._return_value
            lines.append(
                f"job #{number} ({' '.join(job.overrides or [])}): {type(error).__name__}: {error}"
            )
    return lines


class CdssBasicSweeper(BasicSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        from cdss.orchestration.parent import close_parent

        params_conf = self._parse_config()
        params_conf.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides(params_conf)
        self.overrides = self.split_arguments(overrides, self.max_batch_size)

        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        returns: list[list[JobReturn]] = []
        failures: list[str] = []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            tic = time.perf_counter()
            self.validate_batch_is_legal(batch)
            log.debug("Validated %d job configs in %.2f s", len(batch), time.perf_counter() - tic)
            results = list(self.launcher.launch(batch, initial_job_idx=initial_job_idx))
            failures.extend(describe_failures(results))
            initial_job_idx += len(batch)
            returns.append(results)

        total = initial_job_idx
        if failures:
            close_parent(failures)
            message = f"{len(failures)} of {total} jobs failed:\n  " + "\n  ".join(failures)
            log.error(message)
            raise SweepFailedError(message)
        log.info("All %d jobs finished", total)
        return returns


__all__ = ["CdssBasicSweeper", "CdssBasicSweeperConf", "Sweeper"]
