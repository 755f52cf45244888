"""Per-episode schedules for the exploration rate and the learning rate of the tabular agents."""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULES: tuple[str, ...] = ("constant", "linear", "exponential")


@dataclass(frozen=True)
class Schedule:
    """A value that moves from `start` to `end` over `decay_episodes` episodes, then stays.

    - `constant`: `start` throughout (`end` is ignored);
    - `linear`: a straight line from `start` to `end`;
    - `exponential`: the same factor every episode, so `end` is reached at `decay_episodes`;
      both ends must be above 0 (a geometric decay never reaches 0: use `linear` for that).

    Episode-based rather than step-based, so a schedule reads the same whatever the episode
    lengths of the environment.
    """

    kind: str = "linear"
    start: float = 1.0
    end: float = 0.05
    decay_episodes: int = 2500

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.kind!r}")
        if self.decay_episodes < 1:
            raise ValueError(f"decay_episodes must be >= 1, got {self.decay_episodes}")
        if self.kind == "exponential" and (self.start <= 0 or self.end <= 0):
            raise ValueError(
                f"an exponential schedule needs start > 0 and end > 0, got {self.start}, "
                f"{self.end}: use 'linear' to decay to 0"
            )

    def __call__(self, episodes: int) -> float:
        """The value once `episodes` episodes are done."""
        if self.kind == "constant":
            return self.start
        progress = min(episodes / self.decay_episodes, 1.0)
        if self.kind == "linear":
            return self.start + (self.end - self.start) * progress
        return self.start * (self.end / self.start) ** progress


def decay_episodes(episodes: int | None, fraction: float | None, n_episodes: int | None,
                   default: int) -> int:  # fmt: skip
    """Episodes over which a schedule decays: given directly, or as a share of the run."""
    if episodes is not None:
        return max(1, int(episodes))
    if fraction is not None:
        if n_episodes is None:
            raise ValueError("a decay fraction needs n_episodes")
        return max(1, round(fraction * n_episodes))
    return default
