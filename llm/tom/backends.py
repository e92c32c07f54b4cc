"""Where the language model's answers come from: ``complete(messages) -> str``.

``messages`` is a chat, a list of ``{"role", "content"}`` dicts (OpenAI's format).

* :class:`CallableBackend`: any Python function of the messages (tests, other libraries);
* :class:`LocalBackend`: the project's Flax Qwen on a local Hugging Face checkpoint
  (:func:`llm.load`), generating with :func:`llm.generate_text` through the tokenizer's chat
  template (or a plain "role: content" transcript when the tokenizer has none);
* :class:`OpenAIBackend`: an OpenAI-compatible ``/chat/completions`` endpoint (vLLM, llama.cpp
  server, …) over HTTP with the standard library only. Each request has a timeout; connection
  errors, timeouts, HTTP 429 and 5xx, and malformed responses are retried ``retries`` times
  with exponential backoff; other HTTP errors fail at once. Failures raise
  :class:`BackendError`, which the agent counts as an invalid round.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class BackendError(RuntimeError):
    """A backend could not produce an answer (after its retries)."""


class CallableBackend:
    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"CallableBackend needs a function of the messages, got {fn!r}")
        self.fn = fn

    def complete(self, messages) -> str:
        return str(self.fn(messages))


def transcript(messages) -> str:
    """A chat as plain text for tokenizers without a chat template, ending with the cue."""
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"


class LocalBackend:
    """Greedy (or sampled, ``temperature > 0``) generation with the project's Flax model.

    ``pad_to_multiple_of`` buckets prompt lengths so that a growing history recompiles the
    generation program only once per bucket."""

    def __init__(self, model, tokenizer, *, max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int = 0, pad_to_multiple_of: int = 128):
        if tokenizer is None:
            raise ValueError("LocalBackend needs a tokenizer (the checkpoint has none beside it)")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens={max_new_tokens} is invalid: expected >= 1")
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.seed, self.pad_to_multiple_of, self.calls = seed, pad_to_multiple_of, 0
        self.chat = getattr(tokenizer, "chat_template", None) is not None

    @classmethod
    def from_checkpoint(cls, path, **kwargs) -> LocalBackend:
        import llm

        model, tokenizer = llm.load(path)
        return cls(model, tokenizer, **kwargs)

    def complete(self, messages) -> str:
        import jax

        from llm.generate import generate_text

        prompt = list(messages) if self.chat else transcript(messages)
        key = jax.random.key(self.seed + self.calls) if self.temperature > 0 else None
        self.calls += 1
        return generate_text(self.model, self.tokenizer, [prompt], chat=self.chat,
                             max_new_tokens=self.max_new_tokens, key=key,
                             temperature=self.temperature, top_p=self.top_p,
                             pad_to_multiple_of=self.pad_to_multiple_of)[0]


class OpenAIBackend:
    """POST ``{base_url}/chat/completions`` and return ``choices[0].message.content``."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 3, backoff: float = 1.0,
                 temperature: float = 0.0, max_tokens: int = 256, sleep=time.sleep):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url={base_url!r} must start with http:// or https://")
        if timeout <= 0:
            raise ValueError(f"timeout={timeout} is invalid: expected seconds > 0")
        if retries < 0:
            raise ValueError(f"retries={retries} is invalid: expected an integer >= 0")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout = model, api_key, timeout
        self.retries, self.backoff, self.sleep = retries, backoff, sleep
        self.temperature, self.max_tokens = temperature, max_tokens

    def _request(self, messages) -> str:
        body = json.dumps({"model": self.model, "messages": list(messages),
                           "temperature": self.temperature,
                           "max_tokens": self.max_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            raw = response.read()
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Malformed(f"malformed response {raw[:200]!r}") from err
        if not isinstance(content, str):
            raise _Malformed(f"message content is {type(content).__name__}, not a string")
        return content

    def complete(self, messages) -> str:
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self._request(messages)
            except urllib.error.HTTPError as err:
                if err.code not in RETRY_STATUS:
                    raise BackendError(f"{self.url}: HTTP {err.code} {err.reason}") from err
                last = f"HTTP {err.code} {err.reason}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, _Malformed) as err:
                last = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
        raise BackendError(f"{self.url}: no answer after {self.retries + 1} attempts ({last})")


class _Malformed(Exception):
    pass
