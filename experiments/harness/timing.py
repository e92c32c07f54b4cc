"""Wall-clock accounting of a training run: compile time apart from run time."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Timing:
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    env_steps: int = 0

    @property
    def env_steps_per_second(self) -> float:
        return self.env_steps / self.run_seconds if self.run_seconds > 0 else float("nan")
