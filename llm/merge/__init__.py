"""Model merging over Hugging Face checkpoint directories, tensor by tensor (issue 12).

Methods (``llm.merge.methods``): linear, task_arithmetic, ties, dare_linear, dare_ties, slerp and
MergeAlign (Thakkar et al. 2025). Configs in mergekit's YAML form (``llm.merge.config``), run with
``merge(config, out_dir)`` or ``python -m llm.merge config.yaml OUT_DIR``. Similarity analysis in
``llm.merge.similarity``.
"""

from llm.merge.config import METHODS, MergeConfig, ModelSpec
from llm.merge.parents import MergeError, Parent, check_compatible
from llm.merge.run import merge
from llm.merge.similarity import (
    hidden_state_cka,
    layer_hidden_states,
    linear_cka,
    parent_contributions,
    task_vector_cosines,
)

__all__ = [
    "METHODS",
    "MergeConfig",
    "MergeError",
    "ModelSpec",
    "Parent",
    "check_compatible",
    "hidden_state_cka",
    "layer_hidden_states",
    "linear_cka",
    "merge",
    "parent_contributions",
    "task_vector_cosines",
]
