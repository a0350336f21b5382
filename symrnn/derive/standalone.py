"""``NAME_bptt.py``: a cell's loss and gradients as a module that imports only NumPy (no symrnn).

The kernels are :func:`symrnn.autodiff.training.compile_bptt`'s own, as their generated source (SymPy's
``lambdify`` text from the vetted printer, :mod:`symrnn.numeric.codegen`), renamed, with what is hoisted out of the
loop (:mod:`symrnn.autodiff.hoisting`: every ``W x_t`` before it, every ``sum_t A_t B_t^T`` after it); the loop over
t around them is the source of :mod:`symrnn.autodiff.loop`'s functions, the very code
:meth:`~symrnn.autodiff.training.Compiled.loss_and_grads` runs, so the two agree to the last bit; :data:`INTERFACE`
is a fixed text that checks the arrays and calls it.  The docstring carries the equations (the cell as read, the
recursion, the gradients, what is hoisted) in LaTeX.

Nothing from the user's text becomes code: parameter names were refused by :func:`symrnn.derive.read_cell` unless
they are safe identifiers (:mod:`symrnn.numeric.guard`), the kernels' names are the code generator's sanitised
ones, and each kernel's syntax tree is checked (:func:`vet_kernel`) to hold only arithmetic, NumPy calls and its own
arguments and locals before it is written; the module is parsed whole once more at the end.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
from dataclasses import dataclass

from symrnn import notation as nt
from symrnn.autodiff import loop
from symrnn.autodiff.kernels import Kernels
from symrnn.autodiff.training import Compiled, compile_bptt
from symrnn.derive import shown
from symrnn.derive.checks import Spec
from symrnn.latex.printer import latex
from symrnn.numeric import guard

#: Syntax a kernel may hold: arithmetic, calls, attributes, tuples and lists, lambdas, numbers.
_ALLOWED_NODES = (ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Assign, ast.Return, ast.Name, ast.Load,
                  ast.Store, ast.Attribute, ast.Call, ast.BinOp, ast.UnaryOp, ast.Tuple, ast.Constant, ast.Lambda,
                  ast.keyword, ast.operator, ast.unaryop, ast.List,  # lists: numpy.select's (ReLU's derivative)
                  ast.NamedExpr)  # (_a0 := U @ h): the new array an operation then writes into


@dataclass(frozen=True)
class Made:
    """The module's source, and the compiled model whose kernels it holds."""

    source: str
    compiled: Compiled


def vet_kernel(source: str, name: str) -> str:
    """``source`` (one generated ``def``) renamed to ``name``, if its syntax tree holds only what a kernel needs:
    arithmetic, tuples, numbers, lambdas, calls of ``numpy`` functions and methods, and names that are its own
    arguments, locals or ``numpy``.  Anything else is a ValueError (nothing is run)."""
    tree = ast.parse(textwrap.dedent(source))
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise ValueError("a generated kernel must be one function definition")
    fn = tree.body[0]
    known = {"numpy"} | {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}
    known |= {t.id for node in ast.walk(fn) if isinstance(node, ast.Assign) for t in node.targets
              if isinstance(t, ast.Name)}
    known |= {node.target.id for node in ast.walk(fn) if isinstance(node, ast.NamedExpr)}
    for node in ast.walk(fn):
        if not isinstance(node, _ALLOWED_NODES) or (isinstance(node, ast.FunctionDef) and node is not fn):
            raise ValueError(f"a generated kernel holds {type(node).__name__}, which a kernel never needs")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):  # bool is an int
            raise ValueError(f"a generated kernel holds the constant {node.value!r}")
        if isinstance(node, ast.Name) and node.id not in known:
            raise ValueError(f"a generated kernel names {node.id!r}, neither an argument, a local nor numpy")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError(f"a generated kernel reaches the private attribute {node.attr!r}")
    lines = textwrap.dedent(source).splitlines()
    head = f"def {fn.name}("
    if not lines[0].startswith(head):
        raise ValueError("a generated kernel must start with its def")
    return "\n".join([f"def {name}(" + lines[0][len(head):], *lines[1:]]) + "\n"


def _doc_text(text: str) -> str:
    """Text safe inside the module's raw docstring: printable ASCII, no double quotes, no trailing backslash."""
    out = "".join(c if 32 <= ord(c) < 127 or c == "\n" else "?" for c in text).replace('"', "'")
    return out.rstrip("\\")


def _wrapped(label: str, formula: str) -> list[str]:
    return textwrap.wrap(f"{label}{formula}", 116, initial_indent="    ", subsequent_indent="        ",
                         break_on_hyphens=False, break_long_words=False)


def docstring(spec: Spec, compiled: Compiled, cell_text: shown.CellText) -> str:
    """The module's docstring: what it is, the equations in LaTeX, the shapes."""
    b, cell = compiled.bptt, compiled.cell
    q = cell.n_output
    sizes = f"N = {cell.n_state}, D = {cell.n_input}" + (f", Q = {q} (the output's size)" if q != cell.n_state
                                                          else ", Q = N")
    over = ("summed over t and the batch" if b.loss.summed else
            "summed over the batch and averaged over t (divided by T)" if b.loss.scale == 1 / nt.T else
            f"summed over t and the batch, times {b.loss.scale}")
    out = [f"{spec.name}: back-propagation through time for the cell below, generated by symrnn derive.",
           "", "Imports only NumPy.  A batch of B sequences is columns: xs (T, D, B), states (N, B); targets ys",
           f"(T, Q, B){' or integer classes (T, B)' if compiled.loss_kind == 'cross-entropy' else ''}.  "
           f"{sizes}; loss: {b.loss.name}, {over}" + ("" if b.loss.summed else
                                                      "; the loss and every gradient carry the factor") + ".",
           "", "The cell (LaTeX), in the order computed:"]
    style = cell_text.style
    for eq in cell_text.equations:
        out += _wrapped("", latex(eq.equation, style=style))
    out += ["", "The loss: " + b.loss.latex, "",
            "The back-propagated error of each state (rho_t: its part through step t+1, rho_T = 0):"]
    for s in cell.states:
        out += _wrapped(f"dL/d{s}_t = ", latex(b.seed[s], style=style))
        out += _wrapped(f"{_rho_text(b, s)}_(t-1) = ", latex(b.recurrent[s], style=style))
    out += ["", "Each parameter's gradient, summed over t = 1..T:"]
    for name, expr in b.param_grads.items():
        out += _wrapped(f"dL/d{name} += ", latex(expr, style=style))
    return _doc_text("\n".join(out))


INTERFACE = '''

def _arrays(params):
    if not isinstance(params, dict) or set(params) != set(PARAMS):
        raise ValueError(f"params must be a dict with exactly the keys {list(PARAMS)}")
    out = []
    for name, shape in PARAMS.items():
        value = numpy.asarray(params[name], dtype=numpy.float64)
        if value.shape != shape:
            raise ValueError(f"parameter {name} must have shape {shape}, got {value.shape}")
        out.append(value)
    return out


def _inputs(xs):
    xs = numpy.asarray(xs, dtype=numpy.float64)
    batched = xs.ndim == 3
    xs = xs if batched else xs[:, :, None]
    if xs.ndim != 3 or xs.shape[1] != N_INPUT or xs.shape[0] < 1 or xs.shape[2] < 1:
        raise ValueError(f"xs must be (T, {N_INPUT}, B) or (T, {N_INPUT}), got {numpy.shape(xs)}")
    return numpy.ascontiguousarray(xs), batched


def _targets(ys, T, B, batched):
    ys = numpy.asarray(ys)
    if ys.dtype.kind in "iu":
        if LOSS != "cross-entropy":
            raise ValueError("integer targets are classes, for cross-entropy only")
        if ys.shape != ((T, B) if batched else (T,)):
            raise ValueError(f"integer ys are classes of shape {(T, B) if batched else (T,)}, got {ys.shape}")
        classes = ys.reshape(T, B)
        if (classes < 0).any() or (classes >= N_OUTPUT).any():
            raise ValueError(f"target classes must be in 0..{N_OUTPUT - 1}")
        out = numpy.zeros((T, N_OUTPUT, B))
        out[numpy.arange(T)[:, None], classes, numpy.arange(B)[None, :]] = 1.0
        return out
    want = (T, N_OUTPUT, B) if batched else (T, N_OUTPUT)
    if ys.shape != want:
        raise ValueError(f"ys must have shape {want} (T, Q{', B' if batched else ''}), got {ys.shape}")
    return numpy.ascontiguousarray(ys.astype(numpy.float64).reshape(T, N_OUTPUT, B))


def _initial(h0, B):
    if h0 is None:
        h0 = {}
    elif not isinstance(h0, dict):
        h0 = {STATES[0]: h0}
    if set(h0) - set(STATES):
        raise ValueError(f"h0 names states other than {list(STATES)}: {sorted(map(str, set(h0) - set(STATES)))}")
    out = []
    for s in STATES:
        n = STATE_SIZES[s]
        v = numpy.zeros((n, 1)) if s not in h0 else numpy.asarray(h0[s], dtype=numpy.float64)
        out.append(numpy.array(numpy.broadcast_to(v.reshape(n, -1), (n, B))))
    return out


def init_params(rng=None):
    """Parameters drawn uniformly from (-1/sqrt(N), 1/sqrt(N)), as torch initialises its recurrent layers."""
    rng = numpy.random.default_rng(rng)
    bound = 1.0 / numpy.sqrt(N_STATE)
    return {name: rng.uniform(-bound, bound, size=shape) for name, shape in PARAMS.items()}


def forward(params, xs, h0=None):
    """Every state h_0 .. h_T: {state: (T+1, n, B) array} ((T+1, n) for 2-D xs), n its size (STATE_SIZES)."""
    xs, batched = _inputs(xs)
    B = xs.shape[2]
    states, _ = run_forward(Generated, _arrays(params), xs, _initial(h0, B))
    out = dict(zip(STATES, states))
    return out if batched else {s: v[:, :, 0] for s, v in out.items()}


def loss(params, xs, ys, h0=None):
    """The loss summed over t and the batch, times LOSS_FACTOR (1/T: averaged over t; forward only)."""
    xs, batched = _inputs(xs)
    ys = _targets(ys, xs.shape[0], xs.shape[2], batched)
    states, saved = run_forward(Generated, _arrays(params), xs, _initial(h0, xs.shape[2]))
    return total_loss(Generated, states, saved, ys)


def loss_and_grads(params, xs, ys, h0=None):
    """(loss, {parameter: gradient}): the loss summed over t and the batch times LOSS_FACTOR, and its gradient by
    BPTT.  ys: (T, Q, B), or integer classes (T, B) for cross-entropy."""
    p = _arrays(params)
    xs, batched = _inputs(xs)
    T, _, B = xs.shape
    return run_bptt(Generated, p, xs, _targets(ys, T, B, batched), _initial(h0, B))
'''


def _rho_text(b, state: str) -> str:
    """``rho`` of the output state, ``rho^c`` of the state c, in the docstring's plain text."""
    return "rho" if state == b.cell.output else f"rho^{state}"


def _constants(compiled: Compiled, cell_text: shown.CellText) -> list[str]:
    cell = compiled.cell
    params = {guard.check_name(p.name, "parameter"): (p.rows, p.cols) for p in cell.params}
    names = {p: cell_text.latex_names.get(p, p) for p in params}
    states = tuple(guard.check_name(s, "state") for s in cell.states)
    sizes = {s: int(cell.size(s)) for s in states}
    return [f"PARAMS = {params!r}", f"LATEX_NAMES = {names!r}", f"STATES = {states!r}",
            f"OUTPUT = {cell.output!r}", f"LOSS = {compiled.loss_kind!r}", f"N_STATE = {cell.n_state!r}",
            f"N_INPUT = {cell.n_input!r}",
            f"N_OUTPUT = {int(cell.n_output)!r}  # Q, the size of the output and of the targets",
            f"STATE_SIZES = {sizes!r}",
            f"LOSS_FACTOR = {tuple(int(x) for x in compiled.kernels.scale)!r}  # c T^k as (numerator of c, "
            "denominator of c, k): the loss and every gradient are multiplied by it"]


#: Each kernel's name in the module and the comment above it.
KERNELS = {
    "inputs_kernel": ("_inputs_all_steps", "What of a step depends only on the parameters and x_t, for every t at "
                      "once: x_t here is (D, T*B),\n# the inputs of all steps side by side, so each W x_t is one "
                      "product."),
    "forward_kernel": ("_forward_step", "One step forward: the states at t, then what the backward step reuses."),
    "loss_kernel": ("_loss_term", "The loss at t, summed over the batch."),
    "backward_kernel": ("_backward_step", "One step backward: rho_(t-1) of each state, then the factors stored for "
                        "after the loop (the A_t\n# of sum_t A_t B_t^T), then the contributions summed step by step, "
                        "then the loss at t."),
    "after_kernel": ("_gradients_after", "After the loop: every sum over t of a stored factor times a stored "
                     "quantity as one product (its\n# arguments are (n, T*B), all steps side by side)."),
}


def _generated(kernels: Kernels) -> str:
    """The class the loop reads (:class:`symrnn.autodiff.loop.Generated`): the kernels and their layout."""
    names = {field: (name if getattr(kernels, field) is not None else None) for field, (name, _) in KERNELS.items()}
    checked = [guard.check_name(n, "parameter") for n in (*kernels.step_grads, *kernels.after_grads)]
    assert len(checked) == len(kernels.step_grads) + len(kernels.after_grads)
    layout = {"params": "tuple(PARAMS)", "states": "STATES", "output": "OUTPUT", "scale": "LOSS_FACTOR",
              **{f: repr(getattr(kernels, f)) for f in ("log_output", "n_saved", "n_deltas", "step_grads",
                                                        "after_grads", "after_args")},
              **{f: n if n else "None" for f, n in names.items()}}
    return "\n".join(['class Generated:', '    """The kernels above and the layout of their arguments and results, as '
                      'the loop below reads them."""', "", *(f"    {k} = {v}" for k, v in layout.items())])


def _reads_as(kernel) -> str:
    """Comment lines giving the kernel's body written plainly, when the code writes into its new arrays (``out=``)."""
    plain = getattr(kernel, "plain", None)
    if plain is None or "out=" not in inspect.getsource(kernel):
        return ""
    body = textwrap.dedent("\n".join(plain.splitlines()[1:])).splitlines()
    lines = [wrapped for line in body for wrapped in textwrap.wrap(line, 112, subsequent_indent="      ",
                                                                 break_on_hyphens=False, break_long_words=False)]
    head = "In place below, writing into new arrays, this is:"
    return "".join(f"#     {_doc_text(line)}\n" for line in [head, *lines])


def module_source(spec: Spec, compiled: Compiled, cell_text: shown.CellText) -> str:
    """The whole module's text (parsed once more before it is returned)."""
    kernels = [f"# {comment}\n" + _reads_as(getattr(compiled.kernels, field))
               + vet_kernel(inspect.getsource(getattr(compiled.kernels, field)), name)
               for field, (name, comment) in KERNELS.items() if getattr(compiled.kernels, field) is not None]
    functions = [inspect.getsource(fn) for fn in loop.FUNCTIONS]
    text = "\n".join([f'r"""{docstring(spec, compiled, cell_text)}\n"""', "",
                      "import numpy", "", *_constants(compiled, cell_text), "", "",
                      "# ---- the kernels, generated by symrnn (numeric/codegen.py) ----", "", "",
                      "\n\n".join(kernels), "", _generated(compiled.kernels), "", "",
                      "# ---- the loop over t (symrnn/autodiff/loop.py) ----", "", "", "\n\n".join(functions), "",
                      "# ---- the interface ----", INTERFACE.rstrip("\n"), ""])
    tree = ast.parse(text)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    if [a.name for n in imports for a in n.names] != ["numpy"] or isinstance(imports[0], ast.ImportFrom):
        raise ValueError("the standalone module must import numpy and nothing else")
    return text


@functools.lru_cache(maxsize=8)
def build(spec: Spec) -> Made:
    """The standalone module of ``spec``'s cell (at the sizes asked for) and the compiled model it copies."""
    compiled = compile_bptt(spec.cell(), spec.loss_object())
    cell_text = shown.cell_text(spec.text, n_state=spec.n_state, n_input=spec.n_input, output=spec.output,
                                n_output=spec.n_output)
    return Made(module_source(spec, compiled, cell_text), compiled)


def load(source: str, name: str) -> types.ModuleType:
    """The module made from ``source`` (our generated text, vetted above), without writing or importing a file."""
    module = types.ModuleType(f"{name}_bptt")
    exec(compile(source, f"<{name}_bptt.py>", "exec"), module.__dict__)  # noqa: S102 - generated, vetted code
    return module
