"""Reading tuyacloud's source as the architecture tests do: what a module imports, however it spells it, and what
a dotted name used in it refers to.

An import is an arrow whichever way it is written: ``import x``, ``from x import y``, inside a function, under
``TYPE_CHECKING``, or at run time with ``importlib.import_module(...)`` / ``__import__(...)``. A run-time import
whose name is a literal (or an f-string starting with a module's name: ``f"tuyacloud.testing.{name}"``,
``f"{pages.__name__}.{info.name}"``) is resolved to the modules it can reach; one whose name cannot be read from
the source (``import_module(GROUPS[name].module)``) reaches every module the file names in a string (a dotted
name), and when the file names none it is reported as unresolved, so that no import hides from the layer rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

_IMPORT_FUNCTIONS = frozenset({"importlib.import_module", "__import__", "builtins.__import__"})


def aliases(tree: ast.Module, module: str = "", is_package: bool = False) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from every import statement of the module (``import time as
    t``: ``t`` -> ``time``; ``from datetime import datetime``: ``datetime`` -> ``datetime.datetime``;
    ``from tuyacloud.console import pages``: ``pages`` -> ``tuyacloud.console.pages``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom):
            target = absolute(node, module, is_package)
            for alias in node.names:
                names[alias.asname or alias.name] = f"{target}.{alias.name}" if target else alias.name
    for node in ast.walk(tree):  # ``t = importlib.import_module("time")``: ``t`` is ``time`` too
        if isinstance(node, ast.Assign) and (loaded := _loaded(node.value, names)):
            names.update((target.id, loaded) for target in node.targets if isinstance(target, ast.Name))
    return names


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` statement reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts[: len(parts) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def dotted(node: ast.expr, names: dict[str, str]) -> str:
    """The dotted name an expression such as ``t.time`` or ``dt.datetime.now`` stands for, its first part resolved
    through the module's imports (``time.time``, ``datetime.datetime.now``); empty when it is not a plain name
    chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    loaded = _loaded(node, names)
    if loaded:
        parts.append(loaded)
    elif isinstance(node, ast.Name):
        parts.append(names.get(node.id, node.id))
    else:
        return ""
    return ".".join(reversed(parts))


def _loaded(node: ast.expr, names: dict[str, str]) -> str:
    """The module a run-time import call with a literal name loads (``importlib.import_module("time")``), or
    empty."""
    if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str) and dotted(node.func, names) in _IMPORT_FUNCTIONS):
        return node.args[0].value
    return ""


@dataclass
class DynamicImports:
    """What a module imports at run time: the modules resolved, and the calls whose target could not be read."""

    found: set[str] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)


def dynamic_imports(tree: ast.Module, names: dict[str, str], known: Iterable[str]) -> DynamicImports:
    """Every ``importlib.import_module`` / ``__import__`` call of the module, resolved against ``known`` (the
    package's module names) as the module docstring says."""
    known = frozenset(known)
    out = DynamicImports()
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and dotted(node.func, names) in _IMPORT_FUNCTIONS):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out.found.add(arg.value)
            continue
        prefix = _prefix(arg, names) if isinstance(arg, ast.JoinedStr) else ""
        if prefix:
            reached = {m for m in known if m.startswith(prefix)}
            out.found |= reached or {prefix.rstrip(".")}
            continue
        named = {s for s in strings if s in known and "." in s}  # a module, not the bare package name
        if named:
            out.found |= named
        else:
            out.unresolved.append(f"line {node.lineno}: {ast.unparse(node)}")
    return out


def _prefix(text: ast.JoinedStr, names: dict[str, str]) -> str:
    """The literal start of an f-string, ``{x.__name__}`` read as the module ``x`` names, up to the first part
    that cannot be read from the source."""
    prefix = ""
    for part in text.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            prefix += part.value
        elif (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Attribute)
              and part.value.attr == "__name__" and dotted(part.value.value, names)):
            prefix += dotted(part.value.value, names)
        else:
            break
    return prefix
