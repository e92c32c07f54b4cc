"""Configuration of FURTHER / LILI / MASAC on an iterated matrix game (reference configs
``config/{ibs,ic,imp}.yaml`` of github.com/dkkim93/further).

``method`` is agent 0's algorithm, ``peer`` agent 1: FURTHER's stateless tabular Q learner
(``tabular_q``, IBS), the same method (``self``, IC) or another learner (``further``, ``lili``,
``masac``); both learners share the hyperparameters, as in the reference. Training is single-step online: one update per
environment step, learning from step ``batch_size`` on. ``num_steps`` is rounded down to whole
``horizon``-step episodes (one episode per ``update``: 50 000 → 49 950 steps).

``game = "cheetah2"`` (:mod:`envs.cheetah2`, two agents sharing one brax HalfCheetah) takes the
continuous path (:mod:`jaxrl.further.continuous_learner`, a tanh-squashed Gaussian policy);
its peer must be a learner (``self`` or a method), not ``tabular_q``.
"""

from __future__ import annotations

from jaxrl.config import (
    ConfigError,
    config_dataclass,
    in_unit_interval,
    non_negative,
    one_of,
    positive,
    static_field,
)

METHODS = ("further", "lili", "masac")
PEERS = ("tabular_q", "self", *METHODS)
CONTINUOUS_GAMES = ("cheetah2",)


@config_dataclass
class FurtherConfig:
    method: str = static_field("further")
    """Agent 0: further (average reward + inference), lili (discounted + inference), masac
    (discounted, no inference)."""
    peer: str = static_field("tabular_q")
    """Agent 1: tabular_q (FURTHER's Q peer, frozen until batch_size steps), self (the same
    method as agent 0: self-play) or a method."""
    game: str = static_field("bach_stravinsky")
    """A name in envs.games.GAMES (ibs = bach_stravinsky, ic = coordination,
    imp = matching_pennies) or in CONTINUOUS_GAMES (cheetah2)."""
    num_steps: int = static_field(50_000)
    horizon: int = static_field(150)
    batch_size: int = static_field(256)
    hidden: int = static_field(32)
    latent: int = static_field(5)
    gain_from_warmup: bool = static_field(True)
    """Initialise ρ̂ to the largest reward seen before learning starts (reference); else 0."""
    actor_lr: float = 5e-4
    critic_lr: float = 2e-3
    gain_lr: float = 0.02
    inference_lr: float = 2e-3
    alpha: float = 0.4
    """Entropy weight α (fixed; the reference does not tune it)."""
    polyak: float = 0.99
    gamma: float = 0.99
    """Discount of LILI / MASAC (FURTHER ignores it)."""
    kl_weight: float = 0.01
    max_grad_norm: float = 1000.0

    def __post_init__(self):
        from envs.games import GAMES

        one_of(self, "method", METHODS)
        one_of(self, "peer", PEERS)
        one_of(self, "game", (*GAMES, *CONTINUOUS_GAMES))
        if self.game in CONTINUOUS_GAMES and self.peer == "tabular_q":
            raise ConfigError(f"FurtherConfig.peer={self.peer!r} is invalid with "
                              f"game={self.game!r}: expected self or one of "
                              f"{', '.join(METHODS)} (the tabular Q peer is for matrix games)")
        positive(self, "num_steps", "horizon", "hidden", "latent", "actor_lr", "critic_lr",
                 "inference_lr", "max_grad_norm")
        non_negative(self, "gain_lr", "alpha", "kl_weight")
        in_unit_interval(self, "polyak", "gamma")
        if self.batch_size < 3:
            raise ConfigError(f"FurtherConfig.batch_size={self.batch_size!r} is invalid: "
                              "expected an integer >= 3")
        if self.num_steps < self.horizon:
            raise ConfigError(f"FurtherConfig.num_steps={self.num_steps!r} is invalid: expected "
                              f">= horizon={self.horizon} (one episode)")


# Reference configs (config/*.yaml): game, agents, learning rates, sizes, α, steps, batch, polyak.
REFERENCE = {
    "ibs": {"game": "bach_stravinsky", "method": "further", "peer": "tabular_q",
            "actor_lr": 5e-4, "critic_lr": 2e-3, "gain_lr": 0.02, "inference_lr": 2e-3,
            "hidden": 32, "latent": 5, "alpha": 0.4, "num_steps": 50_000, "batch_size": 256,
            "polyak": 0.99},
    "ic": {"game": "coordination", "method": "further", "peer": "self",
           "actor_lr": 1e-4, "critic_lr": 5e-4, "gain_lr": 0.02, "inference_lr": 5e-4,
           "hidden": 32, "latent": 5, "alpha": 0.3, "num_steps": 10_000, "batch_size": 64,
           "polyak": 0.995},
    "imp": {"game": "matching_pennies", "method": "further", "peer": "lili",
            "actor_lr": 1e-3, "critic_lr": 1e-2, "gain_lr": 0.05, "inference_lr": 1e-2,
            "hidden": 64, "latent": 5, "alpha": 0.35, "num_steps": 1_000_000, "batch_size": 64,
            "polyak": 0.995},
    # Not a reference config (the paper gives none for its continuous domains): SAC's
    # HalfCheetah settings (Haarnoja et al. 2018: lr 3e-4, α 0.2 as reward scale 5, brax's
    # 1000-step episodes) with narrower networks and a 64-transition window, FURTHER vs MASAC.
    "cheetah2": {"game": "cheetah2", "method": "further", "peer": "masac",
                 "actor_lr": 3e-4, "critic_lr": 3e-4, "gain_lr": 0.02, "inference_lr": 3e-4,
                 "hidden": 64, "latent": 5, "alpha": 0.2, "num_steps": 200_000,
                 "batch_size": 64, "polyak": 0.995, "horizon": 1000},
}


def reference_config(name: str, **overrides) -> FurtherConfig:
    """The reference config ``ibs``, ``ic``, ``imp`` (or our ``cheetah2``) with
    ``overrides``."""
    if name not in REFERENCE:
        raise ConfigError(f"reference config {name!r} is unknown: expected one of "
                          f"{', '.join(REFERENCE)}")
    return FurtherConfig(**{**REFERENCE[name], **overrides})
