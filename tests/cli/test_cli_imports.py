"""Issue 20: the CLI uses the public Python API, and imgtrans's import graph has no cycle
at module level. Both read the source with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "imgtrans"

CONVERTED = ("weights", "export", "train", "serve", "evaluate", "score", "demo", "image_info",
             "plugins", "convert", "__init__")
"""CLI modules that reach imgtrans through its public API only."""

PUBLIC = {"imgtrans", "imgtrans.api", "imgtrans.errors", "imgtrans.api_text", "imgtrans.api_translators"}
"""What a CLI module may import besides the CLI's own modules (``imgtrans.cli.*``)."""

FRONT_ENDS = {"serve": {"imgtrans.web.server"}}
"""``imgtrans serve`` starts the web app, another front end over the API (the API never
imports it: that would be a cycle)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(tree: ast.AST, module: str, is_package: bool, *, top_level: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every import; ``top_level``: only those run on import
    (not inside functions or classes' methods, nor under ``if TYPE_CHECKING``). For
    ``from pkg import name`` where ``pkg.name`` is a module of imgtrans, ``pkg.name``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if top_level and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]))
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = _absolute(child, module, is_package)
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    found.append((child.lineno, sub if _exists(sub) else target))
            visit(child)

    visit(tree)
    return found


def _exists(module: str) -> bool:
    if not module.startswith("imgtrans"):
        return False
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("name", CONVERTED)
def test_cli_module_imports_only_the_public_api(name):
    path = PACKAGE / "cli" / f"{name}.py"
    allowed = PUBLIC | FRONT_ENDS.get(name, set())
    internal = [f"{path.name}:{line}: {target}"
                for line, target in _imports(_parse(path), f"imgtrans.cli.{name}", False, top_level=False)
                if (target == "imgtrans" or target.startswith("imgtrans."))
                and target not in allowed and not target.startswith("imgtrans.cli")]
    assert not internal, "internal imports (add what is needed to imgtrans.api):\n" + "\n".join(internal)


@pytest.mark.parametrize("path", sorted((PACKAGE / "web").glob("*.py")), ids=lambda p: p.name)
def test_web_module_imports_only_the_public_api(path):
    """The web app is a front end over the API too (DESIGN.md)."""
    module = _module_name(path)
    internal = [f"{path.name}:{line}: {target}"
                for line, target in _imports(_parse(path), module, path.name == "__init__.py", top_level=False)
                if (target == "imgtrans" or target.startswith("imgtrans."))
                and target not in PUBLIC and not target.startswith("imgtrans.web")]
    assert not internal, "internal imports (add what is needed to imgtrans.api):\n" + "\n".join(internal)


def test_the_check_sees_internal_imports():
    tree = ast.parse("def f():\n    from imgtrans.core.readers import read_image\n"
                     "    from imgtrans.api import load\n"
                     "if TYPE_CHECKING:\n    from imgtrans.translators.base import WeightSpec\n")
    found = [t for _, t in _imports(tree, "imgtrans.cli.x", False, top_level=False)]
    assert found == ["imgtrans.core.readers", "imgtrans.api", "imgtrans.translators.base"]
    assert _imports(tree, "imgtrans.cli.x", False, top_level=True) == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        targets = _imports(_parse(path), module, path.name == "__init__.py", top_level=True)
        graph[module] = {t for _, t in targets if _exists(t) and t != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_no_import_cycle_at_module_level():
    graph = _graph()
    assert "imgtrans.api" in graph and "imgtrans.api_weights" in graph["imgtrans.api"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle at module level: " + " -> ".join(cycle)


def test_the_cycle_check_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None

