"""Operations: the table of nodes and scalar functions that the engines dispatch on.

``register(entry)`` adds a :class:`Rule` (a matrix node class: its VJP, explicit form, evaluation, NumPy code and
how the backward pass saves it) or a :class:`Scalar` (a function applied entrywise: derivative through the output,
evaluation, LaTeX name); ``lookup(node_or_class)`` returns the entry (:class:`UnknownOperation` if none), ``find``
returns None instead; ``unregister(entry)`` takes it out again, ``with registered(*entries):`` registers for a block.
``scalar_function(name, definition, ...)`` makes and registers a new entrywise function in one call.
Details: :mod:`symrnn.ops.registry`.
"""

from symrnn.ops.entrymax import EntryMax
from symrnn.ops.functions import identity, relu, scalar_function, sigmoid, softplus
from symrnn.ops.ratio import Ratio
from symrnn.ops.registry import Rule, Scalar, UnknownOperation, find, lookup, register, registered, unregister
from symrnn.ops.softmax import LogSoftmax, Softmax

__all__ = ["EntryMax", "LogSoftmax", "Ratio", "Rule", "Scalar", "Softmax", "UnknownOperation", "find", "identity",
           "lookup", "register", "registered", "relu", "scalar_function", "sigmoid", "softplus", "unregister"]
