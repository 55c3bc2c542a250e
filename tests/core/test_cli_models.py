"""`ukan models list|export|select|rollback|delete` on a store in the test's own UKAN_STUDIO_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ukan_core.cli.main import main
from ukan_core.io.checkpoints import read_checkpoint_info, save_checkpoint
from ukan_core.models.registry import build_model
from ukan_core.store import ModelStore



@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("ukan", {"embed_dims": [16, 24, 32]}).eval()


@pytest.fixture()
def store(model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelStore:
    from ukan_core import store as store_module

    bundled = tmp_path / "bundled"
    monkeypatch.setattr(store_module, "bundled_models_dir", lambda: bundled)
    save_checkpoint(model, bundled / "demo.safetensors", {"name": "demo", "created": "2026-01-02T03:04:05+00:00"})
    store = ModelStore()
    store.add_version("liver", model, {"metrics": {"iou": 0.61234, "f1": 0.7}})
    store.add_version("liver", model, {"parent": "liver/v0001", "metrics": {"iou": 0.7}})
    return store


def test_list_shows_versions_selection_and_metrics(store: ModelStore, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    demo, v1, v2 = lines
    assert demo.startswith("* demo/bundled") and "2026-01-02 03:04" in demo and demo.endswith("read-only")
    assert v1.startswith("  liver/v0001") and "iou=0.612" in v1 and "f1=0.700" in v1
    assert v2.startswith("* liver/v0002") and "iou=0.700" in v2


def test_list_of_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture) -> None:
    from ukan_core import store as store_module

    monkeypatch.setattr(store_module, "bundled_models_dir", lambda: tmp_path / "none")
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.startswith("no models yet")


def test_select_rollback_and_export(store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "rollback", "liver"]) == 0
    assert capsys.readouterr().out.strip() == "rolled back liver: v0002 -> v0001"
    assert store.selected("liver") == "v0001"
    assert main(["models", "select", "liver/v0002"]) == 0
    assert store.selected("liver") == "v0002"
    assert main(["models", "select", "liver", "v0001"]) == 0
    assert store.selected("liver") == "v0001"

    dest = tmp_path / "exported.safetensors"
    assert main(["models", "export", "liver", str(dest)]) == 0
    assert read_checkpoint_info(dest)["version"] == "v0001"
    assert main(["models", "export", "liver/v0002", str(dest)]) == 2  # an existing file is not overwritten
    err = capsys.readouterr().err.strip()
    assert err == f"error: {dest}: already exists; not overwritten (pass --overwrite to replace it)"
    assert read_checkpoint_info(dest)["version"] == "v0001"
    assert main(["models", "export", "liver/v0002", str(dest), "--overwrite"]) == 0
    assert read_checkpoint_info(dest)["version"] == "v0002"


def test_delete_rules_are_explained(store: ModelStore, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "delete", "liver/v0002"]) == 2
    assert "selected version" in capsys.readouterr().err
    assert main(["models", "delete", "demo/bundled", "--force"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["models", "delete", "liver/v0001"]) == 0
    assert [v.version for v in store.versions("liver")] == ["v0002"]
    assert main(["models", "delete", "liver/v0002"]) == 2
    assert "only version" in capsys.readouterr().err
    assert main(["models", "delete", "liver/v0002", "--force"]) == 0
    assert "liver" not in store.names()


def test_unknown_models_and_versions_exit_two(store: ModelStore, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "select", "liver/v0042"]) == 2
    assert capsys.readouterr().err.startswith("error: liver/v0042: no such version")
    assert main(["models", "export", "nope", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'nope'") and "demo" in err and "liver" in err


def test_list_names_unreadable_versions_on_stderr_and_lists_the_rest(store: ModelStore, model,
                                                                     capsys: pytest.CaptureFixture) -> None:
    store.add_version("liver", model, {"metrics": {"iou": 0.8}})
    v1, v2, v3 = (store.root / "liver" / v for v in ("v0001", "v0002", "v0003"))
    (v1 / "model.json").write_text('{"metrics": "great", "created": 5}')   # wrong types: header is used
    (v2 / "model.json").write_text("[" * 100_000 + "]" * 100_000)        # absurd nesting: header is used
    (v3 / "model.json").write_text('{"metrics": [1, 2]}')
    (v3 / "model.safetensors").write_bytes(b"\0" * 7)                     # and the checkpoint is broken too
    assert main(["models", "list"]) == 1
    captured = capsys.readouterr()
    listed = [line[2:].split()[0] for line in captured.out.splitlines()]
    assert listed == ["demo/bundled", "liver/v0001", "liver/v0002"]
    assert "iou=0.612" in captured.out and "iou=0.700" in captured.out   # metadata from the headers
    (warning,) = captured.err.strip().splitlines()
    assert warning == (f"warning: liver/v0003 is unreadable: {v3 / 'model.safetensors'}: "
                       f"not a UKAN Studio checkpoint (.safetensors)")
