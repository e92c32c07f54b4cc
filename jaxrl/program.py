"""``TrainProgram``: what ``make_train(config)`` returns.

A training run is ``init(key[, config]) -> state`` followed by ``num_updates`` applications of
the pure ``update(state) -> (state, metrics)``. Calling the program runs the whole thing as one
scan, ``train(key) -> (final_state, metrics)`` with metrics stacked over updates, so seeds are
``jax.vmap(train)(keys)``. Agents that keep their config's hyperparameter leaves in the runner
state accept a config as the second argument, so a sweep is ``jax.vmap(train)(keys, configs)``
over a stacked config (its static, shape-determining fields must equal make_train's). The experiment harness instead calls ``run(state, n)`` chunk by
chunk to show progress and checkpoint between chunks; both give the same numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax


@dataclasses.dataclass(frozen=True)
class TrainProgram:
    init: Callable[[jax.Array], Any]
    update: Callable[[Any], tuple[Any, dict]]
    num_updates: int
    steps_per_update: int = 0  # environment steps per update (all parallel envs), for reporting

    def run(self, state, num_updates: int):
        """Apply ``update`` ``num_updates`` times in one ``lax.scan``."""
        return jax.lax.scan(lambda s, _: self.update(s), state, None, length=num_updates)

    def __call__(self, key: jax.Array, config=None):
        state = self.init(key) if config is None else self.init(key, config)
        return self.run(state, self.num_updates)
