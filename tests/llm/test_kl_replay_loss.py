"""The KL-regularised replay loss (llm.kl_replay) against hand computations in NumPy, and its
exact properties: zero KL and KL gradient at LoRA initialisation, a reference that training
never moves, bit-identity with llm.train when beta = gamma = 0."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import llm
from llm.config import ConfigError
from llm.kl_replay import KLReplayConfig, adapters_disabled, kl_replay_step, token_kl
from llm.kl_replay.loss import kl_replay_loss_and_grads, target_logits
from llm.train import TrainConfig, make_optimizer, train_step

V = 29
CFG = llm.QwenConfig(vocab_size=V, hidden_size=16, intermediate_size=24, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32,
                     tie_word_embeddings=True)


def np_log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def np_kl(logits, ref, direction):
    lp, lq = np_log_softmax(logits), np_log_softmax(ref)
    if direction == "forward":
        return (np.exp(lq) * (lq - lp)).sum(-1)
    return (np.exp(lp) * (lp - lq)).sum(-1)


def np_nll(logits, tokens):
    """[B, T-1] NLL of tokens[:, 1:] under logits [B, T-1, V]."""
    lp = np_log_softmax(logits)
    return -np.take_along_axis(lp, np.asarray(tokens)[:, 1:, None], -1)[..., 0]


@nnx.jit(static_argnames=("config", "accum"))
def terms_and_grads(model, sft, replay, config, accum=1):
    return kl_replay_loss_and_grads(model, sft, replay, config, grad_accum_steps=accum)


@nnx.jit
def logits_of(model, batch):
    return model(batch["tokens"], attention_mask=batch["attention_mask"])[:, :-1]


def lora_model(seed=0, perturb=True):
    model = llm.Qwen(CFG, rngs=nnx.Rngs(seed))
    llm.apply_lora(model, llm.LoraConfig(r=2, target_modules="all-linear"), rngs=nnx.Rngs(1))
    if perturb:  # a trained-looking adapter: B != 0
        for i, layer in enumerate(llm.lora_layers(model).values()):
            b = layer.lora_b
            b[...] = 0.3 * jax.random.normal(jax.random.key(100 + i), b[...].shape)
    return model


def batches(rows=4, replay_rows=4, t=10, seed=0):
    rng = np.random.default_rng(seed)
    sft = {"tokens": rng.integers(3, V, (rows, t)).astype(np.int32),
           "attention_mask": np.ones((rows, t), np.int32),
           "loss_mask": np.zeros((rows, t), np.int32)}
    sft["attention_mask"][0, -3:] = 0  # right padding
    for i in range(rows):  # prompt, then a response of varying length
        start = 4 + i % 3
        sft["loss_mask"][i, start:] = sft["attention_mask"][i, start:]
    replay = {"tokens": rng.integers(3, V, (replay_rows, t)).astype(np.int32),
              "attention_mask": np.ones((replay_rows, t), np.int32)}
    replay["attention_mask"][1, -2:] = 0
    return sft, replay


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_token_kl_matches_numpy_and_its_gradient_autodiff(direction):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 5, 7)).astype(np.float32) * 2
    ref = rng.normal(size=(3, 5, 7)).astype(np.float32) * 2
    got = token_kl(jnp.asarray(logits), jnp.asarray(ref), direction)
    np.testing.assert_allclose(got, np_kl(logits, ref, direction), rtol=1e-5, atol=1e-6)
    # hand-computed two-token case: p0 = (0.5, 0.5), p = (e/(1+e), 1/(1+e))
    p = np.array([np.e / (1 + np.e), 1 / (1 + np.e)])
    q = np.array([0.5, 0.5])
    want = (q * np.log(q / p)).sum() if direction == "forward" else (p * np.log(p / q)).sum()
    np.testing.assert_allclose(token_kl(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0]),
                                        direction), want, rtol=1e-6)

    # the custom VJP equals autodiff of the plain formula
    def plain(x):
        lp, lq = jax.nn.log_softmax(x), jax.nn.log_softmax(jnp.asarray(ref))
        if direction == "forward":
            return jnp.sum(jnp.exp(lq) * (lq - lp) * jnp.arange(5.0)[None, :, None])
        return jnp.sum(jnp.exp(lp) * (lp - lq) * jnp.arange(5.0)[None, :, None])

    ours = jax.grad(lambda x: jnp.sum(token_kl(x, jnp.asarray(ref), direction)
                                      * jnp.arange(5.0)))(jnp.asarray(logits))
    np.testing.assert_allclose(ours, jax.grad(plain)(jnp.asarray(logits)), atol=1e-6)


@pytest.mark.parametrize("coverage,direction", [("both", "forward"), ("sft", "reverse"),
                                                ("replay", "reverse")])
def test_loss_terms_match_numpy(coverage, direction):
    model = lora_model()
    sft, replay = batches()
    config = KLReplayConfig(beta=0.7, gamma=0.4, kl_direction=direction, kl_coverage=coverage)
    terms, _ = terms_and_grads(model, sft, replay, config)
    logits_s, logits_r = np.asarray(logits_of(model, sft)), np.asarray(logits_of(model, replay))
    with adapters_disabled(model):
        ref_s, ref_r = np.asarray(logits_of(model, sft)), np.asarray(logits_of(model, replay))
    ws = sft["loss_mask"][:, 1:]  # response tokens only: the prompt carries no loss
    wr = replay["attention_mask"][:, 1:]
    sft_loss = (np_nll(logits_s, sft["tokens"]) * ws).sum() / ws.sum()
    replay_loss = (np_nll(logits_r, replay["tokens"]) * wr).sum() / wr.sum()
    kl_s = (np_kl(logits_s, ref_s, direction) * ws).sum()
    kl_r = (np_kl(logits_r, ref_r, direction) * wr).sum()
    kl = {"sft": kl_s / ws.sum(), "replay": kl_r / wr.sum(),
          "both": (kl_s + kl_r) / (ws.sum() + wr.sum())}[coverage]
    assert kl > 1e-3  # the perturbed adapter moved the model
    np.testing.assert_allclose(terms["sft_loss"], sft_loss, rtol=1e-5)
    np.testing.assert_allclose(terms["replay_loss"], replay_loss, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4)
    np.testing.assert_allclose(terms["loss"], sft_loss + 0.7 * kl + 0.4 * replay_loss, rtol=1e-5)


def test_response_only_switch_masks_prompt_tokens():
    model = lora_model()
    sft, _ = batches()
    nll = np_nll(np.asarray(logits_of(model, sft)), sft["tokens"])
    losses = []
    for response_only, mask in ((True, sft["loss_mask"]), (False, sft["attention_mask"])):
        config = KLReplayConfig(beta=0.0, gamma=0.0, replay_ratio=0.0, kl_coverage="sft",
                                response_only=response_only)
        terms, _ = terms_and_grads(model, sft, None, config)
        w = mask[:, 1:]
        np.testing.assert_allclose(terms["sft_loss"], (nll * w).sum() / w.sum(), rtol=1e-5)
        losses.append(float(terms["sft_loss"]))
    assert abs(losses[0] - losses[1]) > 1e-4  # the prompt targets do count without the switch


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_kl_and_its_gradient_are_exactly_zero_at_lora_init(direction):
    model = lora_model(perturb=False)  # B = 0
    sft, replay = batches()
    graphdef, params, rest = nnx.split(model, nnx.LoRAParam, ...)

    def kl_sum(p):
        m = nnx.merge(graphdef, p, rest, copy=True)
        ref = nnx.merge(graphdef, jax.lax.stop_gradient(p), rest, copy=True)
        total = 0.0
        for batch in (sft, replay):
            tokens, mask = jnp.asarray(batch["tokens"]), jnp.asarray(batch["attention_mask"])
            with adapters_disabled(ref):
                r = target_logits(ref, tokens, mask)
            total += jnp.sum(token_kl(target_logits(m, tokens, mask), r, direction))
        return total

    kl_and_grad = jax.jit(jax.value_and_grad(kl_sum))
    value, grads = kl_and_grad(params)
    assert float(value) == 0.0
    assert all(not np.asarray(g).any() for g in jax.tree.leaves(grads))
    # a moved adapter gives a positive KL and a non-zero gradient (the check can fail)
    moved = lora_model(perturb=True)
    _, p2, _ = nnx.split(moved, nnx.LoRAParam, ...)
    value, grads = kl_and_grad(p2)
    assert float(value) > 0 and any(np.asarray(g).any() for g in jax.tree.leaves(grads))


def test_reference_is_the_base_model_during_and_after_training():
    base = llm.Qwen(CFG, rngs=nnx.Rngs(0))
    model = nnx.clone(base)
    llm.apply_lora(model, llm.LoraConfig(r=2, target_modules="all-linear"), rngs=nnx.Rngs(1))
    optimizer = make_optimizer(model, TrainConfig(learning_rate=3e-2, warmup_steps=0,
                                                  total_steps=5), wrt=nnx.LoRAParam)
    sft, replay = batches()
    config = KLReplayConfig(beta=1.0, gamma=1.0)
    first = kl_replay_step(model, optimizer, sft, replay, config)
    assert float(first["kl"]) == 0.0  # fresh adapter: exactly the reference
    for _ in range(3):
        metrics = kl_replay_step(model, optimizer, sft, replay, config)
    assert float(metrics["kl"]) > 0
    want = np.asarray(logits_of(base, sft))
    with adapters_disabled(model):
        np.testing.assert_array_equal(np.asarray(logits_of(model, sft)), want)
    assert np.abs(np.asarray(logits_of(model, sft)) - want).max() > 1e-3  # the adapter trained
    assert not any(layer.merged for layer in llm.lora_layers(model).values())


@pytest.mark.parametrize("accum", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_beta_gamma_zero_is_bit_identical_to_plain_sft(accum):
    sft, _ = batches()
    tc = TrainConfig(learning_rate=1e-2, warmup_steps=0, total_steps=5, grad_accum_steps=accum)
    a, b = lora_model(), lora_model()
    opt_a = make_optimizer(a, tc, wrt=nnx.LoRAParam)
    opt_b = make_optimizer(b, tc, wrt=nnx.LoRAParam)
    config = KLReplayConfig(beta=0.0, gamma=0.0, replay_ratio=0.0, kl_coverage="sft")
    for _ in range(2):
        ma = train_step(a, opt_a, sft)
        mb = kl_replay_step(b, opt_b, sft, None, config)
        assert np.asarray(ma["loss"]).tobytes() == np.asarray(mb["loss"]).tobytes()
    for x, y in zip(jax.tree.leaves(nnx.state(a, nnx.LoRAParam)),
                    jax.tree.leaves(nnx.state(b, nnx.LoRAParam))):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_gradient_accumulation_is_exact():
    sft, replay = batches()
    config = KLReplayConfig(beta=0.5, gamma=2.0, kl_coverage="both")
    model = lora_model()
    t1, g1 = terms_and_grads(model, sft, replay, config, accum=1)
    t2, g2 = terms_and_grads(model, sft, replay, config, accum=2)
    for k in t1:
        np.testing.assert_allclose(t1[k], t2[k], rtol=1e-5)
    # float32 summation order differs; llm.train's own accumulation shows ~2e-4 of max|g| here
    for x, y in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-3 * float(np.abs(x).max()))


def test_bad_settings_fail_before_compiling():
    with pytest.raises(ConfigError, match="kl_direction"):
        KLReplayConfig(kl_direction="sideways")
    with pytest.raises(ConfigError, match="kl_coverage"):
        KLReplayConfig(kl_coverage="prompt")
    with pytest.raises(ConfigError, match="replay_ratio"):
        KLReplayConfig(replay_ratio=-0.5)
    with pytest.raises(ConfigError, match="replay_ratio"):
        KLReplayConfig(replay_ratio=100.0)
    with pytest.raises(ConfigError, match="gamma"):
        KLReplayConfig(gamma=1.0, replay_ratio=0.0)
    with pytest.raises(ConfigError, match="beta"):
        KLReplayConfig(beta=float("nan"))
    with pytest.raises(ConfigError, match="replay_ratio=0.3"):
        KLReplayConfig(replay_ratio=0.3).replay_rows(4)
    model = lora_model()
    opt = make_optimizer(model, TrainConfig(warmup_steps=0, total_steps=2), wrt=nnx.LoRAParam)
    sft, replay = batches(replay_rows=2)
    with pytest.raises(ValueError, match="needs 4"):
        kl_replay_step(model, opt, sft, replay, KLReplayConfig())
    with pytest.raises(ValueError, match="replay is None"):
        kl_replay_step(model, opt, sft, None, KLReplayConfig())
    full = make_optimizer(model, TrainConfig(warmup_steps=0, total_steps=2), wrt=nnx.Param)
    with pytest.raises(ValueError, match="LoRAParam"):
        kl_replay_step(model, full, sft, batches()[1], KLReplayConfig())
    with pytest.raises(ValueError, match="merged"):
        llm.merge_lora(model)
        with adapters_disabled(model):
            pass
