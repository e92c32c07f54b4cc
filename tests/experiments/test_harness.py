"""The experiment harness: CLI presets and errors, atomic run folder, checkpoints, resume, NaN."""

import dataclasses
import json
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import harness
from experiments.harness import checkpoint as checkpoint_module
from jaxrl.agents.ppo import PPOConfig, make_train
from jaxrl.program import TrainProgram


@dataclasses.dataclass(frozen=True)
class Toy:
    preset: Literal["smoke", "default", "paper"] = "default"
    steps: int = 10
    lr: float = 0.1
    ppo: PPOConfig = PPOConfig()

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"Toy.steps={self.steps} is invalid: expected >= 1")


PRESETS = {"smoke": dict(steps=2), "default": {}, "paper": dict(steps=1000, lr=0.01)}


def test_preset_sets_defaults_and_flags_override():
    assert harness.parse(Toy, PRESETS, ["--preset", "smoke"]).steps == 2
    cfg = harness.parse(Toy, PRESETS, ["--preset", "paper", "--steps", "7"])
    assert (cfg.preset, cfg.steps, cfg.lr) == ("paper", 7, 0.01)
    assert harness.parse(Toy, PRESETS, ["--ppo.lr", "0.5"]).ppo.lr == 0.5


@pytest.mark.parametrize(
    "argv,needle",
    [(["--no-such-flag", "1"], "no-such-flag"), (["--steps", "0"], "steps"),
     (["--ppo.lr", "-1"], "lr"), (["--ppo.env", "Nope-v9"], "env"),
     (["--ppo.num-envs", "0"], "num_envs"), (["--preset", "huge"], "preset")],
)
def test_bad_input_fails_naming_the_field(argv, needle, capsys):
    with pytest.raises(SystemExit) as err:
        harness.parse(Toy, PRESETS, argv)
    message = str(err.value.code) + capsys.readouterr().err
    assert needle in message


def test_config_round_trips_through_config_json(tmp_path):
    run = harness.RunDir(tmp_path)
    cfg = Toy(steps=3, ppo=PPOConfig(hidden=(8, 4), lr=1e-3))
    run.write_config(cfg)
    assert run.read_config(Toy) == cfg


def test_write_atomic_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    harness.write_json(target, {"a": 1})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        harness.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_metrics_round_trip_with_nan(tmp_path):
    run = harness.RunDir(tmp_path)
    m = {"episode_return": np.array([[1.0, np.nan], [2.0, 3.0]]), "loss": np.array([[0.5,
                                                                                     0.25]] * 2)}
    run.log_metrics("a", 0, m)
    back = harness.RunDir(tmp_path).metrics("a")
    np.testing.assert_array_equal(back["episode_return"], m["episode_return"])
    run.log_metrics("a", 1, {k: v[:1] * 10 for k, v in m.items()})  # overwrite from update 1
    back = harness.RunDir(tmp_path).metrics("a")
    np.testing.assert_array_equal(back["loss"], [[0.5, 0.25], [5.0, 2.5]])


SMALL = PPOConfig(env="CartPole-v1", num_envs=4, num_steps=16, total_timesteps=4 * 16 * 6,
                  hidden=(16,))


def _leaves(tree):
    import equinox as eqx

    return [np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key) else x) for x in jax.tree.leaves(eqx.filter(tree,
                                                                                eqx.is_array))]


@pytest.mark.slow  # 18 s; test_ppo_baseline resumes from a checkpoint in the default suite
def test_checkpoint_restores_state_exactly(tmp_path):
    program = make_train(SMALL)
    keys = jax.random.split(jax.random.key(0), 2)
    state = jax.jit(jax.vmap(program.init))(keys)
    state, _ = jax.jit(jax.vmap(lambda s: program.run(s, 2)))(state)
    ck = harness.Checkpointer(tmp_path / "ck")
    ck.save(2, state)
    fresh = jax.jit(jax.vmap(program.init))(jax.random.split(jax.random.key(9), 2))
    restored = ck.restore(ck.latest_step(), fresh)
    for a, b in zip(_leaves(state), _leaves(restored)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # 36 s; test_ppo_baseline resumes a real run in the default suite
def test_resume_after_interruption_gives_identical_final_parameters(tmp_path, monkeypatch):
    program = make_train(SMALL)
    keys = jax.random.split(jax.random.key(0), 2)
    full, full_metrics, _ = harness.train_seeds(program, keys, harness.RunDir(tmp_path / "a"),
                                                "cp", chunks=3, progress=False)

    real_save = checkpoint_module.Checkpointer.save
    calls = []

    def save_then_die(self, step, state):
        real_save(self, step, state)
        calls.append(step)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.Checkpointer, "save", save_then_die)
    run_b = harness.RunDir(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        harness.train_seeds(program, keys, run_b, "cp", chunks=3, progress=False)
    resumed, resumed_metrics, _ = harness.train_seeds(
        program, keys, harness.RunDir(tmp_path / "b"), "cp", chunks=3, progress=False)
    assert calls[0] == 2 and len(calls) == 3  # died after the first of three chunks
    for a, b in zip(_leaves(full.policy), _leaves(resumed.policy)):
        np.testing.assert_array_equal(a, b)
    for k in full_metrics:
        np.testing.assert_array_equal(full_metrics[k], resumed_metrics[k])


def _nan_program(bad_update: int) -> TrainProgram:
    def init(key):
        return {"x": jnp.zeros(()), "t": jnp.zeros((), jnp.int32)}

    def update(s):
        t = s["t"] + 1
        loss = jnp.where(t == bad_update, jnp.nan, 1.0 / t)
        return {"x": s["x"] + loss, "t": t}, {"loss": loss, "episode_return": s["x"]}

    return TrainProgram(init, update, num_updates=8, steps_per_update=1)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    run = harness.RunDir(tmp_path)
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(harness.TrainingDiverged, match="loss is not finite at update 5"):
        harness.train_seeds(_nan_program(6), keys, run, "nan", chunks=4, progress=False)
    ck = harness.Checkpointer(tmp_path / "checkpoints" / "nan")
    assert ck.latest_step() == 4
    state = ck.restore(4, {"x": jnp.zeros(2), "t": jnp.zeros(2, jnp.int32)})
    np.testing.assert_array_equal(state["t"], [4, 4])
    assert np.isfinite(state["x"]).all()
