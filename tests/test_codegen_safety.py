"""No code from input: hostile names planted into every public API that generates code are refused with
:class:`symrnn.numeric.guard.UnsafeName` naming them, and nothing they would run does (no file, no output)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn import ops
from symrnn.autodiff import matcalc
from symrnn.autodiff.training import compile_bptt
from symrnn.models import cells, losses
from symrnn.models import log_forward as lf
from symrnn.models import nonlinearities as nl
from symrnn.numeric import codegen, guard
from symrnn.numeric.guard import UnsafeName
from symrnn.ops.evaluation import Numbers

PAYLOAD = "__import__('os').system('touch {marker}') or print('PWNED') or abs"
#: Names that would run code, shadow a builtin or become one after Unicode normalisation (``ｅｘｅｃ`` is ``exec``).
HOSTILE = [PAYLOAD, "print", "exec", "eval", "open", "__class__", "__import__", "a'b", "a b", "a\nb", "lambda",
           "ｅｘｅｃ", "x" * 101]
v = sp.MatrixSymbol("v", 3, 1)
e = sp.Dummy("e")


@pytest.fixture(params=HOSTILE, ids=lambda n: "payload" if n == PAYLOAD else repr(n)[:12])
def hostile(request, tmp_path, capsys):
    """A hostile name (the payload would create ``tmp_path/pwned`` and print); afterwards nothing may have run."""
    marker = tmp_path / "pwned"
    yield request.param.format(marker=marker) if request.param == PAYLOAD else request.param
    assert not marker.exists(), "the planted payload ran"
    assert capsys.readouterr().out == "", "something printed"


def refused():
    """``pytest.raises(UnsafeName)``; :func:`_named` then checks that the error names the offender."""
    return pytest.raises(UnsafeName, match=r"refused before code generation")


def _named(err, name: str) -> None:
    assert err.value.name == name and repr(name)[:50] in str(err.value)


# ---- every public API that generates code ----------------------------------------------------------------------


def test_custom_nonlinearity(hostile):
    f = sp.Function(hostile)
    with refused() as err:
        nl.custom("mine", lambda z: f(z) + 1).numpy(np.ones(3))
    _named(err, hostile)


def test_nonlinearity_objects(hostile):
    f = sp.Function(hostile)
    with refused() as err:  # the function that the cells apply at matrix level
        nl.Nonlinearity("mine", "planted", lambda xi: xi.applyfunc(f), None, scalar=f, function=f)
    _named(err, hostile)
    only_scalar = nl.Nonlinearity("mine", "planted", lambda xi: xi.applyfunc(f), None, scalar=f)
    with refused() as err:  # a scalar alone reaches code through the cell: refused there
        compiled = compile_bptt(cells.rnn(2, 2, g=only_scalar), losses.squared_error())
        compiled.loss({"U": np.eye(2), "W": np.eye(2)}, np.ones((2, 2)), np.ones((2, 2)))
    _named(err, hostile)


def test_compile_bptt(hostile):
    cell = cells.elman(2, 2, f=sp.Function(hostile))
    params = {"U": np.eye(2), "W": np.eye(2), "b": np.zeros((2, 1))}
    with refused() as err:
        compile_bptt(cell, losses.squared_error()).loss_and_grads(params, np.ones((2, 2)), np.ones((2, 2)))
    _named(err, hostile)


def test_kernel_functions_and_names(hostile):
    f = sp.Function(hostile)
    with refused() as err:
        codegen.kernel([v], v.applyfunc(f), "k")(np.ones((3, 1)))
    _named(err, hostile)
    with refused() as err:
        codegen.kernel([v], v, hostile)(np.ones((3, 1)))
    _named(err, hostile)
    bound = sp.Symbol(hostile)
    with refused() as err:  # a variable name inside an elementwise function
        codegen.kernel([v], v.applyfunc(sp.Lambda(bound, 2 * bound)), "k")(np.ones((3, 1)))
    _named(err, hostile)
    with pytest.raises(ValueError, match="not arguments"):  # a free symbol that is not an argument
        codegen.kernel([v], v + sp.MatrixSymbol(hostile, 3, 1), "k")(np.ones((3, 1)))


def test_kernel_arguments_are_renamed(hostile):
    a, b = sp.MatrixSymbol(hostile, 2, 1), sp.MatrixSymbol(hostile + "_", 2, 1)
    fn = codegen.kernel([a, b], a.applyfunc(sp.exp) + b, "k")
    names = list(inspect.signature(fn).parameters)
    assert len(set(names)) == 2 and all(guard.check_name(n) == n for n in names)
    np.testing.assert_allclose(fn(np.zeros((2, 1)), np.ones((2, 1))), 2 * np.ones((2, 1)))


@pytest.mark.parametrize("module", ["mpmath", "numpy"])
def test_matcalc_evaluate(hostile, module):
    values = {v: np.ones((3, 1), dtype=object if module == "mpmath" else float)}
    with refused() as err:
        matcalc.evaluate(v.applyfunc(sp.Function(hostile)), values, module)
    _named(err, hostile)
    with refused() as err:  # a free name inside the function's body
        matcalc.evaluate(v.applyfunc(sp.Lambda(e, e + sp.Symbol(hostile))), values, module)
    _named(err, hostile)
    with refused():
        Numbers(module).apply(sp.Function(hostile), values[v])


def test_log_forward_step(hostile):
    planted = nt.elementwise(sp.Function(hostile), lf.U * nt.elementwise(sp.exp, lf.a_prev)) + lf.l_t
    with refused() as err:
        lf.step_kernel(planted)(np.eye(2), np.zeros((2, 1)), np.zeros((2, 1)))
    _named(err, hostile)


def test_registering_does_not_make_a_name_safe(hostile):
    f = sp.Function(hostile)
    with refused():
        ops.scalar_function(hostile, lambda z: z)
    with ops.registered(ops.Scalar(f, r"\operatorname{f}")), refused() as err:
        codegen.kernel([v], v.applyfunc(f), "k")(np.ones((3, 1)))
    _named(err, hostile)


# ---- the rule itself -----------------------------------------------------------------------------------------


def test_allowed_and_registered_functions_pass():
    z = sp.Symbol("z")
    guard.vet(sp.atan(z) + sp.Max(z, 0) + sp.Heaviside(z) + ops.sigmoid(z) + ops.softplus(z))
    assert nl.custom("arctan", sp.atan).numpy(np.array([1.0]))[0] == pytest.approx(np.pi / 4)
    ok = lf.step_kernel()
    a = np.log(np.array([[0.2], [0.8]]))
    u = np.array([[0.9, 0.2], [0.1, 0.8]])
    np.testing.assert_allclose(ok(u, a, np.zeros((2, 1))), np.log(u @ np.exp(a)), rtol=1e-14)


def test_unregistered_or_subclassed_functions_are_refused():
    sneaky = type("sneaky", (ops.sigmoid,), {})  # inherits a registered entry, but is not registered itself
    for f in (sp.Function("g"), sp.Function("softplus"), sneaky, sp.Function("sigmoid")):
        with pytest.raises(UnsafeName, match="neither a known SymPy function nor registered"):
            guard.vet(f(sp.Symbol("z")))
    with pytest.raises(UnsafeName, match="MutableDenseMatrix"):  # printed through str(), so refused
        guard.vet(sp.Matrix([1]))
    assert guard.safe_identifier("h_{t-1}") == "h_t_1" and guard.safe_identifier("print") == "print_"
    assert guard.safe_identifier("ｅｘｅｃ") == "v" and guard.safe_identifier("__class__") == "class_"
