"""POPGym's partially observed CartPoles (Morad et al., 2023) on gymnax's CartPole-v1 dynamics.

* position-only: the observation keeps the cart position and the pole angle ``[x, θ]``;
* velocity-only: it keeps the velocities ``[ẋ, θ̇]``;
* noisy position-only: ``[x, θ]`` plus Gaussian noise of standard deviation ``noise_sigma``
  (0.1 / 0.2 / 0.3 for easy / medium / hard), clipped to the observation bounds
  ``±2 × (x_threshold, θ_threshold)`` as in POPGym.

POPGym's reward: ``1 / max_episode_length`` per step the pole stays up (so a full episode
returns 1), ``−1`` on the step that drops it; episodes are cut at ``max_episode_length``
(200 / 400 / 600 for easy / medium / hard).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.classic_control.cartpole import CartPole

from envs.core import Environment, Transition

KEEP = {"position": (0, 2), "velocity": (1, 3)}
LEVELS = {"easy": (200, 0.1), "medium": (400, 0.2), "hard": (600, 0.3)}


@struct.dataclass
class MaskedCartPoleParams:
    cartpole: object  # gymnax's CartPole EnvParams
    max_episode_length: int = 200
    noise_sigma: float = 0.0


class MaskedCartPole(Environment):
    """CartPole observing only positions or only velocities, optionally with noise."""

    def __init__(self, keep: str = "position"):
        if keep not in KEEP:
            raise ValueError(f"keep must be one of {tuple(KEEP)}, got {keep!r}")
        self.keep = keep
        self._env = CartPole()

    def __eq__(self, other):
        return isinstance(other, MaskedCartPole) and other.keep == self.keep

    def __hash__(self):
        return hash((MaskedCartPole, self.keep))

    @property
    def default_params(self) -> MaskedCartPoleParams:
        return MaskedCartPoleParams(cartpole=self._env.default_params)

    @property
    def name(self) -> str:
        return f"{self.keep.capitalize()}OnlyCartPole"

    @property
    def num_actions(self) -> int:
        return 2

    def _bounds(self, params):
        p = params.cartpole
        if self.keep == "position":
            return 2 * jnp.array([p.x_threshold, p.theta_threshold_radians], jnp.float32)
        return jnp.full((2,), jnp.inf, jnp.float32)

    def _observe(self, key, full_obs, params):
        obs = full_obs[jnp.array(KEEP[self.keep])]
        noise = params.noise_sigma * jax.random.normal(key, obs.shape)
        bound = self._bounds(params)
        return jnp.clip(obs + noise, -bound, bound).astype(jnp.float32)

    def reset_env(self, key, params):
        k_reset, k_noise = jax.random.split(key)
        full, state = self._env.reset_env(k_reset, params.cartpole)
        return self._observe(k_noise, full, params), state

    def transition(self, key, state, action, params) -> Transition:
        k_step, k_noise = jax.random.split(key)
        full, state, _, _done, _ = self._env.step_env(k_step, state, action, params.cartpole)
        # gymnax's `done` includes its own 500-step limit: keep only the pole/cart failure.
        failed = self._env.is_terminal(state.replace(time=0), params.cartpole)
        reward = jnp.where(failed, -1.0, 1.0 / params.max_episode_length)
        truncated = (state.time >= params.max_episode_length) & ~failed
        return self._observe(k_noise, full, params), state, reward, failed, truncated, {}

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        bound = self._bounds(params)
        return spaces.Box(-bound, bound, (2,), jnp.float32)


def make_masked_cartpole(keep: str, noisy: bool = False):
    """Registry factory: ``level`` (easy/medium/hard) sets POPGym's episode length and noise;
    ``max_episode_length`` / ``noise_sigma`` override them."""

    def factory(level: str = "easy", **overrides):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {tuple(LEVELS)}, got {level!r}")
        unknown = sorted(set(overrides) - {"max_episode_length", "noise_sigma"})
        if unknown:
            raise ValueError(f"no parameter {', '.join(map(repr, unknown))}; expected level, "
                             "max_episode_length or noise_sigma")
        length, sigma = LEVELS[level]
        env = MaskedCartPole(keep)
        params = env.default_params.replace(max_episode_length=length,
                                            noise_sigma=sigma if noisy else 0.0)
        return env, params.replace(**overrides)

    return factory
