"""Per-route code generation and rule compilation for the record hot path.

A contacts route is turned into one straight-line Python function (no loop over field specs, no
getter calls for one- and two-level paths, type checks inlined before the coercer). The function
is built from identifiers and repr()'d string literals only, so no source text reaches it.

Rules are parsed by simpleeval. A rule made only of comparisons, boolean logic, arithmetic other
than `*`/`**`/`<<`, names, constants, subscripts and calls to `get` is evaluated as compiled Python
with no builtins; anything else is evaluated by simpleeval itself, with its limits.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from typing import Any

import simpleeval

from map_brevo import values as vals

_SAFE_NODES = (
    ast.Expression, ast.Expr, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Compare, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Name, ast.Load,
    ast.Constant, ast.Subscript, ast.Tuple, ast.List, ast.IfExp, ast.Call,
)


def _compilable(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if not isinstance(node, _SAFE_NODES):
            return False
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "get"
                                               and not node.keywords):
            return False
    return True


def rule_names(tree: ast.AST) -> set[str] | None:
    """The names a compilable rule reads (None when it must go to simpleeval)."""
    if not _compilable(tree):
        return None
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id != "get"}


def compile_rule(expr: str, tree: ast.Expr, get: Callable[..., Any]) -> Callable[[dict], Any]:
    """A callable(names) -> value for one parsed rule; raises on a record it cannot evaluate."""
    if _compilable(tree):
        code = compile(ast.Expression(tree.value), f"<rule {expr}>", "eval")
        glb = {"__builtins__": {}, "get": get}
        return lambda names: eval(code, glb, names)  # noqa: S307 - whitelisted AST only, no builtins
    evaluator = simpleeval.EvalWithCompoundTypes()
    evaluator.functions = {**simpleeval.DEFAULT_FUNCTIONS, "get": get}

    def slow(names: dict) -> Any:
        evaluator.names = names
        return evaluator.eval(expr, previously_parsed=tree)

    return slow


# --- code generation -----------------------------------------------------------------------------
_FAST_CHECK = {
    "text": "v.__class__ is not str",
    "number": "v.__class__ is not int and v.__class__ is not float",
    "boolean": "v is not True and v is not False",
    "date": "True",
}


@functools.lru_cache(maxsize=8192)
def _date_str(v: str) -> str:
    return vals.to_date(v)


def cached_date(v: Any) -> str:
    """to_date with a cache for strings: exports repeat the same dates many times."""
    return _date_str(v) if v.__class__ is str else vals.to_date(v)


class Emitter:
    """Builds the source of one transform function."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {"M": vals.MISSING}
        self.lines: list[str] = []
        self.parents: dict[str, str] = {}
        self.n = 0

    def name(self, value: Any, prefix: str = "c") -> str:
        self.n += 1
        key = f"{prefix}{self.n}"
        self.env[key] = value
        return key

    def access(self, paths: list[str], indent: str) -> None:
        """Emit `v = <value at paths>` (MISSING when absent)."""
        parts = paths[0].split(".") if len(paths) == 1 else []
        if len(parts) == 1:
            self.lines.append(f"{indent}v = rec.get({parts[0]!r}, M)")
        elif len(parts) == 2:
            p = self.parents.get(parts[0])
            if p is None:
                p = self.parents[parts[0]] = f"p{len(self.parents)}"
                self.lines.insert(1, f"    {p} = rec.get({parts[0]!r}, M)")
            self.lines.append(f"{indent}v = {p}.get({parts[1]!r}, M) if {p}.__class__ is dict else "
                              f"(None if {p} is None else M)")
        else:
            g = self.name(vals.coalesce(paths), "g")
            self.lines.append(f"{indent}v = {g}(rec)")

    def field(self, target: str, dest: str, paths: list[str], hint: str | None,
              coerce: Callable[[Any], Any] | None) -> None:
        """Emit: read, coerce (inline type check first), store into `dest[target]` unless absent."""
        ind = "    "
        self.access(paths, ind)
        self.lines.append(f"{ind}if v is not M:")
        if coerce is not None:
            fn = self.name(cached_date if hint == "date" else coerce, "f")
            check = _FAST_CHECK.get(hint or "", "True")
            self.lines.append(f"{ind}    if v is not None and {check}:")
            self.lines.append(f"{ind}        try:")
            self.lines.append(f"{ind}            v = {fn}(v)")
            self.lines.append(f"{ind}        except ValueError as exc:")
            self.lines.append(f"{ind}            bad({target!r}, rec, exc)")
            self.lines.append(f"{ind}            v = M")
            self.lines.append(f"{ind}    if v is not M:")
            self.lines.append(f"{ind}        {dest}[{target!r}] = v")
        else:
            self.lines.append(f"{ind}    {dest}[{target!r}] = v")

    def build(self, fname: str) -> Callable[[dict], Any]:
        src = "\n".join(self.lines)
        namespace: dict[str, Any] = {}
        exec(compile(src, f"<map-brevo {fname}>", "exec"), self.env, namespace)  # noqa: S102 - generated from identifiers and repr() literals only
        return namespace[fname]
