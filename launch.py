"""The single entrypoint: compose the Hydra config, run one job, return the sweep objective.

python launch.py                                   # one job on the defaults
python launch.py -m algo=q,sarsa missing=20,40,60  # a grid, one MLflow run per job
"""

from cdss.tracking.telemetry import disable_telemetry

disable_telemetry()  # before Hydra's plugins or MLflow are imported

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from cdss.orchestration.job import run_job  # noqa: E402
from cdss.orchestration.schema import register_configs  # noqa: E402

register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Train and evaluate one agent; the validation return is the sweep objective."""
    return run_job(cfg)


if __name__ == "__main__":
    main()
