"""Brax environments behind the project's environment API (``envs.make("brax/<name>")``).

Brax (Freeman et al., 2021) keeps everything in one ``State(pipeline_state, obs, reward, done,
metrics, info)`` and has no time limit or auto-reset unless wrapped. :class:`BraxEnv` maps it to
the gymnax 1.0 six-tuple:

* ``terminated`` = brax ``done`` (e.g. the pole fell, the hopper is unhealthy);
* ``truncated`` = ``time >= params.max_steps_in_episode``, counted here, so a learner can
  bootstrap on time-outs (brax's ``EpisodeWrapper`` would fold them into ``done``);
* ``info`` = brax's ``metrics`` (reward components, velocities).

Actions live in ``Box(-1, 1, (action_size,))`` as in brax; they are passed on unclipped, as
brax does. Brax's ``step`` is deterministic, so the step key is unused. The backend defaults to
``"generalized"``: brax's own default for its environments, pure JAX, and on a CPU the fastest
to compile (``"mjx"`` compiles 4-5x slower there; ``"positional"``/``"spring"`` are coarser
approximations).
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
from brax.envs.base import PipelineEnv
from brax.envs.base import State as BraxState
from flax import struct
from gymnax.environments import spaces

from envs.core import Environment

DEFAULT_BACKEND = "generalized"


@struct.dataclass
class BraxParams:
    max_steps_in_episode: int = 1000


@struct.dataclass
class BraxEnvState:
    brax_state: BraxState
    time: jax.Array


class BraxEnv(Environment):
    """Adapter from a brax ``Env`` (e.g. ``brax.envs.get_environment(name)``) to our API."""

    def __init__(self, env, name: str | None = None):
        self._env = env
        self._name = name or type(env).__name__
        obs = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs
        if not hasattr(obs, "shape") or len(obs.shape) != 1:
            raise ValueError(f"brax environment {self._name!r} has no flat observation: {obs}")
        self._obs_size = obs.shape[0]

    @property
    def unwrapped(self):
        return self._env

    @property
    def default_params(self) -> BraxParams:
        return BraxParams()

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_actions(self) -> int:
        return self._env.action_size

    def reset_env(self, key, params):
        brax_state = self._env.reset(key)
        return brax_state.obs, BraxEnvState(brax_state, jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        del key  # brax's step is deterministic
        brax_state = self._env.step(state.brax_state, action)
        # Brax sometimes returns Python floats (e.g. reward 1.0); make the state leaves arrays
        # of a fixed dtype so the state can be a scan carry.
        brax_state = brax_state.replace(
            reward=jnp.asarray(brax_state.reward, jnp.float32),
            done=jnp.asarray(brax_state.done, jnp.float32),
        )
        new_state = BraxEnvState(brax_state, state.time + 1)
        terminated = brax_state.done.astype(bool)
        return brax_state.obs, new_state, brax_state.reward, terminated, dict(brax_state.metrics)

    def is_truncated(self, state, params):
        return state.time >= params.max_steps_in_episode

    def action_space(self, params=None):
        return spaces.Box(-1.0, 1.0, (self._env.action_size,), jnp.float32)

    def observation_space(self, params):
        return spaces.Box(-jnp.inf, jnp.inf, (self._obs_size,), jnp.float32)


def _constructor_kwargs(env_class) -> set[str]:
    """Keyword arguments a brax environment class accepts (its own and ``PipelineEnv``'s)."""
    names = set()
    for fn in (env_class.__init__, PipelineEnv.__init__):
        for p in inspect.signature(fn).parameters.values():
            keyword = p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            if keyword and p.name not in ("self", "sys"):
                names.add(p.name)
    return names


def make_brax(name: str, backend: str = DEFAULT_BACKEND, **overrides):
    """Build brax environment ``name`` as ``(BraxEnv, BraxParams)``.

    Each override that names a :class:`BraxParams` field (``max_steps_in_episode``) sets that
    field; any other is passed to the brax environment's constructor, which accepts its own
    arguments (e.g. ``ctrl_cost_weight``, ``reset_noise_scale``,
    ``exclude_current_positions_from_observation``) and ``PipelineEnv``'s ``n_frames`` and
    ``debug``. Anything else is a ``ValueError`` naming it, raised before brax builds anything.
    """
    from brax import envs as brax_envs

    from envs.registry import replace_params

    if name not in brax_envs._envs:
        raise ValueError(f"unknown brax environment {name!r}; brax has {sorted(brax_envs._envs)}")
    param_fields = set(BraxParams.__dataclass_fields__)
    ctor_fields = _constructor_kwargs(brax_envs._envs[name]) - {"backend"}
    unknown = sorted(set(overrides) - param_fields - ctor_fields)
    if unknown:
        raise ValueError(
            f"environment 'brax/{name}' has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(param_fields))}; its brax constructor "
            f"arguments are: {', '.join(sorted(ctor_fields | {'backend'}))}"
        )
    ctor = {k: v for k, v in overrides.items() if k in ctor_fields}
    env = BraxEnv(brax_envs.get_environment(name, backend=backend, **ctor), name=f"brax/{name}")
    params = {k: v for k, v in overrides.items() if k in param_fields}
    return env, replace_params(env.default_params, params, env.name)
