"""The status table: what each annotation status means to Segment all, Retrain and Export.

| status     | has a mask | Segment all may overwrite | Retrain uses | export scopes           |
|------------|------------|---------------------------|--------------|-------------------------|
| unlabelled | no         | yes                       | no           | -                       |
| predicted  | yes        | yes                       | no           | all, selected           |
| corrected  | yes        | never                     | yes          | all, corrected, selected|
| imported   | yes        | never                     | yes          | all, corrected, selected|
| accepted   | yes        | never                     | yes          | all, corrected, selected|

`imported` is a mask brought in from another tool (`ukan_core.annotation.importing`, `ukan
import-masks`); `accepted` (a prediction the user approved unchanged) is reserved for a feature that
produces it. Every caller asks this table instead of comparing strings. A user's own work (`corrected`, `imported`,
`accepted`) also wins over a prediction when two copies of a store are merged.
"""

from __future__ import annotations

from dataclasses import dataclass

EXPORT_SCOPES = ("all", "corrected", "selected")


@dataclass(frozen=True)
class Status:
    """The rules for one status (see the table in this module's docstring)."""

    name: str
    has_mask: bool
    segment_may_overwrite: bool
    used_by_retrain: bool
    export_scopes: frozenset[str]
    rank: int   # merge priority: a higher rank wins over a lower one, whatever the times say


UNLABELLED, PREDICTED, CORRECTED, IMPORTED, ACCEPTED = "unlabelled", "predicted", "corrected", "imported", "accepted"
_USER_SCOPES = frozenset({"all", "corrected", "selected"})
TABLE: dict[str, Status] = {s.name: s for s in (
    Status(UNLABELLED, False, True, False, frozenset(), 0),
    Status(PREDICTED, True, True, False, frozenset({"all", "selected"}), 1),
    Status(CORRECTED, True, False, True, _USER_SCOPES, 2),
    Status(IMPORTED, True, False, True, _USER_SCOPES, 2),
    Status(ACCEPTED, True, False, True, _USER_SCOPES, 2),
)}
STATUSES = tuple(TABLE)


def is_known(status: str) -> bool:
    return status in TABLE


def rules(status: str) -> Status:
    """The rules of `status`; an unknown status (a newer app's) is treated as the user's own work."""
    return TABLE.get(status) or Status(status, True, False, False, frozenset(), 2)


def segment_may_overwrite(status: str) -> bool:
    """True when Segment all may replace the mask of an image with this status."""
    return rules(status).segment_may_overwrite


def used_by_retrain(status: str) -> bool:
    """True when Retrain trains on the mask of an image with this status."""
    return rules(status).used_by_retrain


def in_export_scope(status: str, scope: str) -> bool:
    """True when export scope `scope` ("all", "corrected", "selected") includes this status."""
    if scope not in EXPORT_SCOPES:
        raise ValueError(f"export scope {scope!r}: unknown; use {', '.join(EXPORT_SCOPES)}")
    return scope in rules(status).export_scopes


def merge_rank(status: str) -> int:
    """Merge priority: the user's own work beats a prediction, which beats nothing."""
    return rules(status).rank
