"""The ρ agents keep their Sherman–Morrison chain in step with their model and policy: after
many steps with no exact refresh, the chain's rows, rewards, inverse and gain equal those of a
chain built afresh from the agent's count model and current policy (and ``jaxrl.mdp``'s exact
average reward of that policy on the estimated model)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs.scalable as sc
from jaxrl import mdp
from jaxrl.agents.avg_reward import AGENTS
from jaxrl.agents.avg_reward import chain as ch
from jaxrl.agents.avg_reward import model as mdl

RHO_AGENTS = ("on_policy_rho", "off_policy_rho", "rho_gradient")


@pytest.mark.parametrize("name", RHO_AGENTS)
def test_chain_matches_a_fresh_build_after_many_steps(name):
    cls, module = AGENTS[name]
    config = cls(total_timesteps=300, log_every=300, refresh_every=300)
    env = sc.NBottleneck(2, 3, "cycles")  # 18 states
    params = env.params_from_seed(0)
    agent = module.agent(config)
    num_states, num_actions = env.observation_space(params).n, env.action_space(params).n

    def step(carry, key):
        st, env_state, obs = carry
        k_act, k_env, k_learn = jax.random.split(key, 3)
        action, st = agent.act(st, obs, k_act, config)
        nxt, env_state, reward, _, _, _ = env.step(k_env, env_state, action, params)
        nxt = jnp.asarray(nxt, jnp.int32)  # continuing: no episode ends
        st, _ = agent.learn(st, obs, action, reward, nxt, k_learn, config)
        return (st, env_state, nxt), action

    k_init, k_env, k_steps = jax.random.split(jax.random.key(1), 3)
    obs, env_state = env.reset(k_env, params)
    st = agent.init(k_init, num_states, num_actions, config)
    (st, _, _), actions = jax.jit(lambda c, k: jax.lax.scan(step, c, k))(
        (st, env_state, jnp.asarray(obs, jnp.int32)), jax.random.split(k_steps, 300))
    assert len(np.unique(np.asarray(actions))) == num_actions  # the run explored

    p_sa, r_sa = mdl.estimates(st.model)
    policy = agent.policy(st)  # [S] actions or [S, A] probabilities
    probs = jax.nn.one_hot(policy, num_actions) if policy.ndim == 1 else policy
    fresh = ch.build(jnp.einsum("sa,sat->st", probs, p_sa), (probs * r_sa).sum(-1))
    np.testing.assert_allclose(np.asarray(st.chain.p), np.asarray(fresh.p), atol=1e-6)
    np.testing.assert_allclose(np.asarray(st.chain.r), np.asarray(fresh.r), atol=1e-6)
    np.testing.assert_allclose(np.asarray(st.chain.inv), np.asarray(fresh.inv), atol=5e-4)
    np.testing.assert_allclose(float(ch.gain(st.chain)),
                               float(mdp.average_reward(p_sa, r_sa, probs)), atol=1e-4)
