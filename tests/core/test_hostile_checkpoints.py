"""Hostile and damaged model files: each is refused with one line naming the file, exit 2 from the CLI,
before anything big is built or allocated."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from tests.core.test_trainer import write_pairs
from ukan_core.errors import CheckpointError
from ukan_core.io.checkpoint_schema import MAX_HEADER_BYTES, json_depth
from ukan_core.io.checkpoints import read_checkpoint_info, save_checkpoint
from ukan_core.model_refs import load_model, load_model_with_info
from ukan_core.models.registry import build_model

REPO = Path(__file__).resolve().parents[2]
TINY = {"embed_dims": [16, 24, 32]}


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("good") / "good.safetensors"
    save_checkpoint(build_model("ukan", TINY).eval(), path,
                    {"name": "good", "preprocessing": {"mode": "standard", "fit": "resize", "input_size": [64, 64]}})
    return path


def split_safetensors(path: Path) -> tuple[dict[str, Any], bytes]:
    """(outer header, tensor bytes) of a safetensors file."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def write_safetensors(path: Path, header: dict[str, Any] | bytes, tensor_bytes: bytes) -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + tensor_bytes)
    return path


def with_metadata(good: Path, dest: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of `good` whose UKAN Studio metadata is `change(metadata)` (or changed in place)."""
    header, tensors = split_safetensors(good)
    info = json.loads(header["__metadata__"]["ukan"])
    result = change(info)
    raw = result if isinstance(result, str) else json.dumps(info if result is None else result)
    header["__metadata__"]["ukan"] = raw
    return write_safetensors(dest, header, tensors)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda info: info.__setitem__(key, value)


def _set_in(outer: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda info: info[outer].__setitem__(key, value)


DEEP = "[" * 100_000 + "]" * 100_000
MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "preprocessing-string": (_set("preprocessing", "abc"), "preprocessing must be an object"),
    "preprocessing-list": (_set("preprocessing", [1, 2]), "preprocessing must be an object"),
    "preprocessing-unknown-key": (_set_in("preprocessing", "zoom", 2), "unknown key(s) 'zoom'"),
    "preprocessing-bad-mode": (_set_in("preprocessing", "mode", "bgr"), "preprocessing mode 'bgr'"),
    "preprocessing-size-31": (_set_in("preprocessing", "input_size", [31, 31]), "multiple of 32"),
    "preprocessing-size-huge": (_set_in("preprocessing", "input_size", [16384, 16384]), "to 4096"),
    "input-size-31": (_set("input_size", 31), "multiple of 32"),
    "input-size-abc": (_set("input_size", "abc"), "[height, width]"),
    "config-unknown-key": (_set_in("config", "depth", 9), "unknown key(s) 'depth'"),
    "config-string": (_set("config", "ukan-l"), "config must be an object"),
    "config-negative-embed": (_set_in("config", "embed_dims", [-16, 24, 32]), "embed_dims"),
    "config-wide-embed": (_set_in("config", "embed_dims", [16, 24, 100_000]), "between 1 and 2048"),
    "config-classes-float": (_set_in("config", "num_classes", 1.5), "whole number"),
    "architecture-unknown": (_set("architecture", "vit"), "unknown architecture 'vit'"),
    "metrics-string": (_set("metrics", "great"), "metrics must be an object"),
    "class-names-number": (_set("class_names", 3), "class_names"),
    "metadata-list": (lambda info: [info], "metadata is a list"),
    "metadata-not-json": (lambda info: "{not json", "not valid JSON"),
    "metadata-deep": (lambda info: '{"architecture": "ukan", "config": {}, "x": ' + DEEP + "}", "levels deep"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_is_one_line_naming_the_file(good_file: Path, tmp_path: Path, case: str) -> None:
    change, fragment = MALFORMED[case]
    bad = with_metadata(good_file, tmp_path / f"{case}.safetensors", change)
    with pytest.raises(CheckpointError) as exc:
        load_model(bad)
    text = str(exc.value)
    assert "\n" not in text and text.startswith(f"{case}.safetensors: ") and fragment in text, text
    with pytest.raises(CheckpointError):
        read_checkpoint_info(bad)  # what the store and the model list use: the same verdict


def test_unknown_top_level_keys_are_kept_so_newer_files_load(good_file: Path, tmp_path: Path) -> None:
    newer = with_metadata(good_file, tmp_path / "newer.safetensors", _set("calibration", {"t": 1.5}))
    _, info = load_model_with_info(newer)
    assert info["calibration"] == {"t": 1.5}


def test_an_outer_header_nested_100k_deep_is_refused(good_file: Path, tmp_path: Path) -> None:
    _, tensors = split_safetensors(good_file)
    bad = write_safetensors(tmp_path / "deep.safetensors", ('{"x": ' + DEEP + "}").encode(), tensors)
    with pytest.raises(CheckpointError, match=r"^deep\.safetensors: its header nests 100001 levels deep"):
        load_model(bad)


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth('"\\"[["') == 0 and json_depth("7") == 0


def test_tensors_declaring_more_bytes_than_the_file_are_refused(good_file: Path, tmp_path: Path) -> None:
    header, tensors = split_safetensors(good_file)
    key = next(k for k in header if k != "__metadata__")
    header[key]["shape"] = [1 << 20, 1 << 20]
    bad = write_safetensors(tmp_path / "liar.safetensors", header, tensors)
    with pytest.raises(CheckpointError, match=r"^liar\.safetensors: tensor .* beyond the file's"):
        load_model(bad)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good_file.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"^truncated\.safetensors: tensor .*truncated or damaged"):
        load_model(truncated)


def test_a_header_over_16_mb_is_refused(good_file: Path, tmp_path: Path) -> None:
    padding = "x" * (MAX_HEADER_BYTES + 10)
    bad = with_metadata(good_file, tmp_path / "fat.safetensors", _set("notes", padding))
    with pytest.raises(CheckpointError, match=r"^fat\.safetensors: its header declares 16 MB, more than the 16 MB"):
        load_model(bad)


def test_a_permission_denied_file_says_so(good_file: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file; permission cannot be denied")
    locked = tmp_path / "locked.safetensors"
    locked.write_bytes(good_file.read_bytes())
    locked.chmod(0)
    with pytest.raises(CheckpointError, match=r"^locked\.safetensors: permission denied"):
        load_model(locked)


def test_a_permission_error_while_reading_the_header_says_so(good_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == good_file.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    with pytest.raises(CheckpointError, match=r"^good\.safetensors: permission denied; make the file readable$"):
        load_model(good_file)


def test_a_permission_denied_official_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "official.pth"
    torch.save(build_model("ukan", TINY).state_dict(), path)
    real_open = Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == path.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    with pytest.raises(CheckpointError, match=r"^official\.pth: permission denied; make the file readable$"):
        load_model(path)


def test_a_permission_error_while_reading_the_tensors_says_so(good_file: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    def denied(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(safetensors.torch, "load_file", denied)
    with pytest.raises(CheckpointError, match=r"^good\.safetensors: permission denied") as exc:
        load_model(good_file)
    assert "corrupt" not in str(exc.value) and "damaged" not in str(exc.value)


def test_saved_checkpoints_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = save_checkpoint(build_model("ukan", TINY), tmp_path / "shared.safetensors", {})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


# -- official .pth -----------------------------------------------------------------------------
def test_a_deflated_pth_bomb_is_refused_by_its_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    torch.save({"final.weight": torch.zeros(16 * 1024 * 1024)}, buffer)  # 64 MB of zeros
    plain = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in plain.infolist():
            out.writestr(member.filename, plain.read(member))
    assert bomb.stat().st_size < 1024 * 1024

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("torch.load must not see a zip bomb")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(CheckpointError, match=r"^bomb\.pth: its zip members unpack to 64 MB from a 0\.\d MB file"):
        load_model(bomb)


def test_an_official_state_dict_with_too_wide_layers_is_refused_before_building(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core.models import registry

    state = build_model("ukan", TINY).state_dict()
    state["block2.0.norm2.weight"] = torch.zeros(4096)  # read as the width D2 of the KAN blocks
    path = tmp_path / "wide.pth"
    torch.save(state, path)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing may be built for a refused file")

    monkeypatch.setattr(registry, "build_model", never)
    with pytest.raises(CheckpointError, match=r"^wide\.pth: config embed_dims = \[16, 24, 4096\]: .*2048"):
        load_model(path)


# -- the CLI, as real processes ----------------------------------------------------------------
def _ukan(*args: str, memory_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ukan_core.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300, preexec_fn=limit if memory_limit else None)


def assert_refused(result: subprocess.CompletedProcess, file_name: str, fragment: str) -> None:
    err = result.stderr.strip()
    assert result.returncode == 2, err
    assert "Traceback" not in err and "\n" not in err, err
    assert err.startswith(f"error: {file_name}: ") and fragment in err, err


@pytest.mark.parametrize("case", ["preprocessing-string", "input-size-abc", "config-negative-embed"])
def test_segment_and_eval_exit_2_with_one_line(good_file: Path, tmp_path: Path, case: str) -> None:
    change, fragment = MALFORMED[case]
    bad = with_metadata(good_file, tmp_path / f"{case}.safetensors", change)
    data = write_pairs(tmp_path / "data", 2)
    image = next((data / "images").iterdir())
    assert_refused(_ukan("segment", str(image), "--out", str(tmp_path / "masks"), "--model", str(bad),
                         "--device", "cpu"), bad.name, fragment)
    assert not (tmp_path / "masks").exists() or not any((tmp_path / "masks").iterdir())
    assert_refused(_ukan("eval", str(data), "--model", str(bad), "--device", "cpu"), bad.name, fragment)


def test_a_huge_input_size_is_refused_before_allocating(good_file: Path, tmp_path: Path) -> None:
    """A small file declaring a 16384 x 16384 input would need gigabytes; under a 3 GB address-space
    limit the command must still end with one line and exit 2."""
    pytest.importorskip("resource")
    huge = with_metadata(good_file, tmp_path / "huge.safetensors",
                         lambda info: info.update(input_size=[16384, 16384],
                                                  preprocessing={"mode": "standard", "fit": "resize",
                                                                 "input_size": [16384, 16384]}))
    image = next((write_pairs(tmp_path / "data", 1) / "images").iterdir())
    result = _ukan("segment", str(image), "--out", str(tmp_path / "masks"), "--model", str(huge), "--device", "cpu",
                   memory_limit=3 * 1024**3)
    assert_refused(result, huge.name, "from 32 to 4096")


@pytest.mark.parametrize("key, tensor", [("encoder3.conv.0.weight", torch.zeros(())),   # no shape to read
                                         ("final.weight", torch.zeros(0, 4, 1, 1))])     # zero classes
def test_official_state_dicts_with_absurd_shapes_are_one_line(tmp_path: Path, key: str, tensor: torch.Tensor) -> None:
    state = build_model("ukan", TINY).state_dict()
    state[key] = tensor
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert str(exc.value).startswith("odd.pth: ") and "\n" not in str(exc.value), exc.value
