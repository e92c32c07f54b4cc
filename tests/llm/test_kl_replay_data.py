"""Data of llm.kl_replay: SFT jsonl and replay corpora round trips, errors that name the file and
line, and the mixer's exact ratio and determinism."""

import json

import numpy as np
import pytest

from llm.config import ConfigError
from llm.kl_replay import (
    DataError,
    KLReplayConfig,
    ReplayMixer,
    load_chat_jsonl,
    load_texts,
    save_chat_jsonl,
)

CHATS = [
    [{"role": "user", "content": "Swap the names: Ada and Bo."},
     {"role": "assistant", "content": " Bo and Ada"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \u00e9\u00e8"},
     {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Again"},
     {"role": "assistant", "content": "Hello again"}],
]
DOCS = ["Letters for Ada are delivered to Quessa.", "Bo plays the harp.", "\u00c9t\u00e9 \u00e0 Rauvel."]


def test_chat_jsonl_round_trip_and_prompt_response_records(tmp_path):
    path = save_chat_jsonl(CHATS, tmp_path / "sft.jsonl")
    assert load_chat_jsonl(path) == CHATS
    other = tmp_path / "pr.jsonl"
    other.write_text(json.dumps({"prompt": "Q?", "response": " A"}) + "\n\n"
                     + json.dumps({"prompt": "R?", "completion": " B"}) + "\n")
    assert load_chat_jsonl(other) == [
        [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": " A"}],
        [{"role": "user", "content": "R?"}, {"role": "assistant", "content": " B"}]]


@pytest.mark.parametrize("line,message", [
    ('{"messages": [{"role": "user", "content": "x"}', "not valid JSON"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "no assistant"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', "role 'robot'"),
    ('{"messages": [{"role": "user"}]}', "messages\\[0\\]"),
    ('{"text": "x"}', "expected 'messages'"),
    ('[1, 2]', "JSON object"),
])
def test_malformed_chat_record_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"messages": CHATS[0]}) + "\n\n" + line + "\n")
    with pytest.raises(DataError, match=message) as err:
        load_chat_jsonl(path)
    assert f"{path}:3" in str(err.value)


def test_empty_or_missing_sft_file(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(DataError, match="empty"):
        load_chat_jsonl(tmp_path / "empty.jsonl")
    with pytest.raises(DataError, match="no such file"):
        load_chat_jsonl(tmp_path / "missing.jsonl")


def test_replay_text_jsonl_parquet_round_trips(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "c.txt").write_text("\n".join([DOCS[0], "", DOCS[1], "  ", DOCS[2]]) + "\n",
                                    encoding="utf-8")
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"body": d, "id": i}) + "\n"
                                              for i, d in enumerate(DOCS)), encoding="utf-8")
    pq.write_table(pa.table({"text": DOCS, "n": [1, 2, 3]}), tmp_path / "c.parquet")
    assert load_texts(tmp_path / "c.txt") == DOCS
    assert load_texts(tmp_path / "c.jsonl", text_field="body") == DOCS
    assert load_texts(tmp_path / "c.parquet") == DOCS
    with pytest.raises(DataError, match="no column 'body'"):
        load_texts(tmp_path / "c.parquet", text_field="body")
    with pytest.raises(DataError, match=r"c.jsonl:1: expected an object with a string 'text'"):
        load_texts(tmp_path / "c.jsonl")


def test_replay_from_datasets_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"text": DOCS}).save_to_disk(str(tmp_path / "ds"))
    assert load_texts(f"datasets:{tmp_path / 'ds'}") == DOCS


def test_empty_or_unknown_corpus_fails(tmp_path):
    (tmp_path / "e.txt").write_text("\n \n")
    with pytest.raises(DataError, match="empty"):
        load_texts(tmp_path / "e.txt")
    (tmp_path / "c.csv").write_text("text\nx\n")
    with pytest.raises(DataError, match="unknown corpus format"):
        load_texts(tmp_path / "c.csv")


@pytest.mark.parametrize("ratio,batch,per_step", [(1.0, 4, 4), (0.5, 4, 2), (2.0, 3, 6),
                                                  (0.25, 8, 2)])
def test_mixer_ratio_is_exact_every_step(ratio, batch, per_step):
    mixer = ReplayMixer(10, 7, batch, KLReplayConfig(replay_ratio=ratio), seed=3)
    for step in range(12):
        sft, replay = mixer.indices(step)
        assert len(sft) == batch and len(replay) == per_step
        assert len(replay) == ratio * len(sft)
    # each epoch of each stream is a permutation: rows 0..N-1 exactly once
    sft = np.concatenate([mixer.indices(s)[0] for s in range(10)])  # 10 * 4.. rows
    assert sorted(sft[:10].tolist()) == list(range(10))
    replay = np.concatenate([mixer.indices(s)[1] for s in range(14)])
    assert sorted(replay[:7].tolist()) == list(range(7))
    assert sorted(replay[7:14].tolist()) == list(range(7))


def test_mixer_is_deterministic_per_seed():
    config = KLReplayConfig(replay_ratio=1.0)

    def stream(seed):
        mixer = ReplayMixer(9, 13, 3, config, seed=seed)
        return [np.concatenate(mixer.indices(s)).tolist() for s in range(20)]

    assert stream(5) == stream(5)
    assert stream(5) != stream(6)
    # step i alone (a resumed run) gives the same rows
    fresh = ReplayMixer(9, 13, 3, config, seed=5)
    assert np.concatenate(fresh.indices(17)).tolist() == stream(5)[17]
    sft_rows = {"tokens": np.arange(9)[:, None] * np.ones((1, 4), int)}
    replay_rows = {"tokens": 100 + np.arange(13)[:, None] * np.ones((1, 4), int)}
    sft, replay = next(iter(fresh.batches(sft_rows, replay_rows, steps=3, start=2)))
    i, j = fresh.indices(2)
    assert (sft["tokens"][:, 0] == i).all() and (replay["tokens"][:, 0] == 100 + j).all()


def test_mixer_without_replay_and_bad_inputs():
    naive = KLReplayConfig(beta=0.0, gamma=0.0, replay_ratio=0.0, kl_coverage="sft")
    mixer = ReplayMixer(5, 0, 2, naive)
    assert len(mixer.indices(0)[1]) == 0
    assert all(r is None for _, r in mixer.batches({"tokens": np.zeros((5, 3))}, None, 2))
    with pytest.raises(DataError, match="replay corpus is empty"):
        ReplayMixer(5, 0, 2, KLReplayConfig())
    with pytest.raises(ConfigError, match="whole number"):
        ReplayMixer(5, 5, 3, KLReplayConfig(replay_ratio=0.5))
    with pytest.raises(ValueError, match="sft_batch_size"):
        ReplayMixer(5, 5, 0, KLReplayConfig())
