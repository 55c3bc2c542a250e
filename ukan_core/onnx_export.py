"""Export a segmentation U-KAN to ONNX: a dynamic batch/height/width graph plus its deployment metadata.

The graph is the eval-mode fast inference copy (`ukan_core.models.fast`: KAN bases in closed form,
BatchNorm folded into the convs, NCHW weights), traced by torch's TorchScript exporter at opset 17,
which ONNX Runtime's CPU provider runs in full. Input "image" is the prepared (N, C, h, w) float32
tensor (see `ukan_core.preprocess`); output "logits" is (N, classes, h, w) before the sigmoid.
What a deployer needs to feed and read the graph (preprocessing, config, classes, input size,
threshold, the whole checkpoint header) is written into the model's `metadata_props` as JSON.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from ukan_core.atomic import atomic_path
from ukan_core.errors import UkanError
from ukan_core.onnx_support import require_onnx

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
DEFAULT_THRESHOLD = 0.5
METADATA_PREFIX = "ukan."


def deployment_metadata(info: dict[str, Any], model: nn.Module) -> dict[str, str]:
    """The `metadata_props` of an exported model: each value a JSON text (keys start with "ukan.")."""
    from ukan_core.preprocess import Preprocessing

    preprocessing = Preprocessing.from_dict(info.get("preprocessing")).to_dict()
    facts = {
        "architecture": getattr(model, "architecture", "ukan"),
        "config": model.config.to_dict(),
        "preprocessing": preprocessing,
        "input_size": preprocessing["input_size"],
        "input_channels": int(model.config.input_channels),
        "num_classes": int(model.config.num_classes),
        "class_names": list(info.get("class_names") or []),
        "threshold": float(info.get("threshold", DEFAULT_THRESHOLD)),
        "output": "logits; probabilities are sigmoid(logits)",
        "checkpoint": info,
    }
    return {METADATA_PREFIX + key: json.dumps(value, default=str, sort_keys=True) for key, value in facts.items()}


def export_onnx(model: nn.Module, info: dict[str, Any], dest: str | Path) -> Path:
    """Write `model` (with checkpoint metadata `info`) as an ONNX file at `dest`, atomically.

    Checks the written graph with `onnx.checker`; raises UkanError when the extra is absent.
    """
    require_onnx("ONNX export", export=True)
    import onnx
    import torch

    from ukan_core.models.fast import optimize_for_inference
    from ukan_core.preprocess import Preprocessing

    dest = Path(dest)
    if getattr(model, "architecture", None) != "ukan":
        raise UkanError(f"{dest.name}: only segmentation (U-KAN) models can be exported to ONNX")
    network = optimize_for_inference(model.cpu().eval(), channels_last=False)
    height, width = Preprocessing.from_dict(info.get("preprocessing")).input_size
    example = torch.zeros(1, int(model.config.input_channels), height, width)
    axes = {0: "batch", 2: "height", 3: "width"}
    with tempfile.TemporaryDirectory(prefix="ukan-onnx-") as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the tracer's notes on shape checks that are constant for a trace
        traced = Path(scratch) / "model.onnx"
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(network, (example,), str(traced), input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], opset_version=OPSET, dynamo=False,
                              dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes})
        graph = onnx.load(str(traced))
    graph.doc_string = "U-KAN segmentation model exported by UKAN Studio"
    for key, value in deployment_metadata(info, model).items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(graph)
    with atomic_path(dest) as tmp:
        onnx.save(graph, str(tmp))
    return dest
