"""``jaxrl.networks.orthogonal``: the same values as ``jax.nn.initializers.orthogonal``, alone
and under (nested) ``vmap``, and two-seed programs that finish on XLA's CPU runtime: large
orthogonal layers (jax's own initialiser hangs there, see jaxrl/linalg.py) and, slow, the T-maze
frame-stack PPO program that first showed the hang."""

from __future__ import annotations

import textwrap

import jax
import numpy as np
import pytest

from jaxrl.networks import orthogonal

SHAPES = [((3, 5), -1), ((5, 3), -1), ((4, 4), -1), ((3, 2, 8), -1), ((6, 2, 3), 0)]


@pytest.mark.parametrize("shape,axis", SHAPES)
def test_equals_jax_initializer(shape, axis):
    key = jax.random.key(3)
    ours = orthogonal(1.7, axis)(key, shape)
    ref = jax.nn.initializers.orthogonal(1.7, axis)(key, shape)
    assert ours.shape == shape
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)


def test_vmapped_and_nested_equal_jax_initializer():
    keys = jax.random.split(jax.random.key(0), 6).reshape(2, 3)
    ours = jax.jit(jax.vmap(jax.vmap(lambda k: orthogonal(2.0)(k, (7, 4)))))(keys)
    ref = jax.vmap(jax.vmap(lambda k: jax.nn.initializers.orthogonal(2.0)(k, (7, 4))))(keys)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    gram = np.einsum("abij,abik->abjk", np.asarray(ours), np.asarray(ours))
    np.testing.assert_allclose(gram, np.broadcast_to(4.0 * np.eye(4), gram.shape), atol=1e-5)


def test_bad_shape_is_named():
    with pytest.raises(ValueError, match="rank >= 2"):
        orthogonal()(jax.random.key(0), (5,))


SCRIPT = textwrap.dedent("""
    import jax
    from jaxrl.networks import orthogonal
    init = orthogonal()
    def layers(key):
        k1, k2 = jax.random.split(key)
        return init(k1, (512, 512)), init(k2, (512, 512))
    jax.block_until_ready(jax.jit(jax.vmap(layers))(jax.random.split(jax.random.key(0), 2)))
    print("finished")
""")


def test_two_seed_program_of_large_layers_finishes(finishes_on_cpu):
    # XLA's default CPU scheduler runs the two batched QRs at once, the case that hangs with
    # jax's own initialiser.
    finishes_on_cpu(SCRIPT, 120, "two seeds of 512 x 512 orthogonal layers")


TMAZE_PPO = textwrap.dedent("""
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
def test_two_seed_frame_stack_ppo_finishes(finishes_on_cpu):
    # With jax's orthogonal initialiser this program hung in 3 of 3 runs on a 2-core CPU
    # (jaxlib 0.10.2, XLA's default scheduler).
    finishes_on_cpu(TMAZE_PPO, 300, "two seeds of T-maze frame-stack PPO")
