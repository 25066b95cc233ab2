"""The house: each family in its package, imports flowing one way, no class with two jobs.

Every import counts, also those under TYPE_CHECKING and those inside functions: a
lazy import is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "followup"
PACKAGES = ["app", "channels", "cli", "config", "content", "daemon", "sources",
            "sources/calendar", "sources/mailbox", "store"]
BELOW_APP = ["followup.daemon", "followup.channels", "followup.sources", "followup.store",
             "followup.config", "followup.content", "followup.rules", "followup.models"]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SOURCE.rglob("*.py")
           if "migrations" not in p.relative_to(SOURCE).parts}


def imports_of(name: str) -> set[str]:
    """The followup modules `name` imports anywhere in its file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_each_package_says_what_lives_there():
    for package in PACKAGES:
        docstring = ast.get_docstring(ast.parse((SOURCE / package / "__init__.py").read_text()))
        assert docstring and len(docstring.splitlines()) >= 3, package


@pytest.mark.parametrize("below", BELOW_APP)
def test_nothing_below_the_use_cases_imports_them(below):
    for name, targets in GRAPH.items():
        if name == below or name.startswith(below + "."):
            assert not {t for t in targets if t.startswith("followup.app")}, name


def test_the_rules_import_only_the_models():
    assert GRAPH["followup.rules"] <= {"followup.models"}


def test_no_import_cycle():
    """No module reaches itself through the imports of the modules it imports."""
    cycles = []
    for start in GRAPH:
        seen, todo = set(), list(GRAPH[start])
        while todo:
            name = todo.pop()
            if name == start:
                cycles.append(start)
                break
            if name not in seen:
                seen.add(name)
                todo.extend(GRAPH[name])
    assert cycles == []



def test_no_class_has_grown_two_jobs():
    """A class over about 200 lines has two jobs: split it by job."""
    big = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno >= 220:
                big.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert big == []
