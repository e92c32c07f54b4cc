"""Interleaves SFT rows with replay rows at an exact, fixed ratio, deterministically per seed.

Every step takes ``sft_batch_size`` SFT rows and ``replay_ratio * sft_batch_size`` replay rows
(a whole number, or ``ConfigError``), so the ratio holds exactly in every step, not only on
average, and batch shapes never change (one compilation). Each source is read as a stream of
epochs, epoch ``e`` a permutation drawn from ``numpy.random.default_rng([seed, source, e])``;
a step's rows are the next slice of that stream, so step ``i`` is a pure function of
(seed, i) and sizes, and a run resumed at step i sees the same rows. Each row appears once per
epoch of its own source (the replay corpus usually cycles at a different rate than the SFT set).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from llm.kl_replay.config import KLReplayConfig
from llm.kl_replay.sft_data import DataError

SFT, REPLAY = 0, 1


class ReplayMixer:
    """Row indices of step ``i``: ``mixer.indices(i) -> (sft_idx, replay_idx)``."""

    def __init__(self, num_sft: int, num_replay: int, sft_batch_size: int,
                 config: KLReplayConfig, seed: int = 0):
        for name, value, low in (("num_sft", num_sft, 1), ("num_replay", num_replay, 0),
                                 ("sft_batch_size", sft_batch_size, 1), ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < low:
                raise ValueError(f"ReplayMixer: {name}={value!r} is invalid: expected an "
                                 f"integer >= {low}")
        self.replay_batch_size = config.replay_rows(sft_batch_size) if config.uses_replay else 0
        if self.replay_batch_size and num_replay == 0:
            raise DataError("ReplayMixer: the replay corpus is empty but replay_ratio="
                            f"{config.replay_ratio} asks for {self.replay_batch_size} replay "
                            "rows per step")
        self.sizes = (int(num_sft), int(num_replay))
        self.sft_batch_size = int(sft_batch_size)
        self.seed = int(seed)
        self._epochs: dict[tuple[int, int], np.ndarray] = {}

    def _epoch(self, source: int, epoch: int) -> np.ndarray:
        key = (source, epoch)
        if key not in self._epochs:
            if len(self._epochs) > 64:
                self._epochs.clear()
            rng = np.random.default_rng([self.seed, source, epoch])
            self._epochs[key] = rng.permutation(self.sizes[source])
        return self._epochs[key]

    def _slice(self, source: int, start: int, count: int) -> np.ndarray:
        n = self.sizes[source]
        out = [self._epoch(source, p // n)[p % n] for p in range(start, start + count)]
        return np.asarray(out, np.int64)

    def indices(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(SFT row indices [sft_batch_size], replay row indices [replay_batch_size])."""
        b, r = self.sft_batch_size, self.replay_batch_size
        return self._slice(SFT, step * b, b), self._slice(REPLAY, step * r, r)

    def batches(self, sft_rows: dict, replay_rows: dict | None, steps: int,
                start: int = 0) -> Iterator[tuple[dict, dict | None]]:
        """Numpy batches of steps start..steps-1 from row arrays ([N, T] each)."""
        for step in range(start, steps):
            i, j = self.indices(step)
            sft = {k: v[i] for k, v in sft_rows.items()}
            replay = ({k: v[j] for k, v in replay_rows.items()}
                      if self.replay_batch_size else None)
            yield sft, replay
