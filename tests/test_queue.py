"""The review queue as a pure function: pending suggestions in, review order out."""

import pandas as pd
import pytest

from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.queue import LEAN, MODES, learning_order, review_queue


def _pending(rows):
    """Rows of (segment, document, code, score[, threshold]) as a pending-suggestions table."""
    out = []
    for n, (seg, doc, code, score, *t) in enumerate(rows):
        out.append(
            {
                "id": f"s{n}",
                "segment_id": seg,
                "document": doc,
                "start": n,
                "code": code,
                "score": score,
                "components": {"threshold": t[0]} if t else {},
            }
        )
    return pd.DataFrame(out)


def test_uncertainty_is_one_on_the_threshold_and_zero_at_the_ends():
    df = review_queue(
        _pending(
            [
                ("a", "d", "c1", 0.3, 0.3),
                ("b", "d", "c1", 1.0, 0.3),
                ("c", "d", "c1", 0.0, 0.3),
                ("e", "d", "c1", 0.65, 0.3),
            ]
        ),
        mode="document",
    )
    assert df["uncertainty"].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.5])


def test_learning_order_takes_each_code_in_turn():
    # c1 has three suggestions near its focus point before c2's first: rounds still alternate codes
    df = learning_order(
        _pending(
            [("a", "d", "c1", 0.70), ("b", "d", "c1", 0.71), ("c", "d", "c1", 0.69), ("e", "d", "c2", 0.95)]
        )
    )
    assert df["code"].tolist()[:2] in (["c1", "c2"], ["c2", "c1"])
    assert df["code"].tolist()[2:] == ["c1", "c1"]


def test_learning_order_leans_to_the_positive_side_of_the_threshold():
    focus = 0.5 + LEAN * 0.5
    below, above = 0.5 - 0.02, focus  # the one just below is more uncertain, the one above is preferred
    df = learning_order(_pending([("a", "d", "c1", below), ("b", "d", "c1", above)]))
    assert df["segment_id"].tolist() == ["b", "a"]
    assert df["uncertainty"].iloc[1] > df["uncertainty"].iloc[0]


def test_learning_order_uses_each_codes_threshold():
    # focus 0.36 at threshold 0.2: 0.3 is nearer than 0.85 (at the default 0.5 it would be 0.6: the reverse)
    df = learning_order(_pending([("a", "d", "c2", 0.85, 0.2), ("b", "d", "c2", 0.3, 0.2)]), lean=0.2)
    assert df["segment_id"].tolist() == ["b", "a"]


def test_within_a_round_the_most_uncertain_comes_first():
    df = review_queue(_pending([("a", "d1", "mot_help", 0.62, 0.5), ("b", "d2", "ppi_registry", 0.55, 0.5)]))
    assert df["code"].tolist() == ["ppi_registry", "mot_help"]


def test_uncertain_mode_is_the_learning_order_and_filters_apply_first():
    pending = _pending(
        [("a", "d1", "c1", 0.7), ("b", "d2", "c1", 0.5), ("c", "d1", "c2", 0.8), ("e", "d2", "c2", 0.1)]
    )
    full = review_queue(pending, limit=None)
    assert full["id"].tolist() == learning_order(pending)["id"].tolist()
    only = review_queue(pending, limit=None, code="c2", document="d1")
    assert only["segment_id"].tolist() == ["c"]
    assert len(review_queue(pending, limit=2)) == 2


def test_other_modes_and_bad_mode():
    pending = _pending([("a", "d2", "c2", 0.9), ("b", "d1", "c1", 0.4), ("c", "d1", "c2", 0.6)])
    assert review_queue(pending, mode="confident")["score"].tolist() == [0.9, 0.6, 0.4]
    assert review_queue(pending, mode="document")["document"].tolist() == ["d1", "d1", "d2"]
    assert review_queue(pending, mode="code")["code"].tolist() == ["c1", "c2", "c2"]
    with pytest.raises(ClhsError, match="unknown queue mode"):
        review_queue(pending, mode="nope")


@pytest.mark.parametrize("mode", MODES)
def test_empty_pending_gives_an_empty_queue_with_uncertainty(mode):
    df = review_queue(
        _pending([]).reindex(
            columns=["id", "segment_id", "document", "start", "code", "score", "components"]
        ),
        mode=mode,
    )
    assert df.empty and df["uncertainty"].dtype == float


def test_learning_order_spreads_each_round_across_documents():
    # round 1 holds one item per code; d1's two are the most uncertain, yet d2's comes between them
    df = learning_order(
        _pending([("a", "d1", "c1", 0.50, 0.5), ("b", "d1", "c2", 0.50, 0.5), ("c", "d2", "c3", 0.70, 0.5)])
    )
    assert df["document"].tolist() == ["d1", "d2", "d1"]
