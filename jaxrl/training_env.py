"""The environment stack every agent trains on: ``EpisodeStats(AutoReset(env))``."""

from __future__ import annotations

import envs


def training_env(name: str, env=None, env_params=None):
    """``(wrapped env, params)`` for registry name ``name``, or for ``env`` when one is given
    (e.g. an environment inside a memory wrapper); ``env_params`` default to its own."""
    if env is None:
        env, default_params = envs.make(name)
        env_params = default_params if env_params is None else env_params
    elif env_params is None:
        env_params = env.default_params
    return envs.EpisodeStats(envs.AutoReset(env)), env_params
