"""envs.xla_flags: the CPU scheduler flag is added once, a user's own setting is kept, and a
PPO program that once deadlocked XLA's CPU runtime finishes."""

import subprocess
import sys
import textwrap

import pytest

from envs.xla_flags import CPU_SCHEDULER_FLAG, disable_cpu_concurrency_scheduler


def test_flag_is_added_once_and_other_flags_are_kept():
    environ = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    disable_cpu_concurrency_scheduler(environ)
    disable_cpu_concurrency_scheduler(environ)
    assert environ["XLA_FLAGS"] == ("--xla_force_host_platform_device_count=2 "
                                    f"--{CPU_SCHEDULER_FLAG}=false")
    assert disable_cpu_concurrency_scheduler({}) == f"--{CPU_SCHEDULER_FLAG}=false"


def test_users_own_setting_wins():
    environ = {"XLA_FLAGS": f"--{CPU_SCHEDULER_FLAG}=true"}
    disable_cpu_concurrency_scheduler(environ)
    assert environ["XLA_FLAGS"] == f"--{CPU_SCHEDULER_FLAG}=true"


DEADLOCKED = textwrap.dedent("""
    import jax, numpy as np
    from envs.memory import TMaze, TMazeParams, frame_stack
    from jaxrl.agents import ppo
    from jaxrl.networks.stack_extractors import make_stack_actor_critic
    hp = ppo.PPOConfig(env="TMaze", num_envs=8, num_steps=128, total_timesteps=1024,
                       update_epochs=10, num_minibatches=8, ent_coef=0.0)
    program = ppo.make_train(hp, make_stack_actor_critic("mlp"), frame_stack(TMaze(), 4),
                             TMazeParams(length=10))
    keys = jax.random.split(jax.random.key(0), 2)
    state = jax.jit(jax.vmap(program.init))(keys)
    out = jax.jit(jax.vmap(lambda s: program.run(s, 1)))(state)
    print("finished", np.asarray(jax.tree.leaves(out)[0]).shape)
""")


@pytest.mark.slow
def test_two_seed_frame_stack_ppo_finishes():
    # Before jaxrl.networks.orthogonal stopped batching its QR, this program never finished on
    # a 2-core CPU without the flag (jaxlib 0.10.2); it now finishes with or without it.
    done = subprocess.run([sys.executable, "-c", DEADLOCKED], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "finished" in done.stdout
