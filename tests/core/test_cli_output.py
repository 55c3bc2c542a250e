"""What the commands print: --json is one JSON line on stdout, progress only on a terminal,
`ukan-studio --version`, and the README's synopsis lines agree with the real parsers."""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_cli_segment import save_tiny
from ukan_core import __version__
from ukan_core.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                QT_QPA_PLATFORM="offscreen")


def test_eval_json_prints_exactly_one_json_line_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    assert main(["synth", "--n", "3", "--size", "64", "--out", str(data), "--seed", "1"]) == 0
    model = save_tiny(tmp_path / "tiny.safetensors")
    capsys.readouterr()
    assert main(["eval", str(data), "--model", str(model), "--json", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert json.loads(lines[0])["n"] == 3
    assert "IoU" in captured.err   # the human summary moved to stderr
    assert main(["eval", str(data), "--model", str(model), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith("3 images: IoU")   # without --json it stays on stdout


def test_every_json_flag_is_documented_as_one_line_on_stdout() -> None:
    for name, sub in _subparsers().items():
        for action in sub._actions:
            if "--json" in action.option_strings:
                assert "one JSON line on stdout" in (action.help or ""), name


def _run_in_terminal(args: list[str], timeout: float = 180) -> tuple[int, str]:
    """Run `python args...` with stdin/stdout/stderr on a pseudo-terminal that reports 0 x 0."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:   # the child: a terminal of unknown size, as in some consoles and CI runners
        try:
            os.execve(sys.executable, [sys.executable, *args], _env())
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal test (Linux)")
def test_generate_shows_progress_on_a_terminal_and_nothing_extra_in_a_pipe(tmp_path: Path) -> None:
    args = ["-m", "ukan_core.cli.main", "generate", "--n", "1", "--steps", "3", "--seed", "0", "--device", "cpu"]
    code, shown = _run_in_terminal([*args, "--out", str(tmp_path / "tty")])
    assert code == 0, shown
    assert "loading " in shown and "generating 1 with" in shown and "step" in shown
    piped = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "pipe")], env=_env(),
                           capture_output=True, text=True, timeout=180)
    assert piped.returncode == 0 and piped.stderr == ""
    assert len(piped.stdout.splitlines()) == 1 and piped.stdout.startswith("wrote 1 ")


def test_ukan_studio_version_prints_and_exits_0_without_a_window() -> None:
    script = "from ukan_studio.app import main; raise SystemExit(main(['--version']))"
    out = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ukan-studio {__version__}"


# -- the README's synopsis --------------------------------------------------------------------
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _synopsis_lines() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].rstrip() for line in block.splitlines() if line.startswith("ukan ")]


def _flags_by_bracket(line: str) -> dict[str, bool]:
    """{--flag: True when it is written inside [brackets]}."""
    flags, depth = {}, 0
    for token in re.findall(r"\[|\]|--[a-z][a-z0-9-]*", line):
        if token == "[":
            depth += 1
        elif token == "]":
            depth -= 1
        else:
            flags[token] = depth > 0
    return flags


def test_readme_synopsis_brackets_match_the_parsers() -> None:
    parsers = _subparsers()
    lines = _synopsis_lines()
    assert {line.split()[1] for line in lines} == set(parsers)   # every command has a line
    for line in lines:
        sub = parsers[line.split()[1]]
        options = {s: a for a in sub._actions for s in a.option_strings}
        for flag, optional in _flags_by_bracket(line).items():
            assert flag in options, f"{line}: {flag} is not an option of the command"
            assert optional == (not options[flag].required), f"{line}: {flag} brackets do not match the parser"
        for action in sub._actions:
            if action.required and action.option_strings:
                assert action.option_strings[-1] in line, f"{line}: required {action.option_strings[-1]} missing"
