"""The same train function sharded over 8 (fake CPU) devices gives the single-device numbers."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from jaxrl.agents.ppo import PPOConfig, make_train
    from jaxrl.parallel import run_seeds, shard_seeds
    assert len(jax.devices()) == 8, jax.devices()
    program = make_train(PPOConfig(env="CartPole-v1", num_envs=4, num_steps=16,
                                   total_timesteps=4 * 16 * 3, hidden=(16,)))
    keys = jax.random.split(jax.random.key(0), 8)
    sharded_keys = shard_seeds(keys)
    assert len(sharded_keys.sharding.device_set) == 8
    state, metrics = run_seeds(program, keys)
    assert len(metrics["loss"].sharding.device_set) == 8
    single_state, single = jax.jit(jax.vmap(program))(jax.device_put(keys, jax.devices()[0]))
    for k in single:
        np.testing.assert_allclose(np.asarray(metrics[k]), np.asarray(single[k]),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree.leaves(state.policy), jax.tree.leaves(single_state.policy)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    print("OK")
    """
)


def test_sharded_equals_unsharded():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout
