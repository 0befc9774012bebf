"""f as a computational graph: its evaluation trace, forward-mode tangents and reverse-mode adjoints.

:func:`graph` lays f's formula out as a Wengert list, one node per primitive operation (a sum or
product of several terms taken two at a time), each distinct subexpression once, and runs the two
modes of automatic differentiation on it by hand, as the lab's section 4 describes them:

- the forward sweep carries each node's value v and its tangent v̇ = dv/dx (the dual number
  v + v̇ε): v̇ = Σ ∂v/∂a · ȧ over the node's arguments a; the last tangent is f'(x0);
- the reverse sweep carries each node's adjoint v̄ = ∂f/∂v from v̄ = 1 at f back to the inputs:
  ā += v̄ · ∂v/∂a; one sweep gives every ∂f/∂x_i.

Where a node's operation is not differentiable at x0 (|u| at u = 0, √u at 0: the switches of its
record in :mod:`tridiff.primitives`), its local partial is NaN and says so; it reaches f' only if
f depends on that node there (a zero tangent, adjoint or partial times it counts as zero). The
diagram is laid out by Graphviz (a real layout engine, not hand placement).

:func:`swell` measures the lab's expression swell: the nested polynomial's derivative as a tree
(every repeated subexpression counted again) and as a graph (each once), at each depth.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from ..analysis.switches import real_diff
from ..compiler.lowering import relation_argument
from ..definition.function import function
from ..errors import TridiffError
from ..methods.symbolic import size
from ..primitives import BY_HEAD
from ..translation import gettext as _
from .catalog import nested_polynomial
from .derivation import CAVEATS

#: Graphs larger than this are no longer read as a diagram or table (the nested polynomial of
#: depth 3 has ~40 nodes).
MAX_NODES = 400


@dataclass(frozen=True)
class Node:
    """One primitive operation of f's evaluation trace, with both sweeps' numbers at x0.

    Attributes:
        name: v0, v1, … (the inputs first).
        op: the operation (``x`` for an input, a number for a constant, ``+``, ``*``, ``**3``, ``sin``…).
        args: the indices of its argument nodes.
        expr: the subexpression it computes.
        value: its value at x0.
        partials: ∂(this node)/∂(each argument) at x0 (NaN where it does not exist).
        tangents: dv/dx_i for each variable x_i (forward mode, one sweep per variable).
        adjoint: ∂f/∂v (reverse mode).
        note: why a partial is NaN (a kink, a domain edge, a pole), or None.
    """

    name: str
    op: str
    args: tuple[int, ...]
    expr: sp.Expr
    value: float
    partials: tuple[float, ...]
    tangents: tuple[float, ...]
    adjoint: float
    note: str | None = None


@dataclass(frozen=True)
class Graph:
    """f's evaluation trace at ``at`` (see :func:`graph`): ``nodes`` in evaluation order, f the last."""

    nodes: tuple[Node, ...]
    variables: tuple[sp.Symbol, ...]
    at: tuple[float, ...]

    @property
    def value(self) -> float:
        """f(x0): the last node's value."""
        return self.nodes[-1].value

    @property
    def tangents(self) -> tuple[float, ...]:
        """The forward sweeps' result: ∂f/∂x_i, one sweep per variable."""
        return self.nodes[-1].tangents

    @property
    def gradient(self) -> tuple[float, ...]:
        """The reverse sweep's result: the inputs' adjoints ∂f/∂x_i, all from one sweep."""
        return tuple(node.adjoint for node in self.nodes[:len(self.variables)])

    def _rows(self) -> list[list[str]]:
        names = [n.name for n in self.nodes]
        rows = []
        for n in self.nodes:
            if n.op in {str(v) for v in self.variables} and not n.args:
                how = _("input")
            elif not n.args:
                how = _("constant")
            elif len(n.args) == 1:
                how = f"{n.op}({names[n.args[0]]})" if n.op.isidentifier() else f"{names[n.args[0]]}{n.op}"
            else:
                how = f" {n.op} ".join(names[a] for a in n.args) if n.op in "+*" else \
                    f"{n.op}({', '.join(names[a] for a in n.args)})"
            rows.append([n.name, how, str(n.expr), _num(n.value), *(_num(t) for t in n.tangents), _num(n.adjoint),
                         n.note or ""])
        return rows

    def _heads(self) -> list[str]:
        several = len(self.variables) > 1
        tangents = [f"v̇ = ∂v/∂{v}" if several else f"v̇ = dv/d{v}" for v in self.variables]
        return [_("node"), _("operation"), _("computes"), _("value v"), *tangents, _("adjoint v̄ = ∂f/∂v"),
                _("note")]

    def table(self) -> str:
        """The trace as a text table: each node's operation, value, tangents and adjoint."""
        rows = [self._heads()] + self._rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def __str__(self) -> str:
        at = ", ".join(f"{v} = {a:g}" for v, a in zip(self.variables, self.at))
        return f"f at {at}\n{self.table()}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._heads())
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self._rows())
        return f'<table class="tridiff-graph"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def dot(self) -> str:
        """The graph in Graphviz's DOT language: nodes left to right, each edge labelled with its
        local partial derivative."""
        lines = ["digraph f {", "  rankdir=LR;", '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
                 '  edge [fontname="Helvetica", fontsize=9];']
        several = len(self.variables) > 1
        for i, n in enumerate(self.nodes):
            dots = ", ".join(_num(t) for t in n.tangents)
            label = f"{n.name} = {_short(n.expr)}\\nv = {_num(n.value)}\\nv̇ = {'(' + dots + ')' if several else dots}" \
                    f"\\nv̄ = {_num(n.adjoint)}"
            colour = ', color="firebrick"' if n.note else ""
            lines.append(f'  n{i} [label="{_dot_escape(label)}"{colour}];')
            for a, p in zip(n.args, n.partials):
                lines.append(f'  n{a} -> n{i} [label="{_dot_escape(_num(p))}"];')
        lines.append("}")
        return "\n".join(lines)

    def svg(self) -> str:
        """The graph drawn by Graphviz (``dot -Tsvg``) as SVG text."""
        return render_svg(self.dot())


#: Seconds Graphviz may take for one diagram (a few hundred nodes take well under one).
TIMEOUT = 30.0


def render_svg(dot: str) -> str:
    """``dot`` (Graphviz's DOT language) laid out and drawn as SVG text by Graphviz's ``dot``.

    Raises:
        TridiffError: Graphviz is not installed (``scripts/install-system-packages`` installs it),
            or fails on the text.
    """
    program = shutil.which("dot")
    if program is None:
        raise TridiffError("drawing the graph needs Graphviz's `dot` program: install Graphviz "
                           "(apt install graphviz; the project's scripts/install-system-packages does)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TridiffError(f"Graphviz took more than {TIMEOUT:g} s to lay out the graph") from None
    if done.returncode != 0:
        raise TridiffError(f"Graphviz could not draw the graph: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def graph(f, at) -> Graph:
    """f's computational graph at the point ``at``: its Wengert list with the forward sweep's values
    and tangents and the reverse sweep's adjoints.

    >>> g = graph("x*sin(x)", 2.0)
    >>> print(g.table())
    node  operation  computes  value v   v̇ = dv/dx  adjoint v̄ = ∂f/∂v  note
    v0    input      x         2         1           0.0770038
    v1    sin(v0)    sin(x)    0.909297  -0.416147   2
    v2    v0 * v1    x*sin(x)  1.81859   0.0770038   1
    >>> g.value == float(2 * np.sin(2.0)), g.tangents == g.gradient
    (True, True)
    """
    fn = function(f)
    if fn.expr is None:
        raise TridiffError(f"the graph needs f's formula: {fn.opaque_reason}")
    xs = fn.variables
    try:
        point = np.atleast_1d(np.asarray(at, dtype=float))
    except (TypeError, ValueError):
        point = None
    if point is None or point.shape != (len(xs),) or not np.all(np.isfinite(point)):
        given = point.tolist() if point is not None else repr(at)
        raise TridiffError(f"at must be {len(xs)} finite number(s), one per variable ({', '.join(map(str, xs))}), "
                           f"got {given}")
    nodes, index = _trace(fn.expr, xs)
    values = [sp.Float(p, 30) for p in point]
    numbers = _forward(nodes, xs, values)
    return Graph(_sweeps(nodes, numbers, len(xs)), tuple(xs), tuple(float(p) for p in point))


def _trace(expr: sp.Expr, xs) -> tuple[list[tuple], dict]:
    """The Wengert list: ``(op, args, expr)`` per node, inputs first, each subexpression once
    (sums and products of several terms taken two at a time)."""
    nodes: list[tuple] = [(x.name, (), x) for x in xs]
    index: dict = {x: i for i, x in enumerate(xs)}

    def visit(e: sp.Expr) -> int:
        if e in index:
            return index[e]
        if not e.free_symbols:
            return add(str(e), (), e)
        if e.is_Add or e.is_Mul:
            args = list(e.args)
            at, acc = visit(args[0]), args[0]
            for a in args[1:]:
                acc = e.func(acc, a)
                at = index[acc] if acc in index else add("+" if e.is_Add else "*", (at, visit(a)), acc)
            return at
        if e.is_Pow and not e.exp.free_symbols:
            return add(f"**{e.exp}", (visit(e.base),), e)
        if isinstance(e, sp.Piecewise):  # one argument per piece; the conditions pick one
            return add("where", tuple(visit(value) for value, _cond in e.args), e)
        head = BY_HEAD.get(e.func)
        name = head.name if head is not None else "**" if e.is_Pow else e.func.__name__
        return add(name, tuple(visit(a) for a in e.args), e)

    def add(op: str, args: tuple, e: sp.Expr) -> int:
        if len(nodes) >= MAX_NODES:
            raise TridiffError(f"f's graph has more than {MAX_NODES} nodes: too large to read as a diagram")
        nodes.append((op, args, e))
        index[e] = len(nodes) - 1
        return len(nodes) - 1

    visit(expr)
    return nodes, index


def _forward(nodes, xs, values) -> list[tuple]:
    """Each node's value and local partials at the point (30 digits; NaN where they have no finite
    value), and a note where a partial does not exist (the switches of the node's record at 0)."""
    point = dict(zip(xs, values))
    out = []
    for op, args, e in nodes:
        if not args:
            out.append((values[list(xs).index(e)] if e in xs else sp.Float(e, 30), (), None))
            continue
        at = [out[a][0] for a in args]
        if op == "+":
            value, partials = at[0] + at[1], (1, 1)
        elif op == "*":
            value, partials = at[0] * at[1], (at[1], at[0])
        elif op == "where":
            k = next(i for i, (_value, c) in enumerate(e.args) if c.subs(point) == sp.true)
            value, partials = at[k], tuple(int(i == k) for i in range(len(args)))
        else:
            dummies = _dummies(len(args))
            local = dummies[0] ** e.exp if e.is_Pow and op.startswith("**") else e.func(*dummies)
            subs = dict(zip(dummies, at))
            value = _evaluate(local, subs)
            partials = tuple(_evaluate(real_diff(local, u), subs) for u in dummies)
        note = _kink(e, point)
        if note is not None and op != "where":  # a where's pieces may meet smoothly: see _sweeps
            partials = tuple(sp.nan for _p in partials)
        out.append((value, partials, note))
    return out


def _evaluate(expr: sp.Expr, subs: dict) -> sp.Expr:
    """expr at ``subs`` to 30 digits, NaN where it has no finite real value (1/u at u = 0)."""
    if any(v is sp.nan for v in subs.values()):
        return sp.nan
    try:
        value = expr.evalf(30, subs=subs)
    except (ZeroDivisionError, ValueError, TypeError):
        return sp.nan
    return value if value.is_real and value.is_finite else sp.nan


def _kink(e: sp.Expr, point: dict) -> str | None:
    """Why the node's local partials do not exist at the point: one of its switches (from its
    record; a power's pole or domain edge; a where's condition) is at 0 there, to within the
    rounding of computing it, as :func:`tridiff.analysis.switches.analyse` judges it."""
    record = BY_HEAD.get(e.func)
    switches = record.switches(e) if record is not None else ()
    if e.is_Pow and not e.exp.free_symbols and (e.exp.is_negative or not e.exp.is_integer):
        switches = ((e.base, "pole" if e.exp.is_negative else "domain"),)
    if isinstance(e, sp.Piecewise):
        switches = tuple((relation_argument(c), "branch") for _value, c in e.args if c.is_Relational)
    for u, kind in switches:
        value = _evaluate(u, point)
        scale = sum(abs(_evaluate(x * real_diff(u, x), point)) for x in point) + abs(value)
        if value is sp.nan or abs(value) <= 8 * np.finfo(float).eps * scale:
            return _(CAVEATS[kind]).format(u=u)
    return None


def _sweeps(nodes, numbers, n: int) -> tuple[Node, ...]:
    """The forward sweeps (one per variable) and the reverse sweep over the trace."""
    def times(a, b):
        # A kinked node (partial NaN) whose tangent or adjoint is 0, or a NaN tangent or adjoint
        # through a zero partial, contributes 0: a kink has bounded one-sided slopes, so what does
        # not move it, or what it does not move, is unaffected (|x|·y at the origin: ∂/∂x = 0).
        return sp.S.Zero if sp.sympify(a).is_zero or sp.sympify(b).is_zero else a * b

    tangents = [[sp.S.One if i == k else sp.S.Zero for k in range(n)] if i < n else None for i in range(len(nodes))]
    numbers = list(numbers)
    for i, (op, args, _expr) in enumerate(nodes):
        if i >= n:
            value, partials, note = numbers[i]
            if op == "where" and note is not None:  # at the switch: defined iff the pieces meet with equal slopes
                meet = _same([numbers[a][0] for a in args]) and all(_same([tangents[a][k] for a in args])
                                                                     for k in range(n))
                numbers[i] = (value, partials, None) if meet else (value, tuple(sp.nan for _p in partials), note)
                partials = numbers[i][1]
            tangents[i] = [sum((times(tangents[a][k], p) for a, p in zip(args, partials)), sp.S.Zero)
                           for k in range(n)]
    adjoints = [sp.S.Zero] * len(nodes)
    adjoints[-1] = sp.S.One
    for i in range(len(nodes) - 1, n - 1, -1):
        for a, p in zip(nodes[i][1], numbers[i][1]):
            adjoints[a] += times(adjoints[i], p)
    return tuple(Node(f"v{i}", op, args, e, _float(numbers[i][0]), tuple(_float(p) for p in numbers[i][1]),
                      tuple(_float(t) for t in tangents[i]), _float(adjoints[i]), numbers[i][2])
                 for i, (op, args, e) in enumerate(nodes))


def _same(values) -> bool:
    """Equal to the 30-digit arithmetic's rounding (20 digits)."""
    first = values[0]
    return all(v is not sp.nan and abs(v - first) <= sp.Float("1e-20") * (1 + abs(first)) for v in values)


def _float(v) -> float:
    return float("nan") if v is sp.nan else float(v)


@lru_cache(maxsize=None)
def _dummies(n: int) -> tuple[sp.Dummy, ...]:
    return tuple(sp.Dummy(f"a{i}", real=True) for i in range(n))


def _num(v: float) -> str:
    return "NaN" if v != v else f"{v:.6g}"


def _short(e: sp.Expr, width: int = 28) -> str:
    text = str(e)
    return text if len(text) <= width else text[:width - 1] + "…"


def _dot_escape(text: str) -> str:
    return text.replace('"', '\\"')


@dataclass(frozen=True)
class Swell:
    """The size of the nested polynomial's derivative at one depth: as a tree and as a graph."""

    depth: int
    tree: int  # nodes of SymPy's derivative, each repeated subexpression counted again
    graph: int  # its distinct subexpressions: a graph shares each once
    tidied_tree: int  # the same for tridiff's derivative (factor_terms)
    tidied_graph: int


def swell(depths=range(1, 7)) -> list[Swell]:
    """The lab's expression swell made countable: the derivative of the nested polynomial of each
    depth, as a tree and as a graph with shared subexpressions, as SymPy writes it and tidied.

    >>> [s.graph < s.tree for s in swell(range(2, 4))]
    [True, True]
    """
    x = sp.Symbol("x", real=True)
    out = []
    for depth in depths:
        d = sp.diff(nested_polynomial(x, depth), x)
        tidy = sp.factor_terms(d)
        out.append(Swell(depth, size(d, 10**9), _distinct(d), size(tidy, 10**9), _distinct(tidy)))
    return out


def _distinct(e: sp.Expr) -> int:
    return len(set(sp.preorder_traversal(e)))
