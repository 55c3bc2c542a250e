"""Activation capture, heatmaps, rankings and learned KAN functions on tiny U-KANs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ukan_core.errors import UkanError
from ukan_core.explain import (
    ActivationRecorder,
    blend,
    capture_activations,
    compare_kan_mlp,
    edge_function,
    explain_image,
    kan_edge_functions,
    kan_layer_names,
    layer_names,
    plot_edge_functions,
    rank_channels,
    resolve_layer,
    score_activations,
)
from ukan_core.models.kan import KANLinear
from ukan_core.models.ukan import UKAN
from ukan_core.preprocess import Preprocessing, prepare

TINY = (16, 24, 32)
RESIZE64 = Preprocessing(mode="standard", fit="resize", input_size=(64, 64))



@pytest.fixture(scope="module")
def tiny(one_thread) -> UKAN:
    torch.manual_seed(0)
    return UKAN(embed_dims=TINY).eval()


def _image(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_layer_names_in_forward_order(tiny):
    names = layer_names(tiny)
    assert names[:4] == ["block1.0.layer.fc1", "block1.0.layer.fc2", "block1.0.layer.fc3", "block1.0"]
    assert names[-1] == "dblock2.0" and len(names) == 16
    assert resolve_layer(tiny, "dblock2") == "dblock2.0"
    assert resolve_layer(tiny, "block1.fc2") == "block1.0.layer.fc2"
    assert resolve_layer(tiny, "block2.0.layer.fc3") == "block2.0.layer.fc3"
    assert resolve_layer(tiny, "dblock1.0.fc1") == "dblock1.0.layer.fc1"
    with pytest.raises(UkanError, match="unknown layer"):
        resolve_layer(tiny, "encoder1")


def test_a_model_without_token_blocks_is_refused():
    with pytest.raises(UkanError, match="no tokenized KAN blocks"):
        layer_names(nn.Sequential(nn.Conv2d(3, 3, 1)))


def test_hooks_give_token_grid_shapes(tiny):
    x = torch.from_numpy(np.stack([prepare(_image(seed=s), RESIZE64) for s in range(2)]))
    with ActivationRecorder(tiny) as rec, torch.inference_mode():
        tiny(x)
    expected = {"block1": (24, 4, 4), "block2": (32, 2, 2), "dblock1": (24, 4, 4), "dblock2": (16, 8, 8)}
    assert set(rec.maps) == set(layer_names(tiny))
    for name, tensor in rec.maps.items():
        assert tuple(tensor.shape) == (2, *expected[name.split(".")[0]]), name


def test_hooked_maps_equal_a_hand_computed_forward(tiny):
    x = torch.from_numpy(prepare(_image(seed=5), RESIZE64))[None]
    with ActivationRecorder(tiny, ["block1.fc1", "block1"]) as rec, torch.inference_mode():
        tiny(x)
    with torch.inference_mode():
        t = x
        for enc in (tiny.encoder1, tiny.encoder2, tiny.encoder3):
            t = F.relu(F.max_pool2d(enc(t), 2, 2))
        tokens, h, w = tiny.patch_embed3(t)
        block = tiny.block1[0]
        fc1 = block.layer.fc1(block.norm2(tokens).reshape(h * w, -1))
        out = block(tokens, h, w)
    grid = lambda tok: tok.reshape(1, h, w, -1).permute(0, 3, 1, 2)  # noqa: E731
    torch.testing.assert_close(rec.maps["block1.0.layer.fc1"], grid(fc1))
    torch.testing.assert_close(rec.maps["block1.0"], grid(out))


def test_capture_leaves_the_model_as_it_was(tiny):
    x = torch.from_numpy(prepare(_image(seed=1), RESIZE64))[None]
    with torch.inference_mode():
        before = tiny(x)
    tiny.train()
    capture_activations(tiny, [_image(seed=1)], RESIZE64)
    assert tiny.training
    tiny.eval()
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in tiny.modules())
    with torch.inference_mode():
        torch.testing.assert_close(tiny(x), before)


@pytest.mark.parametrize("fit", ["resize", "pad"])
def test_maps_upsample_to_the_images_own_size(tiny, fit):
    pre = Preprocessing(mode="standard", fit=fit, input_size=(64, 64))
    image = _image(70, 45)
    acts = capture_activations(tiny, [image], pre)[0]
    assert acts.image_size == (70, 45)
    assert acts.network_size == ((64, 64) if fit == "resize" else (96, 64))
    assert acts.token_grid("dblock2.0") == ((8, 8) if fit == "resize" else (12, 8))
    up = acts.upsampled("dblock2.0", [0, 3])
    assert up.shape == (2, 70, 45) and up.dtype == np.float32
    assert acts.probability.shape == (1, 70, 45)
    heat = acts.channel_map("block2.0", 1)
    assert heat.shape == (70, 45) and heat.min() == 0.0 and heat.max() == 1.0
    if fit == "pad":  # the token grid covers the padded input: upsample to it, then crop
        token = torch.from_numpy(acts.maps["dblock2.0"][[0]])[None]
        full = F.interpolate(token, size=(96, 64), mode="bilinear", align_corners=False)[0, 0]
        np.testing.assert_allclose(up[0], full[:70, :45].numpy(), atol=1e-6)


@pytest.mark.parametrize("fit, size, net", [("resize", (37, 53), (64, 64)), ("pad", (40, 70), (64, 96)),
                                            ("resize", (5, 300), (64, 64))])
def test_numpy_upsampling_matches_torch(fit, size, net):
    from ukan_core.explain import to_image_size

    maps = np.random.default_rng(1).normal(size=(5, net[0] // 8, net[1] // 8)).astype(np.float32)
    target = size if fit == "resize" else net
    expected = F.interpolate(torch.from_numpy(maps)[None], size=target, mode="bilinear", align_corners=False)[0]
    got = to_image_size(maps, size, net, fit)
    assert got.shape == (5, *size) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected[:, :size[0], :size[1]].numpy(), atol=1e-5)


def test_constant_channel_heatmap_is_zeros(tiny):
    acts = capture_activations(tiny, [_image()], RESIZE64)[0]
    acts.maps["dblock2.0"][2] = 3.0
    assert (acts.channel_map("dblock2.0", 2) == 0).all()
    assert not np.isnan(acts.aggregate("dblock2.0", "mean")).any()


def test_aggregates_and_blend(tiny):
    ex = explain_image(tiny, _image(64, 96), preprocessing=RESIZE64, layers=["dblock2"])
    for how in ("topk", "mean", "max"):
        agg = ex.aggregate("dblock2.0", how, k=3)
        assert agg.shape == (64, 96) and 0.0 <= agg.min() and agg.max() <= 1.0
    top3 = ex.scores["dblock2.0"].top_channels(3)
    np.testing.assert_allclose(ex.aggregate("dblock2.0", "topk", 3),
                               ex.activations.aggregate("dblock2.0", "mean", top3))
    picture = blend(_image(64, 96), ex.heatmap("dblock2.0", top3[0]), alpha=0.4)
    assert picture.shape == (64, 96, 3) and picture.dtype == np.uint8
    with pytest.raises(ValueError):
        ex.aggregate("dblock2.0", "median")


def test_reference_precedence_and_predicted_fallback(tiny):
    image = _image(seed=2)
    gt = np.zeros((64, 64), np.uint8)
    gt[10:30, 10:30] = 1
    corrected = np.zeros((64, 64), np.uint8)
    corrected[40:60, 40:60] = 255
    assert explain_image(tiny, image, preprocessing=RESIZE64, layers=["dblock2"], ground_truth=gt,
                         corrected=corrected).reference_kind == "ground_truth"
    ex = explain_image(tiny, image, preprocessing=RESIZE64, layers=["dblock2"], corrected=corrected)
    assert ex.reference_kind == "corrected" and ex.reference.sum() == 400
    assert {s.reference for s in ex.scores["dblock2.0"].scores} == {"corrected"}
    ex = explain_image(tiny, image, preprocessing=RESIZE64, layers=["dblock2"])
    assert ex.reference_kind == "predicted"
    np.testing.assert_array_equal(ex.reference, ex.activations.probability[0] > 0.5)
    with pytest.raises(ValueError, match="mask is"):
        explain_image(tiny, image, preprocessing=RESIZE64, layers=["dblock2"], ground_truth=gt[:32])


def test_layer_scores_match_direct_piou(tiny):
    from ukan_core.explain import plausibility_iou

    image = _image(seed=4)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:50, 5:35] = 1
    acts = capture_activations(tiny, [image], RESIZE64, ["block1.fc3"])[0]
    scores = score_activations(acts, "block1.0.layer.fc3", mask, "ground_truth")
    for s in scores.scores[:5]:
        assert s.plausibility_iou == pytest.approx(plausibility_iou(acts.upsampled(s.layer, [s.channel])[0], mask))


def test_kan_and_mlp_rankings_side_by_side():
    torch.manual_seed(1)
    kan, mlp = UKAN(embed_dims=TINY).eval(), UKAN(embed_dims=TINY, no_kan=True).eval()
    assert layer_names(mlp) == layer_names(kan)
    images = [_image(seed=s) for s in range(2)]
    masks = [np.pad(np.ones((20, 20), np.uint8), 22), None]
    cmp = compare_kan_mlp(kan, mlp, images, masks, layer="dblock1")
    assert cmp.layer == "dblock1.0"
    assert len(cmp.kan.scores) == len(cmp.mlp.scores) == 24
    assert cmp.kan.reference == "mixed" and cmp.kan.images == 2
    rows = cmp.rows(3)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["kan_piou"] >= rows[1]["kan_piou"] and rows[0]["mlp_piou"] >= rows[1]["mlp_piou"]
    summary = cmp.summary(3)
    assert set(summary) == {"kan_top3_piou", "kan_mean_piou", "mlp_top3_piou", "mlp_mean_piou"}


# -- learned functions -------------------------------------------------------------------------
def test_edge_functions_are_ranked_and_agree_with_the_layer():
    torch.manual_seed(2)
    layer = KANLinear(4, 3)
    with torch.no_grad():
        layer.spline_weight.normal_(0, 0.5)
    edges = kan_edge_functions(layer, top=12)
    assert len(edges) == 12
    norms = [e.l2_norm for e in edges]
    assert norms == sorted(norms, reverse=True)
    for e in edges:  # the Gram-matrix norm equals the norm of the sampled curve
        direct = edge_function(layer, e.input, e.output)
        assert e.l2_norm == pytest.approx(direct.l2_norm, rel=1e-9)
        np.testing.assert_allclose(e.phi, e.base + e.spline)
        assert e.x[0] == pytest.approx(-2.2) and e.x[-1] == pytest.approx(2.2)
    # φ differences equal the layer's output differences when only that input varies
    e = edges[0]
    x = torch.zeros(len(e.x), 4, dtype=torch.float64)
    x[:, e.input] = torch.from_numpy(e.x)
    with torch.no_grad():
        out = layer.double()(x)[:, e.output].numpy()
    np.testing.assert_allclose(out - out[100], e.phi - e.phi[100], atol=1e-10)


def test_edge_functions_of_a_ukan_layer_and_refusal_for_mlp(tiny):
    names = kan_layer_names(tiny)
    assert len(names) == 12 and "dblock2.0.layer.fc3" in names
    edges = kan_edge_functions(tiny.get_submodule("dblock2.0.layer.fc3"), top=5)
    assert len(edges) == 5 and all(e.x.shape == e.phi.shape for e in edges)
    with pytest.raises(UkanError, match="not a KAN layer"):
        kan_edge_functions(nn.Linear(4, 4))


def test_importing_explain_does_not_import_matplotlib_or_qt():
    code = ("import sys, ukan_core.explain, ukan_core.cli.explain; "
            "bad = [m for m in ('matplotlib', 'PySide6', 'pyqtgraph') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=str(_repo_root())).returncode == 0


def test_plot_edge_functions_writes_a_png(tmp_path, tiny):
    edges = kan_edge_functions(tiny.get_submodule("block1.0.layer.fc1"), top=6)
    path = plot_edge_functions(edges, tmp_path / "splines.png", title="block1 fc1")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["splines.png"]  # no temporary left behind
    with pytest.raises(UkanError):
        plot_edge_functions([], tmp_path / "none.png")


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


# -- the story: a trained model's best channel generalises ----------------------------------------
def _lesion_cases(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from ukan_core.data.synthetic import generate_case

    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n:
        grey, mask = generate_case(rng, size=64)
        if mask.sum() > 20:  # lesion images only: PIoU is about outlining something
            cases.append((np.repeat(grey[:, :, None], 3, axis=2), mask))
    return cases


def _train_tiny(cases: list[tuple[np.ndarray, np.ndarray]], steps: int = 200) -> UKAN:
    import contextlib

    from ukan_core.training.losses import BCEDiceLoss

    try:
        from ukan_core.training.fast_kan import lean_kan_layers
    except ImportError:  # the plain layers train too, only slower
        lean_kan_layers = lambda model: contextlib.nullcontext()  # noqa: E731
    x = torch.from_numpy(np.stack([prepare(image, RESIZE64) for image, _ in cases]))
    y = torch.from_numpy(np.stack([mask for _, mask in cases]))[:, None].float()
    torch.manual_seed(0)
    model = UKAN(embed_dims=(32, 48, 64))
    kan = [p for n, p in model.named_parameters() if "layer.fc" in n]
    rest = [p for n, p in model.named_parameters() if "layer.fc" not in n]
    opt = torch.optim.Adam([{"params": rest, "lr": 3e-3}, {"params": kan, "lr": 1e-2}])
    loss_fn, gen = BCEDiceLoss(), torch.Generator().manual_seed(0)
    model.train()
    with lean_kan_layers(model):
        for _ in range(steps):
            idx = torch.randint(0, len(x), (8,), generator=gen)
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@pytest.mark.slow
def test_top_ranked_channel_outlines_held_out_lesions_better_than_random_channels():
    """Single-threaded (module fixture): about 30-60 s on one shared core."""
    train, held_out = _lesion_cases(1, 48), _lesion_cases(2, 12)
    model = _train_tiny(train, steps=300)
    layer = "dblock2.0"
    ranking = rank_channels(model, [i for i, _ in train], [m for _, m in train],
                            preprocessing=RESIZE64, layers=[layer])[layer]
    top = ranking.scores[0].channel
    acts = capture_activations(model, [i for i, _ in held_out], RESIZE64, [layer])
    held = np.mean([score_activations(a, layer, m, "ground_truth").piou_by_channel()
                    for a, (_, m) in zip(acts, held_out)], axis=0)
    others = np.array([c for c in range(len(held)) if c != top])
    # The expected PIoU of a randomly chosen channel is the mean over all the other channels (steadier
    # than a draw of a few). The seeded init and single-threaded training are reproducible, so this is
    # the same model on every machine with the same torch: 0.432 against 0.127.
    top_piou, random_piou = float(held[top]), float(held[others].mean())
    print(f"held-out PIoU: top-ranked channel {top} = {top_piou:.3f}, a random other channel = {random_piou:.3f} "
          f"(mean of {len(others)})")
    assert top_piou > 2.0 * random_piou
    assert top_piou > 0.15


def test_an_explanation_is_plain_numpy_with_image_threshold_and_splines(tiny):
    import dataclasses

    ex = explain_image(tiny, _image(48, 80), preprocessing=RESIZE64, layers=["dblock2"], threshold=0.35,
                       spline_edges=3)
    assert ex.image.shape == (48, 80, 3) and ex.image.dtype == np.uint8 and ex.threshold == 0.35
    assert {s.piou_threshold for s in ex.scores.values()} == {0.35}
    assert list(ex.splines) == ["dblock2.0.layer.fc1", "dblock2.0.layer.fc2", "dblock2.0.layer.fc3"]
    name, edges = ex.edge_functions("dblock2.0")
    assert name == "dblock2.0.layer.fc3" and len(edges) == 3

    def values(obj):
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                yield from values(getattr(obj, f.name))
        elif isinstance(obj, dict):
            for v in obj.values():
                yield from values(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                yield from values(v)
        else:
            yield obj

    assert not [type(v) for v in values(ex) if type(v).__module__.startswith("torch")]


def test_scores_csv_has_one_row_per_channel(tiny, tmp_path):
    import csv

    from ukan_core.explain import SCORE_COLUMNS, write_scores_csv

    ex = explain_image(tiny, _image(), preprocessing=RESIZE64, layers=["block2", "dblock2"])
    path = write_scores_csv(ex, tmp_path / "scores.csv")
    rows = list(csv.reader(path.open(newline="")))
    assert tuple(rows[0]) == SCORE_COLUMNS and len(rows) == 1 + 32 + 16
    assert rows[1][0] == "block2.0" and int(rows[1][1]) == ex.scores["block2.0"].scores[0].channel
    assert all(len(r[4]) == 4 for r in rows[1:])   # thresholds as 0.05 … 0.95, two decimals
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
