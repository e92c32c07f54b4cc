"""Scalable MDPs (envs.scalable): scripted moves, room switching, exact models, regret."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
import envs.scalable as sc
from envs.scalable import grid, tasks

L = 5


def cell(x, y):
    return x + y * L


def bottleneck(order="cycles", rooms=3):
    env = sc.NBottleneck(rooms, L, order)
    goals = jnp.array([cell(2, 0), cell(0, 4), cell(4, 4)][:rooms], jnp.int32)
    return env, sc.BottleneckParams(goals=goals, noise=0.0)


def play(env, params, state, actions):
    out = []
    for a in actions:
        obs, state, r, term, _trunc, info = env.step(jax.random.key(0), state, a, params)
        out.append((int(obs), float(r), bool(term), info))
    return state, out


def test_registry_makes_the_three_envs():
    for name in sc.SCALABLE:
        assert name in envs.registered()
    env, params = envs.make("NBottleneck-v0", num_rooms=6, order="random", seed=3, noise=0.1)
    assert (env.num_rooms, env.order, float(params.noise)) == (6, "random", pytest.approx(0.1))
    with pytest.raises(ValueError, match="order"):
        sc.NBottleneck(4, order="spiral")


def test_walls_reflect():
    assert int(grid.move(cell(0, 0), 0, L)) == cell(0, 1)  # up from the top row
    assert int(grid.move(cell(0, 0), 2, L)) == cell(1, 0)  # left from the left column
    assert int(grid.move(cell(4, 4), 1, L)) == cell(4, 3)
    assert int(grid.move(cell(2, 2), 4, L)) == cell(2, 2)  # stay


def test_bottleneck_scripted_goal_moves_to_next_room_at_same_cell():
    env, params = bottleneck()
    start = sc.BottleneckState(cell=jnp.int32(cell(0, 0)), task=jnp.int32(0),
                               origin=jnp.int32(cell(0, 0)), time=jnp.int32(0))
    state, out = play(env, params, start, [3, 3])  # right, right: reach (2, 0)
    assert [o[1] for o in out] == [0.0, 1.0]
    assert out[0][0] == cell(1, 0) and out[1][0] == cell(2, 0) + 25  # room 1, same cell
    assert int(out[1][3]["room"]) == 1 and not any(o[2] for o in out)
    # regret baseline: 1 / Manhattan((2, 0) -> (0, 4)) = 1/6, measured from the previous goal
    assert float(out[1][3]["optimal_reward"]) == pytest.approx(1 / 6)
    assert float(out[0][3]["optimal_reward"]) == pytest.approx(1 / 2)  # start (0,0) -> (2,0)
    # room 1's goal (0, 4): left 2, down 4; then room 2, then back to room 0 (cycles)
    state, out = play(env, params, state, [2, 2, 1, 1, 1, 1])
    assert out[-1][1] == 1.0 and out[-1][0] == cell(0, 4) + 50
    state, out = play(env, params, state, [3, 3, 3, 3])
    assert out[-1][1] == 1.0 and out[-1][0] == cell(4, 4) + 0


def test_curriculum_room_sequence():
    assert tasks.task_rooms("curriculum", 3).tolist() == [0, 0, 1, 0, 1, 2]
    n = tasks.next_task_matrix("cycles", 3)
    assert n.tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]


def test_bottleneck_model_matches_noiseless_steps(order="cycles"):
    """With no noise the chain is deterministic: every (state, action) row of the exact model
    is one-hot on the state that ``step`` reaches."""
    env, params = bottleneck(order)
    p, r = env.transition_model(params)
    n = env.num_tasks * env.cells
    s = jnp.arange(n)
    task, c = s // env.cells, s % env.cells

    def step(si, a):
        st = sc.BottleneckState(cell=c[si], task=task[si], origin=c[si], time=jnp.int32(0))
        _, new, rew, *_ = env.step(jax.random.key(0), st, a, params)
        return new.task * env.cells + new.cell, rew

    nxt, rew = jax.vmap(lambda si: jax.vmap(lambda a: step(si, a))(jnp.arange(4)))(s)
    np.testing.assert_array_equal(np.asarray(p).argmax(-1), np.asarray(nxt))
    np.testing.assert_allclose(np.asarray(p).max(-1), 1.0)
    np.testing.assert_allclose(np.asarray(r), np.asarray(rew))


def test_bottleneck_model_noise_matches_sampled_frequencies():
    env, _ = bottleneck("random")
    params = sc.BottleneckParams(goals=jnp.array([cell(2, 0), cell(0, 4), cell(4, 4)]),
                                 noise=0.3)
    p, _ = env.transition_model(params)
    st = sc.BottleneckState(cell=jnp.int32(cell(1, 0)), task=jnp.int32(0),
                            origin=jnp.int32(0), time=jnp.int32(0))
    keys = jax.random.split(jax.random.key(1), 20000)
    new = jax.vmap(lambda k: env.step(k, st, 3, params)[1])(keys)
    freq = np.bincount(np.asarray(new.task * 25 + new.cell), minlength=75) / len(keys)
    np.testing.assert_allclose(freq, np.asarray(p[cell(1, 0), 3]), atol=0.01)


def test_ncycle_switches_room_every_period_and_restarts_after_goal():
    env = sc.NCycle(2, L, "cycles", exponent=1)
    params = sc.CycleParams(goals=jnp.array([cell(4, 4), cell(0, 0)]), switch_every=10,
                            noise=0.0)
    st = sc.CycleState(cell=jnp.int32(cell(1, 1)), task=jnp.int32(0), origin=jnp.int32(0),
                       timer=jnp.int32(0), time=jnp.int32(0))
    st, out = play(env, params, st, [3, 2] * 5)  # shuffle between (2,1) and (1,1)
    rooms = [int(o[3]["room"]) for o in out]
    assert rooms == [0] * 9 + [1] and out[-1][0] == cell(1, 1) + 25
    st, out = play(env, params, st, [2, 0])  # reach room 1's goal (0, 0)
    assert out[-1][1] == 1.0
    x, y = grid.xy(st.cell, L)
    assert int(x) != 0 and int(y) != 0  # restarted off the goal's row and column
    p, _ = env.transition_model(params)
    np.testing.assert_allclose(np.asarray(p.sum(-1)), 1.0, atol=1e-6)


def test_single_room_terminates_at_goal():
    env = sc.SingleRoom(L)
    params = sc.RoomParams(goal=jnp.int32(cell(3, 3)), noise=0.0)
    obs, st = env.reset(jax.random.key(0), params)
    x, y = grid.xy(obs, L)
    assert int(x) != 3 and int(y) != 3
    st = sc.RoomState(cell=jnp.int32(cell(3, 1)), origin=jnp.int32(cell(3, 1)),
                      time=jnp.int32(0))
    _, out = play(env, params, st, [1, 1])
    assert [(o[1], o[2]) for o in out] == [(0.0, False), (1.0, True)]
    assert float(out[0][3]["optimal_reward"]) == pytest.approx(0.5)


def test_regret_by_hand():
    opt = jnp.array([0.5, 0.5, 0.25, 0.25])
    rew = jnp.array([0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(sc.cumulative_regret(opt, rew), [0.5, 0.0, 0.25, 0.5])
    np.testing.assert_allclose(sc.per_step_regret(opt, rew), [0.5, 0.0, 0.25 / 3, 0.125])
