"""`ukan <command>`: parse the arguments, call the library, print; errors become one line.

Each sub-command lives in its own module `ukan_core.cli.<name>` with
`register(subparsers) -> None` (adds its parser and sets `func=run`) and `run(args) -> int`.
Exit codes: 0 success, 1 some items failed, 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ukan_core import __version__
from ukan_core.errors import UkanError

# Order shown in `ukan --help`.
COMMANDS = ("segment", "export", "import-masks", "synth", "train", "finetune", "rank", "eval", "models", "explain",
            "generate", "train-generator")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ukan",
        description="U-KAN segmentation, training, explainability and generation from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"ukan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module_name = f"ukan_core.cli.{name.replace('-', '_')}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except UkanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
