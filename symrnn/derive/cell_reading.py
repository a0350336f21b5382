"""``read_cell(text) -> Cell``: a recurrent cell written in LaTeX (Markdown with ``$$...$$`` displays, or LaTeX) as a
:class:`symrnn.models.cells.Cell` that the engine differentiates (:func:`symrnn.autodiff.bptt.derive`,
:func:`symrnn.autodiff.training.compile_bptt`).

    text = r'''
    $$\\mathbf{h}_t = \\tanh(\\mathbf{W}_{hh}\\mathbf{h}_{t-1} + \\mathbf{W}_{hx}\\mathbf{x}_t + \\mathbf{b}_h)$$
    '''
    cell = read_cell(text)          # states ('h',), parameters W_hh (2 x 2), W_hx (2 x 3), b_h (2 x 1)

The steps, one module each: the text's equations and declarations (:mod:`.equations`), each right side as terms
(:mod:`.terms`), states, intermediates and their order (:mod:`.dependencies`), sizes (:mod:`.shapes`), the step
with matrix symbols (:mod:`.building`).  Every refusal is a :class:`~symrnn.derive.errors.CellError` naming the line.
"""

from __future__ import annotations

from collections.abc import Mapping

from symrnn.core.budget import DEFAULT, Budget
from symrnn.derive import errors
from symrnn.derive import terms as tm
from symrnn.derive.activations import defined_activations
from symrnn.derive.building import builder
from symrnn.derive.dependencies import LOSS, Definition, Structure, structure
from symrnn.derive.equations import Declaration, read_equations
from symrnn.derive.loss_reading import LossEquation, is_loss, read_loss
from symrnn.derive.shapes import ONE, D, Dims, N, Q, ShapeConflict, Shapes
from symrnn.models.cells import Cell, Param
from symrnn.numeric import guard

DEFAULT_STATE, DEFAULT_INPUT = 2, 3
#: Names the engine gives its own vectors: a state may not take them (``y_t`` is the target, ``rho_t`` the
#: recurrent gradient).
RESERVED_STATES = ("y",)


def _definitions(text: str, budget: Budget) -> tuple[list[Definition], tuple[Declaration, ...]]:
    reading = read_equations(text, budget)
    activations = defined_activations(reading.equations)
    out = []
    for eq in reading.equations:
        reader = tm.Reader(eq.line, eq.text, activations)
        name = reader.defined(eq.lhs)
        if name is None:
            if is_loss(eq):
                loss = read_loss(eq)
                out.append(Definition(LOSS, tm.Leaf(tm.CURRENT, loss.quantity, origin=loss.origin), eq.line,
                                      eq.text, loss=loss))
            continue
        try:
            out.append(Definition(name, reader.term(eq.rhs), eq.line, eq.text))
        except errors.CellError as exc:  # raised if a state needs it (dependencies.structure)
            out.append(Definition(name, reader.skeleton(eq.rhs), eq.line, eq.text, exc))
    return out, reading.declarations


def _kept(s: Structure) -> list[Definition]:
    """The definitions the states need, in the order written."""
    needed = set(s.order)
    return [d for d in s.definitions.values() if d.name in needed]


def _check_names(s: Structure) -> None:
    for name in s.states:
        d = s.definitions[name]
        if name in RESERVED_STATES or name.startswith("rho"):
            raise errors.BadName(f"the state {name!r} takes a name the derivation uses for its own vectors (y_t is "
                                 "the target, rho_t the gradient through the next step); rename it", d.line, d.text)
    for d in _kept(s):
        for leaf in tm.leaves(d.term):
            if leaf.kind == tm.PARAM and (leaf.name in s.definitions or leaf.name == tm.INPUT_NAME):
                what = "the input" if leaf.name == tm.INPUT_NAME else "a quantity defined at t"
                raise errors.BadName(f"{tm.shown(leaf.origin)} is read as the parameter {leaf.name!r}, which is also "
                                     f"{what}; give it a time index or another name", d.line, d.text)


def recurrent(s: Structure) -> set[str]:
    """The states whose value at t-1 is used: every state but an output state (:mod:`.dependencies`)."""
    used = {leaf.name for d in s.definitions.values() for leaf in tm.leaves(d.term) if leaf.kind == tm.PREVIOUS}
    return {name for name in s.states if name in used}


def _shapes(s: Structure, declarations: tuple[Declaration, ...], n_state: int | None,
            n_input: int | None, n_output: int | None = None,
            sizes: Mapping[str, int] | None = None) -> tuple[Shapes, int, int]:
    """Shape inference over the declarations and the kept equations; the sizes N and D it ends with (and the
    output's size Q in ``shapes.n_output``: an output state's own size, N unless declared or ``n_output``)."""
    dims = Dims()
    n_dim, d_dim, one = dims.new(N, n_state), dims.new(D, n_input), dims.new(ONE)
    q_dim = dims.new(Q)
    shapes = Shapes(dims)
    fed = recurrent(s)
    for name in s.states:
        shapes.quantities[name] = (n_dim if name in fed else q_dim, one)
    shapes.quantities[tm.INPUT_NAME] = (d_dim, one)
    for decl in declarations:
        leaf = tm.Reader(decl.line, decl.text).leaf(decl.obj)
        if leaf is None or leaf.kind == tm.ONES:
            continue
        try:
            shapes.declare(leaf, decl.rows, decl.cols, decl.line)
        except ShapeConflict as exc:
            raise exc.at(decl.line, decl.text) from None
    for d in _kept(s):
        try:
            shape = shapes.of(d.term)
            lhs = shapes.quantity(d.name)
            if not (dims.unify(lhs[0], shape[0]) and dims.unify(lhs[1], shape[1])):
                raise ShapeConflict(f"{d.name}_t is a column of {dims.show(lhs[0])} entries but its right side is "
                                    f"{dims.shape(shape)}")
        except ShapeConflict as exc:
            raise exc.at(d.line, d.text) from None
    n = dims.value.get(dims.find(n_dim), n_state or DEFAULT_STATE)
    m = dims.value.get(dims.find(d_dim), n_input or DEFAULT_INPUT)
    if dims.find(d_dim) == dims.find(n_dim):  # declared one size: D = N (given sizes that differ never meet)
        m = n
    if s.output not in fed:
        try:
            q = shapes.size(q_dim, n, m, dict(sizes or {}), f"the output {s.output}_t", n_output)
        except ShapeConflict as exc:
            d = s.definitions[s.output]
            raise exc.at(d.line, d.text) from None
        if n_output is not None and q != n_output:
            d = s.definitions[s.output]
            raise ShapeConflict(f"the output {s.output}_t has {q} entries ({dims.show(q_dim)}), not the "
                                f"{n_output} asked for").at(d.line, d.text)
        shapes.n_output = q
    elif n_output is not None and n_output != n:
        d = s.definitions[s.output]
        raise ShapeConflict(f"the output {s.output}_t is a state, of N = {n} entries, not the {n_output} asked "
                            "for").at(d.line, d.text)
    return shapes, n, m


def _parameters(s: Structure, shapes: Shapes, n: int, m: int, sizes: Mapping[str, int]) -> tuple[Param, ...]:
    """The parameters in the order they first appear, with their sizes."""
    params: dict[str, Param] = {}
    for d in _kept(s):
        for leaf in tm.leaves(d.term):
            if leaf.kind != tm.PARAM or leaf.name in params:
                continue
            rows, cols = shapes.params[leaf.name]
            try:
                what = f"the parameter {leaf.name}"
                size = [shapes.size(x, n, m, dict(sizes), what, shapes.n_output) for x in (rows, cols)]
            except ShapeConflict as exc:
                raise exc.at(d.line, d.text) from None
            params[leaf.name] = Param(leaf.name, *size)
    return tuple(params.values())


def _ones(s: Structure, shapes: Shapes, n: int, m: int, sizes: Mapping[str, int]) -> dict[int, int]:
    out = {}
    for d in _kept(s):
        for leaf in tm.leaves(d.term):
            if leaf.kind == tm.ONES:
                try:
                    out[id(leaf)] = shapes.size(shapes.ones[id(leaf)][0], n, m, dict(sizes), "a ones vector",
                                                shapes.n_output)
                except ShapeConflict as exc:
                    raise exc.at(d.line, d.text) from None
    return out


def _size_argument(value: int | None, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def read_cell(text: str, name: str = "cell", *, n_state: int | None = None, n_input: int | None = None,
              output: str | None = None, sizes: Mapping[str, int] | None = None,
              budget: Budget = DEFAULT, n_output: int | None = None) -> Cell:
    """The cell that ``text``'s equations define.

    States are the quantities whose value at t-1 is used; other quantities defined at t are intermediates,
    substituted in dependency order; any other name on a right side is a parameter (a matrix when it multiplies, a
    column when it is added or in a Hadamard product) and ``x_t`` is the input.  ``n_state`` and ``n_input`` (N and
    D) default to a declared number, else 2 and 3; ``sizes`` gives other declared sizes (``{"k": 4}``).  ``output``
    is the quantity the loss reads; by default the one the text's loss equation reads (``L = \\frac{1}{2}\\sum_t
    \\|o_t - y_t\\|^2``), else the output layer's last quantity (``\\hat{y}_t`` of ``o_t = V h_t + c``, ``\\hat{y}_t =
    \\mathrm{softmax}(o_t)``), else ``h`` if it is a state, else the last state written; an output that is not a state
    becomes an output state (:mod:`.dependencies`) of its own size Q (``cell.n_output``; ``V \\in \\mathbb{R}^{Q
    \\times N}`` with Q in ``sizes``, a declared number, ``n_output``, else N).  Bad input is a
    :class:`~symrnn.derive.errors.CellError` subclass with the line.  Nothing from the text is executed.
    """
    try:
        name = guard.check_name(name, "cell")
    except guard.UnsafeName as exc:
        raise errors.BadName(f"the cell's name {name!r} cannot be an identifier: {exc.reason}") from None
    n_state, n_input = _size_argument(n_state, "n_state"), _size_argument(n_input, "n_input")
    n_output = _size_argument(n_output, "n_output")
    sizes = dict(sizes or {})
    for key, value in sizes.items():
        _size_argument(value, f"sizes[{key!r}]")
    definitions, declarations = _definitions(text, budget)
    s = structure(definitions, output)
    _check_names(s)
    shapes, n, m = _shapes(s, declarations, n_state, n_input, n_output, sizes)
    params = _parameters(s, shapes, n, m, sizes)
    ones = _ones(s, shapes, n, m, sizes)
    terms = {d.name: d.term for d in _kept(s)}
    own = ((s.output, shapes.n_output),) if shapes.n_output is not None and shapes.n_output != n else ()
    return Cell(name, n, m, params, builder(s.order, terms, s.states, ones), states=s.states, output=s.output,
                sizes=own)


def loss_equation(text: str, budget: Budget = DEFAULT) -> LossEquation | None:
    """The loss the text's loss equation states (its kind, the quantity it reads, its line), or None when the text
    has none; an unsupported one is :class:`~symrnn.derive.errors.UnsupportedLoss` with its line."""
    found = [d.loss for d in _definitions(text, budget)[0] if d.name == LOSS]
    if len(found) > 1:
        raise errors.DefinedTwice(f"two loss equations: on line {found[0].line} and here", found[1].line,
                                  found[1].text)
    return found[0] if found else None
