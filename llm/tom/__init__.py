"""Literal vs functional theory of mind in repeated games (Riemer et al., 2024,
arXiv 2412.19726): partners with internal state, the optimal policy against them by dynamic
programming, accuracy/regret scoring, baselines, and a language-model agent with local, HTTP
and callable backends."""

from llm.tom.agent import LLMAgent
from llm.tom.backends import BackendError, CallableBackend, LocalBackend, OpenAIBackend
from llm.tom.baselines import (
    BASELINES,
    Frequency,
    LiteralOnly,
    Oracle,
    RMax,
    Transition,
)
from llm.tom.games import ACTION_NAMES, Game, make_game
from llm.tom.optimal import Planner
from llm.tom.parser import parse_answer
from llm.tom.partners import PARTNERS, make_partner
from llm.tom.prompts import STYLES
from llm.tom.scoring import Context, Decision, Episode, Round, partner_state, play

__all__ = [
    "ACTION_NAMES",
    "BASELINES",
    "PARTNERS",
    "STYLES",
    "BackendError",
    "CallableBackend",
    "Context",
    "Decision",
    "Episode",
    "Frequency",
    "Game",
    "LLMAgent",
    "LiteralOnly",
    "LocalBackend",
    "OpenAIBackend",
    "Oracle",
    "Planner",
    "RMax",
    "Round",
    "Transition",
    "make_game",
    "make_partner",
    "parse_answer",
    "partner_state",
    "play",
]
