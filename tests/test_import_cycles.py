"""No import cycle among provision's modules (issue 8: `plan` ↔ `planio` was one).

Only imports that run when a module is loaded count: module-level ones, also inside ``try``/``if``, but
not those under ``if TYPE_CHECKING:`` (never run) nor inside functions (run later, on a call: the lazy
imports that keep start-up fast). Nothing is imported: the sources are parsed.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

from tests.test_architecture import from_import, modules

Graph = dict[str, set[str]]


def load_time_imports(source: str, module: str, *, is_package: bool = False,
                      known: Collection[str] = ()) -> set[str]:
    """Absolute names imported when ``module`` is loaded. ``from a import b`` gives ``a.b``, and ``a`` too
    unless every name it imports is one of ``known``'s modules (then it needs those submodules, not what
    the package's ``__init__`` defines)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                name, inner = from_import(node, package)
                names.update(inner)
                if not all(i in known for i in inner):
                    names.add(name)
            elif isinstance(node, ast.If) and not _type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(block)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(ast.parse(source).body)
    return names


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph() -> Graph:
    """provision module → the provision modules it imports when loaded."""
    known = modules()
    return {name: {i for i in load_time_imports(path.read_text(), name, is_package=path.name == "__init__.py",
                                                known=known)
                   if i in known and i != name}
            for name, path in known.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                connect(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_module_of_provision_imports_itself_back() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_cycle_and_ignores_what_does_not_run_at_load() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = ("from typing import TYPE_CHECKING\nimport provision.x\n"
              "if TYPE_CHECKING:\n    import provision.y\n"
              "def later():\n    import provision.z\ntry:\n    from provision import w\nexcept ImportError:\n"
              "    pass\n")
    assert load_time_imports(source, "provision.m") >= {"provision.x", "provision.w"}
    assert not load_time_imports(source, "provision.m") & {"provision.y", "provision.z"}
