"""The folder's uncertainty scores: kept per item key with their model, written atomically, read back."""

from __future__ import annotations

import json
from pathlib import Path

from ukan_core.annotation.uncertainty_scores import SCORES_FILE, UncertaintyScores


def test_scores_round_trip_with_their_model_and_warned_models(tmp_path: Path) -> None:
    scores = UncertaintyScores(tmp_path)
    scores.set("a.png", 0.4, "m/v1")
    scores.set("scan.tif/2", 0.05, "m/v2")
    scores.mark_warned("m/v1")
    scores.save()
    again = UncertaintyScores(tmp_path)
    assert again.score("a.png") == 0.4 and again.score("a.png", "m/v1") == 0.4
    assert again.score("a.png", "m/v2") is None                  # another model's score is not this one's
    assert again.model_of("scan.tif/2") == "m/v2"
    assert again.was_warned("m/v1") and not again.was_warned("m/v2")
    assert not list(tmp_path.glob("*.tmp*"))


def test_an_unreadable_file_reads_as_no_scores(tmp_path: Path) -> None:
    (tmp_path / SCORES_FILE).write_text("{not json")
    assert UncertaintyScores(tmp_path).names() == []
    (tmp_path / SCORES_FILE).write_text(json.dumps({"version": 99, "images": {"a.png": {"score": 1}}}))
    assert UncertaintyScores(tmp_path).names() == []
