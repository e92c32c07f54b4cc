"""Equinox networks (pytrees built from a key): torsos, recurrent cells and encoders.

Recurrent pieces (``LSTMCell``, ``GRUCell``, ``TransformerCell``) share the cell contract
described in ``jaxrl.networks.rnn``.
"""

from jaxrl.networks.dense import Dense
from jaxrl.networks.impala_cnn import ImpalaCNN
from jaxrl.networks.init import linear, orthogonal
from jaxrl.networks.minatar_cnn import MinAtarCNN
from jaxrl.networks.mlp import MLP, activation
from jaxrl.networks.rnn import GRUCell, LSTMCell
from jaxrl.networks.transformer import TransformerCell, TransformerEncoder, WindowState

__all__ = [
    "Dense",
    "GRUCell",
    "ImpalaCNN",
    "LSTMCell",
    "MLP",
    "MinAtarCNN",
    "TransformerCell",
    "TransformerEncoder",
    "WindowState",
    "activation",
    "linear",
    "orthogonal",
]
