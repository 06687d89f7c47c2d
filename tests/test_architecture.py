"""The layout of docs/architecture.md, checked: stages import only to their left, and nothing imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each app may import from the apps of a lower rank and its own; docs/architecture.md draws the same order.
RANKS = {
    "accounts": 0,
    "grants": 1,
    "applications": 2,
    "allocation": 3,
    "realisation": 4,
    "ministry": 5,
    "notifications": 6,
    "demo": 7,
}
# Modules that must stay free of Django: the ranking and allocation rules, tested and benchmarked on their own.
PURE_MODULES = {"allocation.engine", "allocation.ranking"}
MAX_FILE_LINES = 600
MAX_APP_SHARE = 0.35


def _source_files() -> list[Path]:
    files = []
    for package in [*RANKS, "config", "benchmarks"]:
        files += [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]
    return sorted(files)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, module_level_only: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            # `from package import module` imports the module, too.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
            found.append((node.lineno, module))
    return found


def _app(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in RANKS else None


def test_every_stage_imports_only_from_stages_to_its_left():
    wrong = []
    for path in _source_files():
        own = _app(_module_name(path))
        if own is None:
            continue
        for line, module in _imports(path, module_level_only=False):
            other = _app(module)
            if other is not None and RANKS[other] > RANKS[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({own} may not depend on {other})")
    assert not wrong, "\n".join(wrong)


def test_the_pure_ranking_and_allocation_modules_do_not_import_django():
    for path in _source_files():
        if _module_name(path) in PURE_MODULES:
            impure = {
                module
                for _, module in _imports(path, module_level_only=False)
                if module.split(".")[0] in {"django", *RANKS}
                and module not in PURE_MODULES
                and module.rpartition(".")[0] not in PURE_MODULES
            }
            assert not impure, f"{path.relative_to(ROOT)} imports {sorted(impure)}"


def _module_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in _source_files()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, module in _imports(path, module_level_only=True):
            # Importing a.b.c runs a and a.b as well; a package's __init__ is a module of its own.
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != name:
                targets.add(module)
        graph[name] = targets
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_modules_import_each_other_at_module_level():
    cycle = _find_cycle(_module_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_circle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", _source_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_source_file_is_longer_than_600_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_FILE_LINES


def test_no_app_holds_more_than_35_percent_of_the_code():
    lines = {app: 0 for app in RANKS}
    total = 0
    for path in _source_files():
        count = len(path.read_text(encoding="utf-8").splitlines())
        total += count
        if app := _app(_module_name(path)):
            lines[app] += count
    shares = {app: count / total for app, count in lines.items()}
    assert max(shares.values()) <= MAX_APP_SHARE, shares


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/grants/allocationrun/", "/admin/allocation/allocationrun/"),
        ("/admin/grants/decision/?run__tranche__id__exact=3", "/admin/allocation/decision/?run__tranche__id__exact=3"),
        ("/admin/grants/settlement/7/change/", "/admin/realisation/settlement/7/change/"),
        ("/admin/applications/progressreport/", "/admin/realisation/progressreport/"),
        ("/admin/applications/grantfollowup/", "/admin/realisation/grantfollowup/"),
    ],
)
def test_back_office_pages_that_moved_answer_at_their_old_address(client, old, new):
    response = client.get(old)

    assert response.status_code == 301
    assert response["Location"] == new
