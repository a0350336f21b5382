"""Operations: the nodes and functions the engines dispatch on."""

from symrnn.ops.functions import sigmoid
from symrnn.ops.nodes import EntryMax, LogSoftmax, Ratio, Softmax

__all__ = ["EntryMax", "LogSoftmax", "Ratio", "Softmax", "sigmoid"]
