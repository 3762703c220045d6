"""The package's shape: no import circles (lazy imports included), no module over ~400 lines,
and the public API the README promises."""

import ast
from pathlib import Path

import rldistill

SRC = Path(rldistill.__file__).parent
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the rldistill modules it imports anywhere in its text (function-level imports
    too: a lazy import still makes a circle). ``from pkg import name`` counts as an edge to
    ``pkg.name`` when that is a module, else to ``pkg``."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            graph[mod] |= {t for t in targets if t in modules and t != mod}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_circles():
    graph = _import_graph()
    assert "rldistill.engine.loop" in graph["rldistill.drivers.offline"]  # the graph is real
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_no_module_over_400_lines():
    sizes = {p.relative_to(SRC).as_posix(): len(p.read_text().splitlines())
             for p in SRC.rglob("*.py")}
    assert {k: v for k, v in sizes.items() if v > MAX_LINES} == {}


def test_public_api():
    for name in ("DistillConfig", "KickstartConfig", "Loop", "run", "train", "evaluate_run",
                 "load_student", "load_teacher", "Interrupted", "UserError"):
        assert hasattr(rldistill, name), name


# the package's layers, bottom to top: each imports only from its own layer and those below
LAYERS = ("core", "heads", "envs", "zoo", "sources", "students", "engine", "evaluation", "report",
          "deploy", "drivers", "scale")
ENTRY_POINTS = {"__init__", "api", "cli", "console", "demo", "runtime"}  # the top: parse, print


def _layer(module: str) -> int:
    """The layer index of a module (the entry points above every layer)."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def test_layers_import_only_from_below():
    graph = _import_graph()
    assert _layer("rldistill.engine.loop") == LAYERS.index("engine") and _layer("rldistill.api") \
        == len(LAYERS)
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                    if _layer(d) > _layer(m))
    assert upward == []


def test_the_top_level_holds_only_the_entry_points_and_the_layers():
    files = {p.stem for p in SRC.glob("*.py")}
    assert files <= ENTRY_POINTS and len(files) <= 8, files
    folders = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(LAYERS), folders
