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
