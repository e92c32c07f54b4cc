"""Settings of the KL-regularised approximate-replay loss (spec 01; Riemer et al. 2025, "The
Effectiveness of Approximate Regularized Replay for Efficient Supervised Fine-Tuning of Large
Language Models", arXiv 2512.22337):

    L(theta) = CE_sft(theta) + beta * KL_term(theta) + gamma * CE_replay(theta)

Every choice the paper leaves open is a field. The settings are static data of the compiled
step (a frozen, hashable dataclass): a zero ``beta`` or ``gamma`` removes its term from the
program, so ``beta = gamma = 0`` compiles exactly the plain SFT step.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

from llm.config import ConfigError

KL_DIRECTIONS = ("forward", "reverse")
KL_COVERAGES = ("sft", "replay", "both")
MAX_REPLAY_RATIO = 16.0


@dataclasses.dataclass(frozen=True)
class KLReplayConfig:
    """Loss switches; validated on construction (ConfigError names the field)."""

    beta: float = 0.1
    """KL coefficient (the spec lists 0.1 and 1; unverified which the paper used)."""
    kl_direction: str = "forward"
    """"forward": KL(p0 || p_theta) (default); "reverse": KL(p_theta || p0)."""
    kl_coverage: str = "both"
    """Tokens the KL is averaged over: "sft" (the SFT loss tokens), "replay" (every real replay
    token) or "both" (the union, one mean)."""
    gamma: float = 1.0
    """Replay coefficient: weight of the mean next-token NLL on replay rows."""
    replay_ratio: float = 1.0
    """Replay rows per SFT row in each step (0: no replay batches)."""
    response_only: bool = True
    """SFT loss on response tokens only (the batch's ``loss_mask``); False: every real token."""

    def __post_init__(self):
        def bad(field, allowed):
            raise ConfigError(f"KLReplayConfig.{field}={getattr(self, field)!r} is invalid: "
                              f"expected {allowed}")

        for field, high in (("beta", math.inf), ("gamma", math.inf),
                            ("replay_ratio", MAX_REPLAY_RATIO)):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) \
                    or not 0 <= v <= high:
                bad(field, f"a finite number in [0, {high}]" if high < math.inf
                    else "a finite number >= 0")
        if self.kl_direction not in KL_DIRECTIONS:
            bad("kl_direction", f"one of {KL_DIRECTIONS}")
        if self.kl_coverage not in KL_COVERAGES:
            bad("kl_coverage", f"one of {KL_COVERAGES}")
        if not isinstance(self.response_only, bool):
            bad("response_only", "a bool")
        if self.replay_ratio == 0:
            if self.gamma > 0:
                bad("gamma", "0 when replay_ratio=0 (there are no replay rows to train on)")
            if self.beta > 0 and self.kl_coverage != "sft":
                bad("kl_coverage", "'sft' when replay_ratio=0 (there are no replay tokens)")

    @property
    def uses_kl(self) -> bool:
        return self.beta > 0

    @property
    def kl_on_sft(self) -> bool:
        return self.uses_kl and self.kl_coverage in ("sft", "both")

    @property
    def kl_on_replay(self) -> bool:
        return self.uses_kl and self.kl_coverage in ("replay", "both")

    @property
    def uses_replay(self) -> bool:
        """Whether a step needs replay rows (for their NLL, their KL, or both)."""
        return self.gamma > 0 or self.kl_on_replay

    def replay_rows(self, sft_rows: int) -> int:
        """Replay rows per step for ``sft_rows`` SFT rows; raises unless the ratio makes a
        whole number, so the mix is exact in every step."""
        rows = self.replay_ratio * sft_rows
        if abs(rows - round(rows)) > 1e-9:
            raise ConfigError(f"KLReplayConfig.replay_ratio={self.replay_ratio} times "
                              f"{sft_rows} SFT rows per step is {rows}, not a whole number of "
                              "replay rows; pick a ratio that gives one")
        return round(rows)
