"""The search package's shape (issue 15): no import cycle inside it, Whoosh's private fields read by one
module only, and that module guarded by the release it was written against."""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

import pytest

from expert_platform.search import whoosh_postings

PACKAGE = Path(__file__).resolve().parents[2] / "expert_platform" / "search"
POSTINGS_MODULE = "whoosh_postings"


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), filename=str(path)) for path in sorted(PACKAGE.glob("*.py"))}


def imported_siblings(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The modules of the package that ``name`` imports, at its top or inside a function (lazy imports
    are cycles too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("expert_platform.search."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[2] for alias in node.names
                         if alias.name.startswith("expert_platform.search."))
    return (found & known) - {name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the list of its modules (first repeated last), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def private_references(tree: ast.Module) -> list[str]:
    """Each private name a module reaches into: ``something._name`` on anything but ``self`` or ``cls``,
    and ``from whoosh... import _name`` or ``from .sibling import _name``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("whoosh")):
            found += [f"line {node.lineno}: import {alias.name}" for alias in node.names
                      if alias.name.startswith("_") and alias.name != "__future__"]
    return found


def test_the_search_package_has_no_import_cycle():
    trees = modules()
    graph = {name: imported_siblings(name, tree, set(trees)) for name, tree in trees.items()}

    assert find_cycle(graph) is None, f"import cycle in expert_platform/search: {' -> '.join(find_cycle(graph))}"
    # The facade reaches both backends; neither backend reaches the facade.
    assert {"whoosh_backend", "postgres_backend"} <= graph["service"]
    assert "service" not in graph["whoosh_backend"] | graph["postgres_backend"] | graph["postgres"]


def test_the_cycle_finder_finds_a_cycle_and_names_it():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_postings_module_touches_private_names():
    offenders = {name: private_references(tree) for name, tree in modules().items() if name != POSTINGS_MODULE}

    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_private_name_check_sees_attribute_reads_and_imports():
    tree = ast.parse("from whoosh.codec import _secret\nfrom .query import _tokens\n"
                     "def f(matcher, self):\n    return matcher._data, self._mine, matcher.__class__\n")

    assert private_references(tree) == ["line 1: import _secret", "line 2: import _tokens", "line 4: ._data"]


def test_the_postings_module_does_reach_into_whoosh():
    # The one exception is real: it reads the posting blocks' private fields.
    assert len(private_references(modules()[POSTINGS_MODULE])) > 10


def test_the_installed_whoosh_is_the_release_the_postings_module_was_written_for():
    assert metadata.version("whoosh-reloaded") == whoosh_postings.PINNED_WHOOSH
    whoosh_postings.check_whoosh_version()


def test_another_whoosh_release_fails_with_a_message_that_says_what_to_do(monkeypatch):
    monkeypatch.setattr(whoosh_postings.metadata, "version", lambda name: "2.8.0")

    with pytest.raises(whoosh_postings.UnsupportedWhoosh) as raised:
        whoosh_postings.check_whoosh_version()

    assert str(raised.value) == (
        "expert_platform/search/whoosh_postings.py reads private fields of whoosh-reloaded 2.7.5, but 2.8.0 is "
        "installed: check each private field it reads against the new release, then update PINNED_WHOOSH (and "
        "requirements.txt) together.")
