"""The model store: versions appear whole or not at all, selection, rollback, delete rules, bundled models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ukan_core.errors import StoreError
from ukan_core.io import checkpoints
from ukan_core.io.checkpoints import read_checkpoint_info, save_checkpoint
from ukan_core.models.registry import build_model
from ukan_core.store import BUNDLED, ModelStore

REPO = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("ukan", {"embed_dims": [16, 24, 32]}).eval()


@pytest.fixture()
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "store", bundled_dir=tmp_path / "bundled")


def test_versions_are_numbered_selected_and_listed(store: ModelStore, model) -> None:
    first = store.add_version("liver", model, {"metrics": {"iou": 0.61}})
    second = store.add_version("liver", model, {"parent": "liver/v0001", "metrics": {"iou": 0.7}})
    assert (first.version, second.version) == ("v0001", "v0002")
    assert second.selected and store.selected("liver") == "v0002"
    folder = store.root / "liver" / "v0002"
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.safetensors"]
    assert json.loads((folder / "model.json").read_text()) == read_checkpoint_info(folder / "model.safetensors")
    assert second.metadata["name"] == "liver" and second.metadata["version"] == "v0002"
    assert second.metrics == {"iou": 0.7}
    assert [v.version for v in store.versions("liver")] == ["v0001", "v0002"]
    assert json.loads((store.root / "liver" / "selected.json").read_text()) == {"version": "v0002"}

    store.add_version("other", model, {}, select=False)
    entries = {e.name: e for e in store.list_models()}
    assert set(entries) == {"liver", "other"}
    assert entries["liver"].selected == "v0002" and entries["liver"].current.version == "v0002"
    assert not entries["liver"].read_only


def test_select_and_rollback_follow_the_parent(store: ModelStore, model) -> None:
    store.add_version("m", model, {})
    store.add_version("m", model, {"parent": "m/v0001"})
    store.add_version("m", model, {"parent": "v0002"})
    assert store.rollback("m") == "v0002"
    assert store.rollback("m") == "v0001"
    with pytest.raises(StoreError, match="no parent"):
        store.rollback("m")
    store.select("m", "v0003")
    assert store.selected("m") == "v0003"
    with pytest.raises(StoreError, match="m/v0007"):
        store.select("m", "v0007")


def test_rollback_to_a_parent_in_another_model_says_so(store: ModelStore, model) -> None:
    store.add_version("base", model, {})
    store.add_version("child", model, {"parent": "base/v0001"})
    with pytest.raises(StoreError, match="another model"):
        store.rollback("child")


def test_delete_rules(store: ModelStore, model) -> None:
    store.add_version("m", model, {})
    with pytest.raises(StoreError, match="only version"):
        store.delete("m", "v0001")
    store.add_version("m", model, {"parent": "m/v0001"})
    with pytest.raises(StoreError, match="selected version"):
        store.delete("m", "v0002")
    store.delete("m", "v0001")
    assert [v.version for v in store.versions("m")] == ["v0002"]
    # Numbers are never reused, so a child's "parent" can never name a different model.
    assert store.add_version("m", model, {}).version == "v0003"
    store.delete("m", "v0003", force=True)
    assert store.selected("m") == "v0002"
    with pytest.raises(StoreError, match="no such version"):
        store.delete("m", "v0001")
    store.delete("m", "v0002", force=True)
    assert "m" not in store.names()


def test_bundled_models_are_listed_read_only(store: ModelStore, model, tmp_path: Path) -> None:
    save_checkpoint(model, store.bundled_dir / "demo.safetensors", {"name": "demo", "metrics": {"iou": 0.8}})
    entry = store.list_models()[0]
    assert (entry.name, entry.selected, entry.read_only) == ("demo", BUNDLED, True)
    assert entry.versions[0].metadata["metrics"] == {"iou": 0.8}
    assert store.path("demo") == store.bundled_dir / "demo.safetensors"
    with pytest.raises(StoreError, match="read-only"):
        store.delete("demo", BUNDLED, force=True)

    # Fine-tuning the bundled model under its own name adds versions beside it.
    store.add_version("demo", model, {"parent": "demo/bundled"})
    assert [v.version for v in store.versions("demo")] == [BUNDLED, "v0001"]
    assert store.rollback("demo") == BUNDLED
    assert store.path("demo") == store.bundled_dir / "demo.safetensors"


def test_export_copies_the_checkpoint(store: ModelStore, model, tmp_path: Path) -> None:
    store.add_version("m", model, {})
    dest = store.export("m", None, tmp_path / "out" / "m.safetensors")
    assert dest.read_bytes() == store.path("m", "v0001").read_bytes()
    into_folder = store.export("m", "v0001", tmp_path / "out")
    assert into_folder.name == "m-v0001.safetensors"


def test_a_failure_inside_save_leaves_no_visible_version(store: ModelStore, model,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_version("m", model, {})

    def crash(model, path, metadata, *, half=False):
        Path(path).write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_checkpoint", crash)
    with pytest.raises(OSError, match="disk full"):
        store.add_version("m", model, {})
    assert [v.version for v in store.versions("m")] == ["v0001"]
    assert store.selected("m") == "v0001"
    assert sorted(p.name for p in (store.root / "m").iterdir()) == ["selected.json", "v0001"]


def test_a_killed_save_is_ignored_then_cleaned(store: ModelStore, model) -> None:
    store.add_version("m", model, {})
    leftover = store.root / "m" / "v0002.partial"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"truncated")
    (store.root / "m" / "v0009").mkdir()  # a version folder without a checkpoint is not a version
    assert [v.version for v in store.versions("m")] == ["v0001"]

    old = time.time() - 2 * store.stale_after_s
    os.utime(leftover, (old, old))
    added = store.add_version("m", model, {})
    assert not leftover.exists()
    assert added.version == "v0010"


def test_a_damaged_selection_file_falls_back_to_the_newest(store: ModelStore, model) -> None:
    store.add_version("m", model, {})
    store.add_version("m", model, {}, select=False)
    (store.root / "m" / "selected.json").write_text("{not json")
    assert store.selected("m") == "v0002"


def test_unknown_names_and_bad_names(store: ModelStore, model) -> None:
    with pytest.raises(StoreError, match="unknown model 'nope'"):
        store.versions("nope")
    with pytest.raises(StoreError, match="model name"):
        store.add_version("../escape", model, {})


def test_listing_does_not_import_torch(tmp_path: Path, model) -> None:
    store = ModelStore(tmp_path / "s", bundled_dir=tmp_path / "b")
    store.add_version("m", model, {"metrics": {"iou": 0.5}})
    code = (
        "import sys\nfrom ukan_core.store import ModelStore\n"
        f"s = ModelStore({str(store.root)!r}, bundled_dir={str(store.bundled_dir)!r})\n"
        "e = s.list_models()[0]\n"
        "print(e.name, e.selected, e.current.metrics['iou'], 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["m", "v0001", "0.5", "False"]


def test_default_root_is_the_user_model_store(isolated_home: Path) -> None:
    assert ModelStore().root == isolated_home / "data" / "models"
