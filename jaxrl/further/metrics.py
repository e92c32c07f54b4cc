"""The per-update metrics of a FURTHER run: one episode summarised from its per-step values."""

from __future__ import annotations

import jax.numpy as jnp


def episode_metrics(steps: dict, n) -> dict:
    """Means of the per-step metrics, the last gain ρ̂, agent 0's return and the steps so far."""
    metrics = {k: v.mean() for k, v in steps.items()}
    metrics["gain"] = steps["gain"][-1]
    metrics["episode_return"] = steps["reward/agent_0"].sum()
    metrics["env_steps"] = n.astype(jnp.float32)
    return metrics
