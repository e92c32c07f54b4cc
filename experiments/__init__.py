"""The experiments, run as ``python -m experiments.<name>``.

Importing the package applies the opt-in host-memory setting ``JAXRESEARCH_KEEP_HOST_MEMORY=1``
(``experiments.host_memory``) before JAX or torch start their threads.
"""

from experiments.host_memory import apply_from_environment

apply_from_environment()
