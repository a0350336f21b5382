"""The table of scalar functions applied entrywise: SymPy's tanh, exp, log, Heaviside, and symrnn's sigmoid,
softplus, relu and identity.

Each entry (:class:`symrnn.ops.registry.Scalar`) owns its derivative (the class's ``fdiff``; ``by_output`` where
the output gives it more cheaply), its NumPy code (SymPy's printer, or the class's ``_numpycode``), its evaluation
on mpmath numbers and floats (SymPy's, or ``definition``) and its LaTeX name.  :func:`scalar_function` makes and
registers a new one in one call.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.core.function import ArgumentIndexError

from symrnn.numeric import guard
from symrnn.ops.registry import Scalar, register


class sigmoid(sp.Function):  # noqa: N801 - a SymPy function, named like sp.tanh
    """The logistic sigmoid ``1 / (1 + e^{-z})``; its derivative is ``sigma (1 - sigma)``."""

    def fdiff(self, argindex: int = 1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _numpycode(self, printer) -> str:
        np_ = printer._module_format("numpy")
        arg = printer._print(self.args[0])
        name = printer.in_place(self.args[0]) if hasattr(printer, "in_place") else None
        if name is not None:  # the argument is a new array, bound to name: four passes over it, no other array
            half = f"{np_}.multiply({arg}, 0.5, out={name})"
            return f"{np_}.multiply({np_}.add({np_}.tanh({half}, out={name}), 1, out={name}), 0.5, out={name})"
        return f"(0.5*(1 + {np_}.tanh(0.5*({arg}))))"  # never overflows

    def _lecture_latex(self, printer, exp=None) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


def scalar_function(name: str, definition: Callable[[sp.Expr], sp.Expr], *,
                    derivative: Callable[[sp.Expr], sp.Expr] | None = None,
                    by_output: Callable[[sp.Expr], sp.Expr] | None = None,
                    numpy: str | None = None, latex: str | None = None) -> type:
    """A new SymPy function class ``name(z)``, registered in the table, owning all its rules.

    ``definition(z)``: the function in SymPy's own functions (evaluation, ``evalf``); ``derivative(z)``: ``f'(z)``
    (default: differentiate the definition); ``by_output(y)``: ``f'`` through the output; ``numpy``: NumPy code
    with ``{numpy}`` for the module and ``{x}`` for the argument (default: the definition, printed);
    ``latex``: the LaTeX name (default ``\\operatorname{name}``).  The name must be a safe identifier
    (:func:`symrnn.numeric.guard.check_name`; else :class:`~symrnn.numeric.guard.UnsafeName`, a ValueError).
    """
    guard.check_name(name, "function")
    latex = latex or rf"\operatorname{{{name}}}"

    def fdiff(self, argindex: int = 1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        z = self.args[0]
        return derivative(z) if derivative is not None else sp.diff(definition(z), z)

    def _numpycode(self, printer) -> str:
        if numpy is None:
            return printer._print(definition(self.args[0]))
        arg = printer._print(self.args[0])
        return numpy.format(numpy=printer._module_format("numpy"), x=arg if arg.isidentifier() else f"({arg})")

    def _lecture_latex(self, printer, exp=None) -> str:
        return rf"{latex}\left({printer._print(self.args[0])}\right)"

    def eval(cls, arg):  # noqa: A001 - SymPy's hook: numbers evaluate, as exp(0) does
        return definition(arg) if arg.is_Number else None

    namespace = {"nargs": 1, "eval": classmethod(eval), "fdiff": fdiff, "_numpycode": _numpycode,
                 "_lecture_latex": _lecture_latex,
                 "_eval_evalf": lambda self, prec: definition(self.args[0]).evalf(prec),
                 "__doc__": f"{name}(z) = {definition(sp.Symbol('z'))} (symrnn.ops.scalar_function)"}
    cls = type(name, (sp.Function,), namespace)
    register(Scalar(cls, latex, by_output=by_output, definition=definition))
    return cls


def _step(z, h0=sp.S.Half):
    return sp.Piecewise((1, z > 0), (0, z < 0), (h0, True))


register(Scalar(sp.tanh, r"\tanh", by_output=lambda y: 1 - y**2))
register(Scalar(sp.exp, r"\exp", by_output=lambda y: y))
register(Scalar(sp.log, r"\ln"))
register(Scalar(sigmoid, r"\sigma", by_output=lambda y: y * (1 - y), definition=lambda z: 1 / (1 + sp.exp(-z))))
register(Scalar(sp.Heaviside, r"\theta", definition=_step))

softplus = scalar_function("softplus", lambda z: sp.log(1 + sp.exp(z)), derivative=sigmoid,
                           numpy="{numpy}.logaddexp(0, {x})")
relu = scalar_function("relu", lambda z: sp.Max(0, z), derivative=lambda z: sp.Heaviside(z, 0),
                       by_output=lambda y: sp.Heaviside(y, 0), numpy="{numpy}.maximum({x}, 0)")
identity = scalar_function("identity", lambda z: z, derivative=lambda z: sp.S.One, numpy="{x}",
                           latex=r"\operatorname{id}")
