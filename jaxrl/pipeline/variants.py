"""The pipelined-network variants of Anokhin et al. (ICLR 2025), "Handling Delay in Real-Time
Reinforcement Learning", and how deep each one's observation path is.

* ``plain``: layer 1 reads the fresh observation, layer ``i > 1`` reads last tick's output of
  layer ``i - 1``; an input change reaches the output after exactly ``N`` ticks.
* ``skip`` (the reference code's "SlowSkip"): the head also reads the fresh observation and last
  tick's output of every hidden layer; the newest observation reaches the output in 1 tick.
* ``concat`` ("SlowConcat"): the fresh observation is concatenated into the input of every layer;
  1 tick as well.

Convention (the paper counts the same way): a tick's output is the head computed in that tick,
so "after ``k`` ticks" counts the tick in which the observation arrives as the first. With
``N = 1`` every variant is the ordinary network.
"""

VARIANTS = ("plain", "skip", "concat")


def observation_delay(variant: str, depth: int) -> int:
    """Ticks until an observation change reaches the output (counting its own tick)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown pipeline variant {variant!r}; expected one of {VARIANTS}")
    return depth if variant == "plain" else 1
