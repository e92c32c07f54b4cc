"""The environment stack every agent trains on: ``EpisodeStats(AutoReset(env))``."""

from __future__ import annotations

import envs


def resets_itself(env) -> bool:
    """Whether an :class:`envs.AutoReset` sits anywhere in ``env``'s chain of wrappers (e.g.
    ``Realtime(AutoReset(game))``, whose inference processes run on across episodes)."""
    while env is not None:
        if isinstance(env, envs.AutoReset):
            return True
        env = getattr(env, "_env", None)
    return False


def training_env(name: str, env=None, env_params=None):
    """``(wrapped env, params)`` for registry name ``name``, or for ``env`` when one is given
    (e.g. an environment inside a memory wrapper); ``env_params`` default to its own. An ``env``
    that already restarts its episodes inside gets no second auto-reset around it."""
    if env is None:
        env, default_params = envs.make(name)
        env_params = default_params if env_params is None else env_params
    elif env_params is None:
        env_params = env.default_params
    return envs.EpisodeStats(env if resets_itself(env) else envs.AutoReset(env)), env_params
