"""Host-side environments for wall-clock realtime runs (Riemer et al., ICLR 2025, §5).

The wall-clock :mod:`~envs.realtime.runner` steps an environment from plain Python at a fixed
frame rate, one frame per call, so it needs a small imperative protocol rather than the pure
``(key, state)`` API of :class:`envs.core.Environment`:

* ``reset() -> obs``; ``step(action) -> (obs, reward, done)`` (one frame); ``close()``;
* ``num_actions`` (a Discrete action space) and ``noop_action`` (the default action of idle frames).

:class:`JaxHostEnv` adapts any of our JAX environments; :class:`~envs.realtime.pyboy_env.GameBoyEnv`
is the Game Boy of the paper. In a live game episodes do not stop the clock, so ``step`` resets
by itself when an episode ends and returns the first observation of the next episode (``done``
tells the caller that this frame ended one).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax

from envs.core import as_environment
from envs.wrappers.autoreset import AutoReset


@runtime_checkable
class HostEnv(Protocol):
    """A frame-stepped environment driven from Python (see the module docstring)."""

    num_actions: int
    noop_action: int

    def reset(self) -> Any: ...

    def step(self, action) -> tuple[Any, float, bool]: ...

    def close(self) -> None: ...


class JaxHostEnv:
    """A JAX environment (``envs.make(...)``) as a :class:`HostEnv`: one jitted call per frame.

    ``AutoReset(env).step`` is jitted once; the key is carried in Python. Key schedule (so a
    caller can reproduce a run): ``key = PRNGKey(seed)``; ``reset`` and every ``step`` first
    split ``key, sub = split(key)`` and pass ``sub`` to ``env.reset`` / ``AutoReset(env).step``.
    ``done`` is ``terminated or truncated``; rewards and ``done`` come back as Python scalars.
    """

    def __init__(self, env, params=None, seed: int = 0, noop_action: int = 0):
        env = as_environment(env)
        space = env.action_space(params if params is not None else env.default_params)
        if not hasattr(space, "n"):
            raise ValueError("JaxHostEnv needs a Discrete action space, got "
                             f"{type(space).__name__}")
        self.num_actions = int(space.n)
        if not 0 <= noop_action < self.num_actions:
            raise ValueError(f"noop_action={noop_action} is invalid: expected 0 <= noop_action < "
                             f"num_actions={self.num_actions}")
        self.noop_action = int(noop_action)
        self.env = env
        self.params = params if params is not None else env.default_params
        self._autoreset = AutoReset(env)
        self._key = jax.random.PRNGKey(seed)
        self._state = None

        def reset(key, params):
            key, sub = jax.random.split(key)
            obs, state = env.reset(sub, params)
            return key, obs, state

        def step(key, state, action, params):
            key, sub = jax.random.split(key)
            obs, state, reward, terminated, truncated, _ = self._autoreset.step(
                sub, state, action, params)
            return key, obs, state, reward, terminated | truncated

        self._reset = jax.jit(reset)
        self._step = jax.jit(step)

    def reset(self):
        self._key, obs, self._state = self._reset(self._key, self.params)
        return obs

    def step(self, action):
        if self._state is None:
            raise RuntimeError("JaxHostEnv.step called before reset()")
        self._key, obs, self._state, reward, done = self._step(
            self._key, self._state, action, self.params)
        return obs, float(reward), bool(done)

    def close(self) -> None:
        self._state = None


class FrameClock:
    """A trivial :class:`HostEnv` for timing runs: the observation is the frame number.

    Reward 1 for every frame whose action is not the noop, so a policy that never outputs the
    noop earns one point per fresh action: its return counts the frames that were not idle.
    Never ends. Used by :func:`envs.realtime.runner.measure` and the runner's tests.
    """

    num_actions = 2
    noop_action = 0

    def __init__(self):
        self.frame = 0

    def reset(self):
        self.frame = 0
        return self.frame

    def step(self, action):
        self.frame += 1
        return self.frame, float(int(action) != self.noop_action), False

    def close(self) -> None:
        pass
