"""Dependencies between the parts of ``expert_platform`` point one way (ARCHITECTURE.md section 7.16): no
import cycle, imports inside functions included.

The graph is read from the source, not from what Python happened to import: every module under
``expert_platform/`` is parsed with ``ast`` and every ``import`` and ``from ... import`` counts wherever it
is (at module level, in a function, in a class): a cycle hidden inside a function is still a cycle. Only
imports under ``if TYPE_CHECKING:`` are left out (they never run).

Its nodes:
- each sub-package (``accounts``, ``proposals``, ``review``, ...) is one node: all its modules, its
  ``__init__.py`` included; imports between the modules of one package are not edges;
- each top-level module (``permissions``, ``web``, ``database``, ``enums``, ``errors``, ``extensions``,
  ``forms``, ``models``, ``cli``, ``demo``, ``backup``, ...) is a node of its own, so the core modules are
  held to the same rule as the packages (``permissions`` imports no package: its rules take the models they
  need as arguments);
- ``expert_platform/__init__.py`` (the app factory) is the node ``expert_platform``: importing a name from it
  is an edge to it. ``from .. import permissions`` is an edge to the module it names, not to the package.

``GATHERERS`` is the allow-list: modules whose job is to gather every package, left out of the graph. It is
empty, and should stay so: the app factory, ``models`` (every model, for Alembic), ``cli`` and ``demo`` do
import every package, but nothing imports them back, so they close no cycle and need no exception. Add a
module only if its job is to gather every package and something below it must import it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "expert_platform"
PACKAGE = "expert_platform"

#: Modules whose job is to gather every package, left out of the graph (see the module docstring).
GATHERERS: frozenset[str] = frozenset()

#: A graph: node -> {node it imports: ["path:line" of each import statement]}.
Graph = dict[str, dict[str, list[str]]]


def node_of(parts: list[str]) -> str:
    """The node of a module given by its dotted path under ``expert_platform`` (``[]``: the package itself)."""
    return parts[0] if parts else PACKAGE


def _is_module(parts: list[str]) -> bool:
    path = ROOT.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_statements(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree``, at any depth, except those in the body of ``if TYPE_CHECKING:``."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for statement in child.orelse:
                    visit_statement(statement)
            else:
                visit_statement(child)

    def visit_statement(node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        visit(node)

    visit(tree)
    return found


def imported_modules(source: str, module: list[str], *, is_package: bool) -> list[tuple[list[str], int]]:
    """(dotted path under ``expert_platform``, line) of each module of the platform that ``source`` imports;
    ``module`` is the importing module's own path (a package's is that of its ``__init__.py``'s folder)."""
    package = module if is_package else module[:-1]
    found = []
    for statement in _import_statements(ast.parse(source)):
        if isinstance(statement, ast.Import):
            found += [(alias.name.split(".")[1:], statement.lineno) for alias in statement.names
                      if alias.name.split(".")[0] == PACKAGE]
            continue
        if statement.level:
            if statement.level - 1 > len(package):
                raise ValueError(f"{'.'.join(module)}: relative import beyond {PACKAGE}")
            base = package[:len(package) - (statement.level - 1)]
            target = base + (statement.module.split(".") if statement.module else [])
        elif statement.module and statement.module.split(".")[0] == PACKAGE:
            target = statement.module.split(".")[1:]
        else:
            continue  # another library
        # ``from package import name``: the submodule ``name`` when there is one, else the package itself.
        named = [target + [alias.name] for alias in statement.names if _is_module(target + [alias.name])]
        found += [(parts, statement.lineno) for parts in named or [target]]
    return found


def package_graph(root: Path | None = None, leave_out: frozenset[str] | None = None) -> Graph:
    """The imports between the nodes of the platform (see the module docstring), with where each is made."""
    root = ROOT if root is None else root
    leave_out = GATHERERS if leave_out is None else leave_out
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        module = parts[:-1] if is_package else parts
        source_node = node_of(module)
        if source_node in leave_out:
            continue
        for target, line in imported_modules(path.read_text(encoding="utf-8"), module, is_package=is_package):
            target_node = node_of(target)
            if target_node != source_node and target_node not in leave_out:
                graph[source_node][target_node].append(f"{path.relative_to(root.parent)}:{line}")
    return {node: dict(targets) for node, targets in graph.items()}


def find_cycle(graph: dict[str, dict[str, object]] | dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the path that closes it (``["a", "b", "a"]``), or None when there is none.
    Nodes are visited in sorted order, so the same graph always gives the same cycle."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in done:
                cycle = visit(target)
                if cycle is not None:
                    return cycle
        on_path.discard(path.pop())
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done:
            cycle = visit(node)
            if cycle is not None:
                return cycle
    return None


def describe(cycle: list[str], graph: Graph) -> str:
    """The cycle, each step with the import statements that make it."""
    steps = [f"{source} -> {target} ({', '.join(graph[source][target])})" for source, target in pairwise(cycle)]
    return "import cycle " + " -> ".join(cycle) + ":\n" + "\n".join(steps)


# --- The platform -----------------------------------------------------------------------------------


def test_the_packages_and_modules_of_the_platform_import_each_other_without_a_cycle():
    graph = package_graph()

    cycle = find_cycle(graph)

    assert cycle is None, describe(cycle, graph)


def test_the_graph_holds_the_imports_that_point_down():
    graph = package_graph()

    assert "proposals" in graph["review"]
    assert "review" in graph["notifications"]  # notifications listens to the review's signals
    assert "thinktanks" in graph["experts"]
    assert "permissions" in graph["proposals"]
    assert "review" not in graph["proposals"]
    assert "notifications" not in graph["review"]
    assert "experts" not in graph["thinktanks"]
    assert set(graph["permissions"]) == {"enums"}
    assert not any(PACKAGE in targets for targets in graph.values())


def test_the_allow_list_stays_empty():
    assert not GATHERERS, "a module left out of the graph must gather every package and be imported by one"


# --- Reading imports --------------------------------------------------------------------------------


def test_imports_inside_functions_count_and_type_checking_imports_do_not():
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from flask import Flask\n"
        "from .. import permissions, web\n"
        "from ..enums import Role\n"
        "from . import models\n"
        "if TYPE_CHECKING:\n"
        "    from ..search import service\n"
        "else:\n"
        "    from ..audit import services\n"
        "def condition(proposal):\n"
        "    from ..review import rounds\n"
        "    return rounds\n"
        "class Later:\n"
        "    def method(self):\n"
        "        import expert_platform.notifications.services\n"
    )

    found = imported_modules(source, ["proposals", "workflow"], is_package=False)

    assert found == [
        (["permissions"], 4), (["web"], 4), (["enums"], 5), (["proposals", "models"], 6),
        (["audit", "services"], 10), (["review", "rounds"], 12), (["notifications", "services"], 16),
    ]


def test_a_name_imported_from_the_package_itself_is_an_edge_to_the_app_factory():
    found = imported_modules("from .. import create_app\n", ["review", "views"], is_package=False)

    assert [node_of(parts) for parts, _line in found] == [PACKAGE]


def test_relative_imports_in_a_package_init_start_from_the_package():
    found = imported_modules("from . import services\nfrom ..proposals import workflow\n", ["review"],
                             is_package=True)

    assert found == [(["review", "services"], 1), (["proposals", "workflow"], 2)]


# --- Finding a cycle --------------------------------------------------------------------------------


def test_a_cycle_is_found_and_named_as_the_path_that_closes_it():
    graph = {"web": {"errors"}, "proposals": {"review", "web"}, "review": {"notifications"},
             "notifications": {"proposals"}, "errors": set()}

    assert find_cycle(graph) == ["notifications", "proposals", "review", "notifications"]


def test_a_module_importing_itself_back_through_one_step_is_a_cycle():
    assert find_cycle({"proposals": {"review"}, "review": {"proposals"}}) == ["proposals", "review", "proposals"]


def test_a_graph_whose_imports_point_one_way_has_no_cycle():
    graph = {"review": {"proposals", "permissions"}, "proposals": {"permissions", "enums"},
             "notifications": {"review", "proposals"}, "permissions": {"enums"}}

    assert find_cycle(graph) is None


def test_the_failure_names_each_step_with_its_import_statements():
    graph = {"proposals": {"review": ["expert_platform/proposals/workflow.py:67"]},
             "review": {"proposals": ["expert_platform/review/rounds.py:33"]}}

    assert describe(find_cycle(graph), graph) == (
        "import cycle proposals -> review -> proposals:\n"
        "proposals -> review (expert_platform/proposals/workflow.py:67)\n"
        "review -> proposals (expert_platform/review/rounds.py:33)"
    )
