"""The co-occurrence unit universe: units coded or reviewed, so N does not jump with a few decisions."""

from __future__ import annotations

import pandas as pd

from clhs_mechanisms.analysis import cooccurrence
from clhs_mechanisms.analysis.units import reviewed_segments


def _segments(n: int, document: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{document}-{i}" for i in range(n)],
            "document": document,
            "turn": range(n),
            "idx": range(n),
            "start": [10 * i for i in range(n)],
            "end": [10 * i + 9 for i in range(n)],
            "codable": True,
            "text": "x",
        }
    )


def test_reviewing_one_suggestion_in_a_new_document_adds_one_unit_not_the_document():
    """Issue 16: after about ten decisions N jumped from 1,240 to 1,522 because every segment of a
    partly reviewed document became a unit; now a unit is a segment coded or decided."""
    segments = pd.concat([_segments(20, "a.txt"), _segments(300, "b.txt")], ignore_index=True)
    codings = pd.DataFrame(
        {
            "document": ["a.txt"] * 4 + ["b.txt"],
            "code": ["x", "y", "x", "y", "x"],
            "coder": "ana",
            "start": [0, 0, 10, 20, 0],
            "end": [9, 9, 19, 29, 15],  # the b.txt coding spans two segments
            "quote": "q",
        }
    )
    seen = reviewed_segments(segments, codings, decided=["a.txt-5", "b.txt-7"])
    assert seen["id"].tolist() == [
        "a.txt-0",
        "a.txt-1",
        "a.txt-2",
        "a.txt-5",
        "b.txt-0",
        "b.txt-1",
        "b.txt-7",
    ]
    everything = cooccurrence(codings, segments, unit="segment", tests=False).attrs["N"]
    reviewed = cooccurrence(codings, seen, unit="segment", tests=False).attrs["N"]
    assert (everything, reviewed) == (320, 7)
