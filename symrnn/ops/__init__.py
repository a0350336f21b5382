"""Operations: the table of nodes and scalar functions that the engines dispatch on.

``register(entry)`` adds a :class:`Rule` (a matrix node class: its VJP, explicit form, evaluation, NumPy code and
how the backward pass saves it) or a :class:`Scalar` (a function applied entrywise: derivative through the output,
evaluation, LaTeX name); ``lookup(node_or_class)`` returns the entry (:class:`UnknownOperation` if none), ``find``
returns None instead.  ``scalar_function(name, definition, ...)`` makes and registers a new entrywise function in
one call.  Details: :mod:`symrnn.ops.registry`.
"""

from symrnn.ops.entrymax import EntryMax
from symrnn.ops.functions import identity, relu, scalar_function, sigmoid, softplus
from symrnn.ops.ratio import Ratio
from symrnn.ops.registry import Rule, Scalar, UnknownOperation, find, lookup, register
from symrnn.ops.softmax import LogSoftmax, Softmax

__all__ = ["EntryMax", "LogSoftmax", "Ratio", "Rule", "Scalar", "Softmax", "UnknownOperation", "find", "identity",
           "lookup", "register", "relu", "scalar_function", "sigmoid", "softplus"]
