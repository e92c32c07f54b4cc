"""The training stack adds an auto-reset only where the environment has none inside."""

import envs
from envs.realtime import Realtime, Scheduler
from jaxrl.training_env import resets_itself, training_env


def test_auto_reset_is_added_once():
    game, params = envs.make("Probe-OneStep")
    sched = Scheduler(kind="sequential", max_processes=1, num_processes=1, inference_frames=2.0)
    plain, _ = training_env("Probe-OneStep")
    assert isinstance(plain._env, envs.AutoReset) and not resets_itself(game)
    inside = Realtime(envs.AutoReset(game), sched)
    wrapped, got = training_env("", inside, params)
    assert resets_itself(inside) and wrapped._env is inside and got is params
    outside, _ = training_env("", Realtime(game, sched))
    assert isinstance(outside._env, envs.AutoReset)
