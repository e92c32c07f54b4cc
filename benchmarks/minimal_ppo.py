"""A minimal single-file PPO in the purejaxrl style, as the speed reference for our PPO.

Plain JAX parameters (dicts of arrays), raw gymnax environments with gymnax's own auto-reset,
separate 64-64 tanh actor and critic, GAE without truncation bootstrapping, optax Adam with
global-norm clipping and a linearly annealed learning rate. It is what a user who writes their
own PPO would have; ``benchmarks.rl_throughput`` runs it beside ``jaxrl.agents.ppo`` in the
same process. Not part of the framework's API.
"""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
import optax


def _dense(key, n_in, n_out, scale):
    return {"w": jax.nn.initializers.orthogonal(scale)(key, (n_in, n_out)),
            "b": jnp.zeros(n_out)}


def _mlp_init(key, sizes, out_scale):
    keys = jax.random.split(key, len(sizes) - 1)
    return [_dense(k, a, b, out_scale if i == len(sizes) - 2 else 2**0.5)
            for i, (k, a, b) in enumerate(zip(keys, sizes[:-1], sizes[1:]))]


def _mlp(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def make_train(env_name="CartPole-v1", num_envs=4, num_steps=128, total_timesteps=500_000,
               update_epochs=4, num_minibatches=4, lr=2.5e-4, gamma=0.99, gae_lambda=0.95,
               clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, hidden=64):
    env, env_params = gymnax.make(env_name)
    n_actions = env.action_space(env_params).n
    obs_size = int(jnp.prod(jnp.array(env.observation_space(env_params).shape)))
    num_updates = total_timesteps // (num_envs * num_steps)
    batch = num_envs * num_steps
    schedule = lambda count: lr * (1.0 - (count // (num_minibatches * update_epochs))  # noqa: E731
                                   / num_updates)
    tx = optax.chain(optax.clip_by_global_norm(max_grad_norm),
                     optax.adam(learning_rate=schedule, eps=1e-5))

    def policy(params, obs):
        obs = obs.reshape(obs.shape[0], -1)
        return _mlp(params["actor"], obs), _mlp(params["critic"], obs)[:, 0]

    def train(key):
        k_a, k_c, k_env, key = jax.random.split(key, 4)
        params = {"actor": _mlp_init(k_a, [obs_size, hidden, hidden, n_actions], 0.01),
                  "critic": _mlp_init(k_c, [obs_size, hidden, hidden, 1], 1.0)}
        opt_state = tx.init(params)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, num_envs), env_params)
        ep_ret = jnp.zeros(num_envs)

        def update(carry, _):
            params, opt_state, env_state, obs, ep_ret, key = carry

            def step(c, _):
                env_state, obs, ep_ret, key = c
                key, k_act, k_env = jax.random.split(key, 3)
                logits, value = policy(params, obs)
                action = jax.random.categorical(k_act, logits)
                logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], 1)[:, 0]
                obs2, env_state, reward, term, trunc, _ = jax.vmap(
                    env.step, in_axes=(0, 0, 0, None))(jax.random.split(k_env, num_envs),
                                                       env_state, action, env_params)
                done = term | trunc
                ret = ep_ret + reward
                out = (obs, action, logp, value, reward, done, jnp.where(done, ret, jnp.nan))
                return (env_state, obs2, jnp.where(done, 0.0, ret), key), out

            (env_state, obs, ep_ret, key), traj = jax.lax.scan(
                step, (env_state, obs, ep_ret, key), None, num_steps)
            t_obs, t_act, t_logp, t_val, t_rew, t_done, t_ret = traj
            _, last_val = policy(params, obs)

            def gae_step(c, x):
                adv, next_val = c
                done, value, reward = x
                delta = reward + gamma * next_val * (1 - done) - value
                adv = delta + gamma * gae_lambda * (1 - done) * adv
                return (adv, value), adv

            _, adv = jax.lax.scan(gae_step, (jnp.zeros_like(last_val), last_val),
                                  (t_done, t_val, t_rew), reverse=True)
            ret = adv + t_val

            def loss_fn(params, mb):
                o, a, lp, v, ad, rt = mb
                logits, value = policy(params, o)
                logp_all = jax.nn.log_softmax(logits)
                logp = jnp.take_along_axis(logp_all, a[:, None], 1)[:, 0]
                ratio = jnp.exp(logp - lp)
                ad = (ad - ad.mean()) / (ad.std() + 1e-8)
                pg = -jnp.minimum(ratio * ad, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * ad)
                v_clip = v + jnp.clip(value - v, -clip_eps, clip_eps)
                v_loss = 0.5 * jnp.maximum((value - rt) ** 2, (v_clip - rt) ** 2).mean()
                ent = -(jnp.exp(logp_all) * logp_all).sum(-1).mean()
                return pg.mean() + vf_coef * v_loss - ent_coef * ent

            def epoch(c, key):
                params, opt_state = c
                data = jax.tree.map(lambda x: x.reshape(batch, *x.shape[2:]),
                                    (t_obs, t_act, t_logp, t_val, adv, ret))
                perm = jax.random.permutation(key, batch)
                data = jax.tree.map(lambda x: x[perm].reshape(num_minibatches, -1,
                                                              *x.shape[1:]), data)

                def mb_step(c, mb):
                    params, opt_state = c
                    grads = jax.grad(loss_fn)(params, mb)
                    updates, opt_state = tx.update(grads, opt_state)
                    return (optax.apply_updates(params, updates), opt_state), None

                return jax.lax.scan(mb_step, (params, opt_state), data)[0], None

            key, k_ep = jax.random.split(key)
            (params, opt_state), _ = jax.lax.scan(epoch, (params, opt_state),
                                                  jax.random.split(k_ep, update_epochs))
            return (params, opt_state, env_state, obs, ep_ret, key), jnp.nanmean(t_ret)

        carry = (params, opt_state, env_state, obs, ep_ret, key)
        _, returns = jax.lax.scan(update, carry, None, num_updates)
        return returns

    return train
