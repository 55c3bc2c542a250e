"""The dependency rules: ukan_core never imports Qt or the app; the app's start does not need torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {"PySide6", "pyqtgraph", "superqt", "ukan_studio", "matplotlib"}


def _top_level_imports(path: Path) -> set[str]:
    """Names imported at module level (imports inside functions are allowed to be lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_gui_packages_at_module_level() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_top_level_imports(path) & FORBIDDEN_IN_CORE)
        for path in (REPO / "ukan_core").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"ukan_core modules importing GUI packages: {offenders}"


def test_importing_the_whole_core_loads_no_qt() -> None:
    code = (
        "import importlib, pkgutil, sys, ukan_core\n"
        "for m in pkgutil.walk_packages(ukan_core.__path__, 'ukan_core.'):\n"
        "    if m.name.endswith('__main__'): continue\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in ('PySide6', 'pyqtgraph', 'ukan_studio', 'matplotlib') if n in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing ukan_core loaded: {out.stdout.strip()}"


def test_cli_help_does_not_import_torch() -> None:
    code = "import sys; from ukan_core.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "`ukan --help` should not pay for importing torch"


# -- ukan_core: no import cycles, no Qt anywhere, no oversized module ----------------------------
CORE_MODULE_MAX_LINES = 410   # "a file past ~400 lines is asking to be split"
QT_AND_APP = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "ukan_studio"}


def _core_import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports: module-level, in functions and under TYPE_CHECKING."""
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (root / package).rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                deps.update(filter(None, (known(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]) if node.level \
                    else (node.module or "")
                for alias in node.names:
                    target = known(f"{base.rstrip('.')}.{alias.name}")
                    deps.add(target if target in files and target != base.rstrip(".") else known(base.rstrip(".")))
        deps.discard(None)
        deps.discard(module)
        graph[module] = deps
    return graph


def _import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_core_has_no_import_cycles_no_qt_and_no_oversized_module(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    (demo / "sub").mkdir(parents=True)
    (demo / "__init__.py").write_text("")
    (demo / "sub" / "__init__.py").write_text("")
    (demo / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo.sub import b\n")
    (demo / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    assert _import_cycles(_core_import_graph(tmp_path, "demo")) == [["demo.a", "demo.sub.b"]]   # the check sees them

    assert _import_cycles(_core_import_graph(REPO, "ukan_core")) == []
    gui = {}
    for path in (REPO / "ukan_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            bad = {n.split(".")[0] for n in names} & QT_AND_APP
            if bad:
                gui[str(path.relative_to(REPO))] = sorted(bad)
    assert not gui, f"ukan_core modules importing Qt or the app (even inside functions): {gui}"
    long = {str(p.relative_to(REPO)): n for p in (REPO / "ukan_core").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > CORE_MODULE_MAX_LINES}
    assert not long, f"ukan_core modules to split (over {CORE_MODULE_MAX_LINES} lines): {long}"


# -- the app's rooms: no import cycles, views apart from workers and the model store ---------------

STUDIO = REPO / "ukan_studio"
VIEW_FOLDERS = ("panels", "canvas")
FORBIDDEN_IN_VIEWS = ("ukan_studio.workers", "ukan_core.store", "ukan_studio.controllers", "ukan_studio.jobs")
WORKER_USERS = ("ukan_studio/controllers/", "ukan_studio/workers/")
MAX_STUDIO_LINES = 410   # "one idea per file": a file past ~400 lines is split


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(path: Path) -> set[str]:
    """Every module name `path` imports anywhere: module level, inside functions, under TYPE_CHECKING.

    `from a.b import c` yields both "a.b" and "a.b.c" (c may be a module); relative imports are resolved.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def _studio_import_graph() -> dict[str, set[str]]:
    """Module → the ukan_studio modules it imports (a name resolves to its longest module prefix)."""
    modules = {_module_name(p): p for p in STUDIO.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(n) for n in _imported_names(path) if n.startswith("ukan_studio")}
        graph[module] = {t for t in targets if t and t != module and t != "ukan_studio"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_studio_modules_import_each_other_without_cycles() -> None:
    cycles = _cycles(_studio_import_graph())
    assert not cycles, f"import cycles among ukan_studio modules (counting function-level and TYPE_CHECKING " \
                       f"imports): {cycles}; move the shared part into a third module or use a Protocol"


def test_panels_and_canvas_import_neither_workers_nor_the_model_store() -> None:
    offenders = {}
    for folder in VIEW_FOLDERS:
        for path in (STUDIO / folder).rglob("*.py"):
            bad = sorted(n for n in _imported_names(path)
                         if any(n == f or n.startswith(f + ".") for f in FORBIDDEN_IN_VIEWS))
            if bad:
                offenders[str(path.relative_to(REPO))] = bad
    assert not offenders, f"views must get plain data from the core or the controllers: {offenders}"


def test_only_controllers_create_workers() -> None:
    offenders = sorted(str(p.relative_to(REPO)) for p in STUDIO.rglob("*.py")
                       if not str(p.relative_to(REPO).as_posix()).startswith(WORKER_USERS)
                       and any(n.startswith("ukan_studio.workers.") for n in _imported_names(p)
                               if not n.startswith("ukan_studio.workers.base")))
    assert not offenders, f"workers are made by a controller (ukan_studio/controllers/), not here: {offenders}"


def test_studio_files_stay_short() -> None:
    long_files = {str(p.relative_to(REPO)): n for p in STUDIO.rglob("*.py")
                  if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_STUDIO_LINES}
    assert not long_files, f"split these files by idea (over {MAX_STUDIO_LINES} lines): {long_files}"
