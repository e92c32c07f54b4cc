"""Stack extractors: every slot reaches the features, slot order matters, PPO plugs them in."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl.networks.stack_extractors import EXTRACTORS, make_stack_actor_critic


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_every_slot_reaches_the_outputs_and_order_matters(extractor):
    policy = make_stack_actor_critic(extractor)(jax.random.key(0), (3, 4), spaces.Discrete(8))
    stack = jax.random.normal(jax.random.key(1), (3, 4))
    swapped = stack[jnp.array([1, 0, 2])]

    @jax.jit
    def probe(stack, swapped):
        def value(s):
            return policy((), s, False)[2]

        _, logits, v = policy((), stack, False)
        return logits, v, jax.grad(value)(stack), value(swapped)

    logits, v, grad, v_swapped = probe(stack, swapped)
    assert logits.shape == (8,) and v.shape == ()
    assert np.all(np.abs(np.asarray(grad)).sum(axis=1) > 0)  # the oldest slot matters too
    assert not np.allclose(v_swapped, v)


def test_unknown_extractor():
    with pytest.raises(ValueError, match="extractor"):
        make_stack_actor_critic("gru")
