"""Segmenter: probabilities at the image's own size, batching, and the official pipeline reproduced."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ukan_core.errors import UkanError
from ukan_core.inference import Segmenter, probabilities_to_mask
from ukan_core.io.checkpoints import import_official, save_checkpoint
from ukan_core.io.images import read_image
from ukan_core.models.registry import build_model
from ukan_core.preprocess import Preprocessing



def tiny(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("ukan", {"embed_dims": [16, 24, 32], **overrides}).eval()


def info_for(fit: str, mode: str = "standard", size=(64, 64)) -> dict:
    return {"preprocessing": Preprocessing(mode=mode, fit=fit, input_size=size).to_dict()}


def rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("fit", ["resize", "pad"])
def test_probabilities_come_back_at_odd_image_sizes(fit: str) -> None:
    segmenter = Segmenter(tiny(), info_for(fit), device="cpu")
    for height, width in [(123, 77), (64, 64), (33, 200)]:
        prob = segmenter.predict(rgb(height, width))
        assert prob.shape == (1, height, width) and prob.dtype == np.float32
        assert 0.0 <= prob.min() and prob.max() <= 1.0
        mask = segmenter.predict_mask(rgb(height, width))
        assert mask.shape == (height, width) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}


@pytest.mark.parametrize("fit", ["resize", "pad"])
def test_a_batch_gives_what_single_images_give(fit: str) -> None:
    segmenter = Segmenter(tiny(), info_for(fit), device="cpu", batch_size=2)
    images = [rgb(123, 77, 1), rgb(40, 24, 2), rgb(123, 77, 3), rgb(60, 90, 4), np.zeros((50, 50), np.uint8)]
    batched = segmenter.predict_batch(images)
    assert [p.shape[1:] for p in batched] == [im.shape[:2] for im in images]
    for image, prob in zip(images, batched):
        np.testing.assert_allclose(segmenter.predict(image), prob, atol=1e-5)
    masks = segmenter.predict_mask_batch(images)
    assert [m.shape for m in masks] == [im.shape[:2] for im in images]


def test_fast_inference_copy_agrees_with_the_plain_model() -> None:
    image = rgb(123, 77)
    fast = Segmenter(tiny(), info_for("pad"), device="cpu").predict(image)
    plain = Segmenter(tiny(), info_for("pad"), device="cpu", optimize=False).predict(image)
    np.testing.assert_allclose(fast, plain, atol=1e-4)


def test_official_preprocessing_equals_the_manual_computation() -> None:
    model = tiny()
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _module, args: seen.append(args[0].detach().clone()))
    segmenter = Segmenter(model, info_for("resize", mode="official"), device="cpu", optimize=False)
    image = rgb(123, 77)
    prob = segmenter.predict(image)

    # The official pipeline by hand: cv2 BGR, bilinear resize, ImageNet Normalize in BGR order, /255 again.
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    resized = cv2.resize(bgr, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x = ((resized / 255.0 - mean) / std / 255.0).transpose(2, 0, 1)[None]
    torch.testing.assert_close(seen[0], torch.from_numpy(x).float(), rtol=1e-5, atol=1e-7)

    with torch.no_grad():
        logits = model(torch.from_numpy(x).float())
    manual = cv2.resize(torch.sigmoid(logits)[0, 0].numpy(), (77, 123), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(prob[0], manual, atol=1e-6)


def test_an_official_checkpoint_sees_exactly_the_reference_input(reference_dir: Path) -> None:
    model, info = import_official(reference_dir / "ukan_seg_small_perturbed_state.pt", input_size=(64, 64))
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _module, args: seen.append(args[0].detach().clone()))
    segmenter = Segmenter(model, info, device="cpu", optimize=False)
    expected = torch.load(reference_dir / "preprocess_cases_expected.pt", weights_only=True)
    for case in ("case_a", "case_b"):
        image = read_image(reference_dir / "preprocess_cases" / "images" / f"{case}.png")
        seen.clear()
        prob = segmenter.predict(image)
        reference_input = expected[case]["image"]
        torch.testing.assert_close(seen[0][0], reference_input, rtol=1e-5, atol=1e-7)
        with torch.no_grad():
            reference_prob = torch.sigmoid(model(reference_input[None]))[0, 0].numpy()
        height, width = image.pixels.shape[:2]
        manual = cv2.resize(reference_prob, (width, height), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(prob[0], manual, atol=1e-6)


def test_grey_one_channel_models_get_one_channel() -> None:
    model = tiny(input_channels=1)
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    segmenter = Segmenter(model, info_for("pad"), device="cpu", optimize=False)
    prob = segmenter.predict(np.full((45, 70), 128, np.uint8))
    assert prob.shape == (1, 45, 70) and seen[0].shape == (1, 1, 64, 96)


def test_multi_class_masks_hold_labels() -> None:
    segmenter = Segmenter(tiny(num_classes=3), info_for("resize"), device="cpu")
    prob = segmenter.predict(rgb(50, 70))
    assert prob.shape == (3, 50, 70)
    assert set(np.unique(segmenter.predict_mask(rgb(50, 70), threshold=0.0))) <= {1, 2, 3}
    assert segmenter.class_names == ["class 1", "class 2", "class 3"]


def test_probabilities_to_mask_rules() -> None:
    one = np.array([[[0.2, 0.5, 0.9]]], np.float32)
    assert probabilities_to_mask(one).tolist() == [[0, 0, 1]]
    many = np.array([[[0.9, 0.1, 0.3]], [[0.2, 0.8, 0.4]]], np.float32)
    assert probabilities_to_mask(many).tolist() == [[1, 2, 0]]


def test_from_name_or_path_and_a_diffusion_model_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tiny(), tmp_path / "m.safetensors", info_for("pad"))
    segmenter = Segmenter.from_name_or_path(path, device="cpu")
    assert segmenter.preprocessing.fit == "pad" and segmenter.device.type == "cpu"
    diffusion = build_model("diffusion_ukan", {"T": 10, "ch": 32, "ch_mult": [1], "num_res_blocks": 1,
                                               "embed_dims": [32, 32, 32]})
    with pytest.raises(UkanError, match="cannot segment"):
        Segmenter(diffusion, {}, device="cpu")


def test_flip_tta_averages_the_mirrored_predictions() -> None:
    model = tiny()
    image = rgb(64, 64, seed=3)
    plain = Segmenter(model, info_for("resize"), device="cpu", optimize=False)
    tta = Segmenter(model, info_for("resize"), device="cpu", optimize=False, tta=True)
    expected = (plain.predict(image) + plain.predict(image[:, ::-1])[:, :, ::-1]
                + plain.predict(image[::-1])[:, ::-1]) / 3
    got = tta.predict(image)
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, plain.predict(image), atol=1e-4)


def test_post_processing_cleans_masks_only_when_asked() -> None:
    from ukan_core.postprocess import DEFAULT

    class Blobs(torch.nn.Module):
        """A stand-in network: one large square, a small island and a hole in its logits."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.config, self.architecture = model.config, "ukan"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = torch.full((x.shape[0], 1, *x.shape[2:]), -5.0)
            logits[:, :, 8:40, 8:40] = 5.0
            logits[:, :, 20:24, 20:24] = -5.0   # hole
            logits[:, :, 50:53, 50:53] = 5.0    # island
            return logits

    network = Blobs(tiny())
    raw = Segmenter(network, info_for("resize"), device="cpu", optimize=False).predict_mask(rgb(64, 64))
    cleaned = Segmenter(network, info_for("resize"), device="cpu", optimize=False,
                        postprocess=DEFAULT).predict_mask_batch([rgb(64, 64)])[0]
    assert raw[51, 51] == 1 and raw[21, 21] == 0
    assert cleaned[51, 51] == 0 and cleaned[21, 21] == 1
    assert cleaned[8:40, 8:40].all()
