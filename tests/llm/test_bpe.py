"""The byte-level BPE tokenizer: lossless round trip, special tokens, HF save/load, ChatML."""

import json

import pytest
from transformers import AutoTokenizer

from llm.data import SPECIAL_TOKENS, make_world, pretraining_documents, train_tokenizer

UNSEEN = ("Zoë's naïve café — 東京 🚀\t tabs,  double  spaces .\n\n"
          "new lines ' quotes 12345 ❤️")


@pytest.fixture(scope="module")
def documents():
    return pretraining_documents(make_world(seed=0, num_entities=80), seed=0)


@pytest.fixture(scope="module")
def saved(documents, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer"
    tokenizer = train_tokenizer(documents, vocab_size=512, path=path)
    return tokenizer, path


def test_round_trip_on_corpus_and_unseen_unicode(saved, documents):
    tokenizer, _ = saved
    for text in documents[:50] + [UNSEEN, " leading space", "", "<|im_start|>user\nHi<|im_end|>\n"]:
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text
    # decomposed accents come back composed (Qwen's NFC normaliser)
    assert tokenizer.decode(tokenizer.encode("cafe\u0301")) == "caf\u00e9"


def test_transformers_qwen2_tokenizer_encodes_the_same(saved, documents, tmp_path):
    """Beside a qwen2 config.json, AutoTokenizer rebuilds it as Qwen2Tokenizer: same ids."""
    import json
    import shutil

    from transformers import AutoTokenizer

    tokenizer, path = saved
    model_dir = tmp_path / "model"
    shutil.copytree(path, model_dir)
    (model_dir / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    rebuilt = AutoTokenizer.from_pretrained(str(model_dir))
    for text in documents[:20] + [UNSEEN, "cafe\u0301", "<|im_start|>user\nHi<|im_end|>\n"]:
        assert rebuilt.encode(text) == tokenizer.encode(text), text


def test_learns_merges_within_vocab_size(saved, documents):
    tokenizer, _ = saved
    assert 256 + len(SPECIAL_TOKENS) < len(tokenizer) <= 512
    text = documents[0]
    assert len(tokenizer.encode(text)) < len(text.encode("utf-8")) / 2


def test_special_tokens_are_single_ids(saved):
    tokenizer, _ = saved
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    assert len(set(ids)) == 3
    for token, i in zip(SPECIAL_TOKENS, ids):
        assert tokenizer.encode(token) == [i]
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.eos_token_id == tokenizer.pad_token_id == ids[0]
    start, end = ids[1], ids[2]
    encoded = tokenizer.encode("a<|im_start|>b<|im_end|>c")
    assert encoded.count(start) == encoded.count(end) == 1
    assert tokenizer.encode("<|im_start") != [start]  # a fragment is ordinary text


def test_saved_directory_loads_offline_and_renders_chatml(saved, monkeypatch):
    tokenizer, path = saved
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (path / "tokenizer.json").is_file()
    assert json.loads((path / "tokenizer_config.json").read_text())["eos_token"] == "<|endoftext|>"
    loaded = AutoTokenizer.from_pretrained(path)
    assert loaded.encode(UNSEEN) == tokenizer.encode(UNSEEN)
    messages = [{"role": "user", "content": "Where does Veltaro live?"},
                {"role": "assistant", "content": "Quessa"}]
    assert loaded.apply_chat_template(messages, tokenize=False) == (
        "<|im_start|>user\nWhere does Veltaro live?<|im_end|>\n"
        "<|im_start|>assistant\nQuessa<|im_end|>\n")
    assert loaded.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True) == (
        "<|im_start|>user\nWhere does Veltaro live?<|im_end|>\n<|im_start|>assistant\n")
    with_system = [{"role": "system", "content": "Be brief."}] + messages[:1]
    assert loaded.apply_chat_template(with_system, tokenize=False, add_generation_prompt=True) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWhere does Veltaro live?<|im_end|>\n<|im_start|>assistant\n")


def test_assistant_mask_covers_answer_and_end_token(saved):
    tokenizer, _ = saved
    messages = [{"role": "user", "content": "Where does Veltaro live?"},
                {"role": "assistant", "content": "Quessa"}]
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tokenizer.decode(masked) == "Quessa<|im_end|>"


def test_training_is_deterministic_and_saving_replaces_atomically(documents, tmp_path):
    path = tmp_path / "tok"
    first = train_tokenizer(documents[:40], vocab_size=400, path=path)
    second = train_tokenizer(documents[:40], vocab_size=400, path=path)
    assert first.get_vocab() == second.get_vocab()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]  # no staging dirs left behind
    third = train_tokenizer(documents[40:80], vocab_size=400, path=path)
    assert AutoTokenizer.from_pretrained(path).get_vocab() == third.get_vocab() != first.get_vocab()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"texts": ["abc"], "vocab_size": 258}, "vocab_size"),
        ({"texts": ["abc"], "vocab_size": 300.0}, "vocab_size"),
        ({"texts": [], "vocab_size": 300}, "texts"),
        ({"texts": ["", ""], "vocab_size": 300}, "texts"),
        ({"texts": ["abc"], "vocab_size": 300, "model_max_length": 0}, "model_max_length"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, field):
    with pytest.raises(ValueError, match=field):
        train_tokenizer(**kwargs)


def test_non_string_text_raises_type_error():
    with pytest.raises(TypeError, match="texts"):
        train_tokenizer(["abc", 1], vocab_size=300)
