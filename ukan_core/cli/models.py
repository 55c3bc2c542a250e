"""`ukan models`: list, export, select, roll back and delete model versions in the model store.

    ukan models list
    ukan models export NAME[/VERSION] FILE[.safetensors|.onnx] [--format safetensors|onnx] [--overwrite]
    ukan models select NAME/VERSION          (or: select NAME VERSION)
    ukan models rollback NAME
    ukan models delete NAME/VERSION [--force]

Bundled models appear as the read-only version "bundled" of their name. `list` names each
unreadable version on stderr, lists the others and then exits 1. `export` writes the checkpoint
(or, for FILE.onnx or --format onnx, an ONNX graph; needs the `[onnx]` extra) and its model card
`<file stem>.model-card.md` beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ukan_core.errors import OutputExistsError, UkanError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, export, select, roll back or delete model versions",
        description="Manage the model store: named models with versions v0001, v0002, ... and one selected.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="every model and version; '*' marks the selected one")
    listing.set_defaults(func=run_list)

    export = actions.add_parser("export", help="write a version as a .safetensors checkpoint or an ONNX model, "
                                               "with its model card")
    export.add_argument("model", metavar="NAME[/VERSION]", help="default version: the selected one")
    export.add_argument("file", type=Path, metavar="FILE", help="destination file (or folder); the format follows "
                                                               "the suffix (.safetensors or .onnx)")
    export.add_argument("--format", choices=("safetensors", "onnx"), default=None,
                        help="the file format when FILE's suffix does not say it (default: safetensors)")
    export.add_argument("--overwrite", action="store_true", help="replace FILE and its model card if they exist")
    export.set_defaults(func=run_export)

    select = actions.add_parser("select", help="make a version the one used by default")
    select.add_argument("model", metavar="NAME/VERSION")
    select.add_argument("version", nargs="?", default=None, metavar="VERSION", help="when not given in NAME/VERSION")
    select.set_defaults(func=run_select)

    rollback = actions.add_parser("rollback", help="select the parent of the selected version")
    rollback.add_argument("name", metavar="NAME")
    rollback.set_defaults(func=run_rollback)

    delete = actions.add_parser("delete", help="delete a version (never a bundled model)")
    delete.add_argument("model", metavar="NAME/VERSION")
    delete.add_argument("--force", action="store_true", help="also delete the selected or the only version")
    delete.set_defaults(func=run_delete)


def _store() -> Any:
    from ukan_core.store import ModelStore

    return ModelStore()


def run_list(args: argparse.Namespace) -> int:
    store = _store()
    entries = store.list_models()
    if not entries:
        print(f"no models yet (store: {store.root})")
        return 0
    rows, unreadable = [], 0
    for entry in entries:
        for v in entry.versions:
            if v.problem:  # one bad version must not hide the others: say why on stderr, list the rest
                print(f"warning: {v.ref} is unreadable: {v.path}: {v.problem.partition(': ')[2] or v.problem}",
                      file=sys.stderr)
                unreadable += 1
                continue
            notes = "read-only" if v.read_only else ""
            rows.append(("*" if v.selected else " ", v.ref, _short_time(v.created), _metrics(v.metrics), notes))
    if not rows:
        print(f"no readable models (store: {store.root})")
        return 1
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for marker, *cells in rows:
        padded = [cell.ljust(widths[i + 1]) for i, cell in enumerate(cells[:3])] + cells[3:]
        print(f"{marker} " + "  ".join(padded).rstrip())
    return 1 if unreadable else 0


def run_export(args: argparse.Namespace) -> int:
    from ukan_core.model_export import export_model

    name, version = _split(args.model)
    store = _store()
    version = version or store.selected(name)
    try:
        result = export_model(store, name, version, args.file, fmt=args.format, overwrite=args.overwrite)
    except OutputExistsError as exc:
        raise UkanError(f"{exc} (pass --overwrite to replace it)") from None
    print(f"exported {name}/{version} -> {result.file} (model card: {result.card.name})")
    return 0


def run_select(args: argparse.Namespace) -> int:
    name, version = _split(args.model)
    version = version or args.version
    if not version:
        raise UkanError(f"{args.model}: say which version (NAME/VERSION)")
    _store().select(name, version)
    print(f"selected {name}/{version}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    name, _ = _split(args.name)
    store = _store()
    before = store.selected(name)
    after = store.rollback(name)
    print(f"rolled back {name}: {before} -> {after}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    name, version = _split(args.model)
    if not version:
        raise UkanError(f"{args.model}: say which version to delete (NAME/VERSION)")
    store = _store()
    store.delete(name, version, force=args.force)
    print(f"deleted {name}/{version}")
    return 0


def _split(text: str) -> tuple[str, str | None]:
    name, _, version = text.strip().strip("/").partition("/")
    if not name:
        raise UkanError("no model name given")
    return name, version or None


def _short_time(created: str | None) -> str:
    return (created or "-").replace("T", " ")[:16]


def _metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts[:4]) or "-"
