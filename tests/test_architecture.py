"""The package's folders are its architecture: each layer imports only the layers below it.

Read from the source with ``ast``, so that the test sees every import a
module makes, at the top or inside a function, whatever runs.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sim"
LAYERS = ("behaviour", "engine", "experiments", "outputs", "cli", "app")
"""From the bottom up: a module may import its own layer and the layers before it in this list."""
LONGEST_MODULE = 700
INNER_IMPORTS_ALLOWED = 5
"""Imports of the package's own modules made inside functions (each must say why in a comment)."""


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> list[tuple[str, ast.AST, bool]]:
    """``(imported module, node, inside a function)`` for every import that runs (``TYPE_CHECKING`` ones aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            hidden.update(id(child) for child in ast.walk(node))
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner.update(id(child) for child in ast.walk(node) if child is not node)
    found = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node, id(node) in inner) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import of {node.module}; the package imports absolutely"
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            if not all(name in KNOWN for name in submodules):  # names from the module itself, not its submodules
                found.append((node.module, node, id(node) in inner))
            found += [(name, node, id(node) in inner) for name in submodules]
    return found


KNOWN = set(modules())


def layer_of(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "sim" and parts[1] in LAYERS else None


def own_imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports at run time (``TYPE_CHECKING`` imports aside)."""
    known = modules()
    graph = {}
    for name, path in known.items():
        graph[name] = {target for target, _, _ in imports(path) if target in known and target != name}
    return graph


@pytest.mark.parametrize("name", [n for n in modules() if layer_of(n) is not None])
def test_every_module_imports_only_its_own_layer_and_the_layers_below(name):
    mine = layer_of(name)
    above = sorted(target for target in own_imports()[name] if (layer_of(target) or 0) > mine)
    assert not above, f"{name} ({LAYERS[mine]}) imports from a layer above it: {above}"


def test_the_behavioural_equations_import_nothing_from_the_package():
    """Nothing but the helper that lets an equation run compiled as on arrays (``sim.behaviour.compiled``)
    and the one law of chance several equations share (``sim.behaviour.chances``)."""
    graph = own_imports()
    for name in (n for n in graph if n.startswith("sim.behaviour.")):
        imported = graph[name] - {"sim.behaviour.compiled", "sim.behaviour.chances"}
        assert not imported, f"{name} imports {sorted(imported)}"


def test_no_import_cycle_among_the_package_modules():
    graph = own_imports()
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if target == name or target == "sim":
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + (target,) if target in path else (*path, target)
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target, (*path, target))
        state[name] = 2

    for name in sorted(graph):
        if state.get(name) is None:
            visit(name, (name,))


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("matplotlib", ("sim.outputs", "sim.app")),
        ("solara", ("sim.app.page",)),
        ("ipyvuetify", ("sim.app.page",)),
        ("mesa.visualization", ("sim.app.page",)),
        ("distributed", ("sim.experiments.evaluator",)),
        ("dask", ("sim.experiments.evaluator",)),
    ],
)
def test_a_heavy_library_is_imported_only_where_it_belongs(library, allowed):
    offenders = []
    for name, path in modules().items():
        if name.startswith(allowed):
            continue
        for target, _, _ in imports(path):
            if target == library or target.startswith(f"{library}."):
                offenders.append(f"{name}: {target}")
    assert not offenders, f"{library} imported outside {allowed}: {offenders}"


def test_no_module_is_longer_than_seven_hundred_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > LONGEST_MODULE}
    assert not long, f"modules over {LONGEST_MODULE} lines: {long}"


def test_only_a_handful_of_the_package_imports_sit_inside_functions_and_each_says_why():
    inner = []
    for name, path in modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, node, inside in imports(path):
            if inside and target.split(".")[0] == "sim" and isinstance(node, ast.ImportFrom | ast.Import):
                line = lines[node.lineno - 1]
                inner.append((name, node.lineno, "#" in line))
    unique = {(name, line): reason for name, line, reason in inner}
    assert len(unique) <= INNER_IMPORTS_ALLOWED, f"imports inside functions: {sorted(unique)}"
    assert all(unique.values()), f"an import inside a function without a comment saying why: {sorted(unique)}"


def test_a_command_module_never_imports_another_command_module():
    graph = own_imports()
    shared = {"sim.cli", "sim.cli.options"}
    for name in (n for n in graph if n.startswith("sim.cli.") and n not in ("sim.cli.main", "sim.cli.__main__")):
        others = {t for t in graph[name] if t.startswith("sim.cli") and t not in shared}
        assert not others, f"{name} imports {sorted(others)}"
