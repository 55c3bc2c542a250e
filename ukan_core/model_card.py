"""A model card: a Markdown page beside every exported model saying what it is and how far to trust it.

Written from the checkpoint header (`ukan_core.io.checkpoints`, filled by
`ukan_core.training.publish`): architecture and size, training data (fingerprints, image counts),
recipe, lineage, metrics with the number of images they were measured on, intended use, licence,
and how to load the file with torch and with ONNX Runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ukan_core.atomic import atomic_write_text
from ukan_core.errors import OutputExistsError

CARD_SUFFIX = ".model-card.md"
LICENCE = "Apache-2.0 (the UKAN Studio code); the weights carry the terms of the data they were trained on"


def card_path(model_file: str | Path) -> Path:
    """`<folder>/<file stem>.model-card.md` for an exported model file."""
    model_file = Path(model_file)
    return model_file.with_name(model_file.stem + CARD_SUFFIX)


def write_model_card(model_file: str | Path, info: dict[str, Any], *, parameters: int | None = None,
                     overwrite: bool = False) -> Path:
    """Write the card of `model_file` (checkpoint header `info`) atomically; refuse to replace one."""
    dest = card_path(model_file)
    if dest.exists() and not overwrite:
        raise OutputExistsError(f"{dest}: already exists; not overwritten")
    return atomic_write_text(dest, render_model_card(Path(model_file).name, info, parameters=parameters))


def render_model_card(file_name: str, info: dict[str, Any], *, parameters: int | None = None) -> str:
    """The card's Markdown text."""
    training = info.get("training") if isinstance(info.get("training"), dict) else {}
    title = _ref(info) or file_name
    lines = [f"# Model card: {title}", "",
             f"File: `{file_name}`" + (f", created {info['created']}" if info.get("created") else ""), "",
             "## Model", ""]
    lines += _facts([
        ("Architecture", info.get("architecture") or "ukan"),
        ("Parameters", f"{parameters:,}" if parameters is not None else None),
        ("Configuration", _json(info.get("config"))),
        ("Preprocessing", _json(info.get("preprocessing"))),
        ("Input size (height, width)", _json(info.get("input_size"))),
        ("Classes", ", ".join(map(str, info.get("class_names") or [])) or None),
        ("Threshold", info.get("threshold", 0.5)),
    ])
    lines += ["", "## Training data", ""]
    lines += _facts([
        ("Data folder", training.get("data")),
        ("Images", training.get("n_images")),
        ("Training / validation images", _pair(training.get("n_train"), training.get("n_val"))),
        ("Names-and-sizes fingerprint", training.get("images_fingerprint")),
        ("Content fingerprint", training.get("data_fingerprint")),
    ]) or ["Not recorded in the checkpoint (a bundled or imported model)."]
    lines += ["", "## Recipe", ""]
    recipe = training.get("recipe")
    lines += ([f"```json\n{json.dumps(recipe, indent=2, sort_keys=True, default=str)}\n```"] if recipe else
              ["Not recorded."])
    lines += _facts([("Seed", training.get("seed")), ("Steps", training.get("steps")),
                     ("Stopped", training.get("stopped")), ("Trained with", training.get("ukan_studio"))])
    lines += ["", "## Lineage", "", f"Parent: {_parent(info.get('parent'))}", "",
              "## Metrics", ""]
    lines += metric_lines(info.get("metrics")) or ["No metrics recorded."]
    lines += ["", "## Intended use", "",
              "Research and teaching: segmenting 2D medical images for review by a person who checks every mask. "
              "It is **not a medical device**, has no regulatory clearance, and must not be used for diagnosis "
              "or treatment decisions. Scores hold only for images like its training data.", "",
              "## Licence", "", LICENCE, "", "## How to load it", "", *_loading(file_name), ""]
    return "\n".join(lines)


def metric_lines(metrics: Any) -> list[str]:
    """One "- name: value (n = N)" line per numeric metric; nested groups are prefixed by their name."""
    if not isinstance(metrics, dict):
        return []
    lines: list[str] = []
    n = _count(metrics)
    for key, value in metrics.items():
        if isinstance(value, dict):
            lines += [f"- {key}.{line[2:]}" for line in metric_lines(value)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("n", "val_n"):
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            count = f"(n = {n} image{'' if n == 1 else 's'})" if n is not None else "(n not recorded)"
            lines.append(f"- {key}: {shown} {count}")
    return lines


def _count(metrics: dict[str, Any]) -> int | None:
    for key in ("n", "val_n"):
        if isinstance(metrics.get(key), (int, float)):
            return int(metrics[key])
    return None


def _loading(file_name: str) -> list[str]:
    stem = Path(file_name).stem
    return [
        "With torch (the .safetensors checkpoint):", "", "```python",
        "from ukan_core.inference import Segmenter",
        f'segmenter = Segmenter.from_name_or_path("{stem}.safetensors")',
        "mask = segmenter.predict_mask(rgb_image)   # (H, W) uint8", "```", "",
        "With ONNX Runtime (the .onnx export; input \"image\" is the prepared (N, C, h, w) float32 batch, "
        "output \"logits\"; the preprocessing is in the file's metadata_props):", "", "```python",
        "import json, onnx, onnxruntime as ort",
        f'meta = {{p.key: json.loads(p.value) for p in onnx.load("{stem}.onnx").metadata_props}}',
        f'session = ort.InferenceSession("{stem}.onnx", providers=["CPUExecutionProvider"])',
        'logits = session.run(None, {"image": batch})[0]   # probabilities: 1 / (1 + exp(-logits))',
        "```", "", f"Or from the command line: `ukan segment FOLDER --out MASKS --model {stem}.onnx`.",
    ]


def _facts(rows: list[tuple[str, Any]]) -> list[str]:
    return [f"- {label}: {value}" for label, value in rows if value not in (None, "", [])]


def _pair(a: Any, b: Any) -> str | None:
    return None if a is None and b is None else f"{a if a is not None else '?'} / {b if b is not None else '?'}"


def _json(value: Any) -> str | None:
    return None if value is None else f"`{json.dumps(value, sort_keys=True, default=str)}`"


def _parent(parent: Any) -> str:
    if not parent:
        return "none (trained from scratch, bundled or imported)"
    return parent if isinstance(parent, str) else json.dumps(parent, sort_keys=True, default=str)


def _ref(info: dict[str, Any]) -> str:
    name, version = info.get("name"), info.get("version")
    return f"{name}/{version}" if name and version else str(name or "")
