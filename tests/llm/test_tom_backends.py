"""LLM backends: the HTTP client against a fake OpenAI-compatible server on 127.0.0.1, the
callable backend, and the local Flax backend on a tiny random checkpoint."""

import http.server
import json
import re
import shutil
import socket
import threading
import time

import pytest
from conftest import VOCAB

from llm.generate import generate_text
from llm.tom import (
    BackendError,
    CallableBackend,
    LLMAgent,
    LocalBackend,
    OpenAIBackend,
    make_game,
    make_partner,
    play,
)
from llm.tom.prompts import first_messages

MESSAGES = [{"role": "user", "content": "Prediction? Action?"}]


class FakeServer:
    """Answers POSTs from a script of behaviours, one per request (the last one repeats):
    ("ok", content) | ("status", code) | ("raw", bytes) | ("sleep", seconds)."""

    def __init__(self, script):
        self.script, self.requests = list(script), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, dict(self.headers), body))
                kind, arg = server.script[min(len(server.requests), len(server.script)) - 1]
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "ok", "late"
                if kind == "status":
                    self.send_error(arg)
                    return
                payload = arg if kind == "raw" else json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": arg}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def client(url, **kwargs):
    sleeps = []
    kwargs.setdefault("retries", 2)
    return OpenAIBackend(url, "test-model", sleep=sleeps.append, **kwargs), sleeps


def test_http_backend_returns_the_message_content_and_sends_the_request():
    with FakeServer([("ok", "Prediction: Rock\nAction: Paper")]) as server:
        backend, sleeps = client(server.url, api_key="sk-test", temperature=0.5, max_tokens=7)
        assert backend.complete(MESSAGES) == "Prediction: Rock\nAction: Paper"
    (path, headers, body), = server.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body == {"model": "test-model", "messages": MESSAGES, "temperature": 0.5,
                    "max_tokens": 7}
    assert sleeps == []


def test_http_backend_retries_server_errors_with_backoff():
    with FakeServer([("status", 503), ("status", 429), ("ok", "fine")]) as server:
        backend, sleeps = client(server.url, backoff=0.5)
        assert backend.complete(MESSAGES) == "fine"
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_http_backend_does_not_retry_client_errors():
    with FakeServer([("status", 401), ("ok", "never")]) as server:
        backend, _ = client(server.url)
        with pytest.raises(BackendError, match="HTTP 401"):
            backend.complete(MESSAGES)
    assert len(server.requests) == 1


@pytest.mark.parametrize("payload", [b"not json", b"{\"choices\": []}", b"[1, 2]",
                                     b"{\"choices\": [{\"message\": {\"content\": null}}]}"])
def test_http_backend_bad_json_is_retried_then_an_error(payload):
    with FakeServer([("raw", payload)]) as server:
        backend, sleeps = client(server.url, retries=2)
        with pytest.raises(BackendError, match="3 attempts"):
            backend.complete(MESSAGES)
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_http_backend_times_out_and_recovers():
    with FakeServer([("sleep", 1.0), ("ok", "second try")]) as server:
        backend, _ = client(server.url, timeout=0.2, retries=1)
        assert backend.complete(MESSAGES) == "second try"
    with FakeServer([("sleep", 1.0)]) as server:
        backend, _ = client(server.url, timeout=0.2, retries=0)
        with pytest.raises(BackendError, match="1 attempts.*(timed out|timeout)"):
            backend.complete(MESSAGES)


def test_http_backend_connection_refused():
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend, _ = client(f"http://127.0.0.1:{port}", retries=1)
    with pytest.raises(BackendError, match="2 attempts"):
        backend.complete(MESSAGES)


def test_backend_arguments_are_checked():
    with pytest.raises(ValueError, match="base_url"):
        OpenAIBackend("127.0.0.1:8000", "m")
    with pytest.raises(ValueError, match="timeout"):
        OpenAIBackend("http://x", "m", timeout=0)
    with pytest.raises(ValueError, match="style"):
        LLMAgent(CallableBackend(lambda m: ""), "shout")


def test_agent_counts_backend_failures_and_bad_answers_as_invalid():
    game = make_game("rock_paper_scissors")
    rock = make_partner("constant", game)
    with FakeServer([("ok", "Prediction: Rock\nAction: Paper"), ("raw", b"{}"),
                     ("ok", "I refuse."), ("ok", "Prediction: Rock\nAction: Paper")]) as server:
        backend, _ = client(server.url, retries=0)
        agent = LLMAgent(backend, "plain")
        episode = play(game, rock, agent, 4, seed=0)
    assert [r.valid for r in episode.rounds] == [True, False, False, True]
    assert agent.invalid == 2 and agent.backend_errors == 1
    assert [r.prediction for r in episode.rounds] == [0, None, None, 0]
    assert episode.rounds[0].action == episode.rounds[3].action == 1
    assert episode.accuracy == 0.5


def test_predict_then_act_makes_two_calls_with_the_prediction_in_context():
    seen = []

    def model(messages):
        seen.append(messages)
        return "Prediction: Rock" if len(messages) == 2 else "Action: Paper"

    game = make_game("rock_paper_scissors")
    episode = play(game, make_partner("constant", game), LLMAgent(CallableBackend(model),
                                                                 "predict_then_act"), 3, 0)
    assert len(seen) == 6
    assert seen[1][2] == {"role": "assistant", "content": "Prediction: Rock"}
    assert episode.regret == 0.0 and episode.accuracy == 1.0 and episode.invalid_rate == 0.0


def word_tokenizer(texts, size):
    """A word-level ChatML tokenizer over the words of ``texts``, filled up to ``size`` ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]+", t)})
    words = ["[UNK]", "system", "user", "assistant", *words]
    words += [f"w{i}" for i in range(size - len(specials) - len(words))]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)},
                                      unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
                "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                "{% endif %}")
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="[UNK]",
                                   additional_special_tokens=["<|im_start|>"],
                                   chat_template=template)


@pytest.fixture(scope="module")
def tiny_checkpoint(qwen2_dir, tmp_path_factory):
    """The suite's random Qwen2 (copied) with a word-level chat tokenizer beside it."""
    directory = tmp_path_factory.mktemp("tom_qwen2")
    for f in qwen2_dir[0].iterdir():
        shutil.copy(f, directory / f.name)
    game = make_game("prisoners_dilemma")
    texts = [m["content"] for h in ((), ((0, 1),)) for m in first_messages("plain", game, 2, h)]
    word_tokenizer(texts, VOCAB).save_pretrained(str(directory))
    return directory


def test_local_backend_runs_and_its_garbage_falls_back(tiny_checkpoint):
    backend = LocalBackend.from_checkpoint(tiny_checkpoint, max_new_tokens=6,
                                           pad_to_multiple_of=128)
    assert backend.chat
    game = make_game("prisoners_dilemma")
    agent = LLMAgent(backend, "plain")
    episode = play(game, make_partner("tit_for_tat", game), agent, 2, seed=0)
    assert agent.rounds_played == 2 and backend.calls == 2
    assert agent.invalid == sum(not r.valid for r in episode.rounds)
    assert agent.invalid == 2  # a random 6-token answer names no labelled action
    assert all(0 <= r.action < 2 and r.prediction is None for r in episode.rounds)
    # the text is exactly what the project's generate_text gives on the same chat
    messages = first_messages("plain", game, 2, ((episode.rounds[0].action, 0),))
    expected = generate_text(backend.model, backend.tokenizer, [messages], chat=True,
                             max_new_tokens=6, pad_to_multiple_of=128)[0]
    assert episode.rounds[1].text == expected and isinstance(expected, str)
