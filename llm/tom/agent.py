"""The language-model agent: prompt with the history, parse a prediction and an action.

A round whose answer lacks a valid prediction or a valid action (see :mod:`llm.tom.parser`), or
whose backend call failed (:class:`llm.tom.backends.BackendError` after its retries), is invalid:
the agent then plays a uniformly random action (and gives no prediction if none parsed).
``invalid`` and ``backend_errors`` count such rounds over the agent's lifetime.
"""

from __future__ import annotations

from llm.tom.backends import BackendError
from llm.tom.parser import parse_answer
from llm.tom.prompts import STYLES, act_messages, first_messages
from llm.tom.scoring import Context, Decision


class LLMAgent:
    def __init__(self, backend, style: str = "plain"):
        if style not in STYLES:
            raise ValueError(f"unknown prompt style {style!r}; expected one of "
                             f"{', '.join(STYLES)}")
        if not callable(getattr(backend, "complete", None)):
            raise TypeError("backend must have a complete(messages) -> str method; wrap a plain "
                             "function with llm.tom.CallableBackend")
        self.backend, self.style = backend, style
        self.rounds_played = self.invalid = self.backend_errors = 0

    def reset(self, context: Context):
        self.game, self.rounds, self.rng = context.game, context.rounds, context.rng

    def _call(self, messages) -> str | None:
        try:
            return self.backend.complete(messages)
        except BackendError:
            self.backend_errors += 1
            return None

    def act(self, history) -> Decision:
        names = self.game.actions
        messages = first_messages(self.style, self.game, self.rounds, history)
        text = self._call(messages)
        prediction, action = parse_answer(text, names)
        texts = [text]
        if self.style == "predict_then_act" and text is not None:
            reply = self._call(act_messages(messages, text))
            texts.append(reply)
            action = parse_answer(reply, names)[1]
        self.rounds_played += 1
        valid = prediction is not None and action is not None
        if not valid:
            self.invalid += 1
        if action is None:
            action = int(self.rng.integers(self.game.num_actions))
        answered = [t for t in texts if t is not None]
        return Decision(prediction, action, valid, "\n---\n".join(answered) if answered else None)

    @property
    def invalid_rate(self) -> float:
        return self.invalid / self.rounds_played if self.rounds_played else 0.0
