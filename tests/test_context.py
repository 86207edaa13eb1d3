"""The context stage: a segment's codes learnt from the scores of its neighbours."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clhs_mechanisms.assist import _whole_documents
from clhs_mechanisms.suggest import Ensemble, TrainingSet, load_model, save_model
from clhs_mechanisms.suggest.context import ContextStage, group_ids, kappa_f1, neighbour
from clhs_mechanisms.suggest.evaluate import metrics


def _streaks(rng, documents: int, length: int = 30, codes: int = 4):
    """Documents whose codes run in streaks, and first-stage scores that see each segment alone, noisily."""
    labels, groups = [], []
    for d in range(documents):
        y = np.zeros((length, codes), dtype=np.int8)
        for j in range(codes):
            at = 0
            while at < length:
                run = rng.integers(2, 6)
                if rng.random() < 0.25:
                    y[at:at + run, j] = 1
                at += run + rng.integers(3, 10)
        labels.append(y)
        groups += [f"doc{d}"] * length
    y = np.vstack(labels)
    scores = 1 / (1 + np.exp(-(2.0 * (y - 0.5) + rng.normal(0, 1.6, y.shape))))
    return scores, y, groups


def test_neighbours_stay_inside_their_document():
    gid = group_ids(["a", "a", "b", None, "b", "b"], 6)
    assert neighbour(gid, -1).tolist() == [-1, 0, -1, -1, -1, 4]
    assert neighbour(gid, 1).tolist() == [1, -1, -1, -1, 5, -1]  # "b" at 2 and 4 are not adjacent texts
    assert neighbour(group_ids(None, 3), 1).tolist() == [-1, -1, -1]  # no groups: every text alone


def test_kappa_f1_matches_the_reported_metrics():
    rng = np.random.default_rng(1)
    y, pred = rng.random((60, 5)) < 0.2, rng.random((60, 5)) < 0.25
    micro, kappa = kappa_f1(y, pred)
    reported = metrics(y.astype(int), pred.astype(int), [f"c{j}" for j in range(5)])
    assert micro == pytest.approx(reported["micro"]["f1"]) and kappa == pytest.approx(reported["mean_kappa"])


def test_context_stage_learns_streaks_and_beats_the_segment_alone():
    rng = np.random.default_rng(0)
    scores, y, groups = _streaks(rng, 40)
    test_scores, test_y, test_groups = _streaks(rng, 20)
    thresholds = np.full(y.shape[1], 0.5)
    stage = ContextStage().fit(scores, thresholds, y, groups, np.ones(y.shape[1], dtype=bool))
    assert stage.fitted and stage.coef_[1] > 0 and stage.coef_[2] > 0  # neighbours' margins raise a code
    context = stage.transform(test_scores, thresholds, test_groups)
    alone = kappa_f1(test_y, test_scores >= 0.5)
    better = kappa_f1(test_y, context >= 0.5)
    assert better[0] > alone[0] + 0.05 and better[1] > alone[1] + 0.05
    # the same texts without their documents lose the benefit
    assert kappa_f1(test_y, stage.transform(test_scores, thresholds, None) >= 0.5)[0] < better[0]


def test_context_stage_stays_off_without_whole_documents_and_spares_inactive_codes():
    rng = np.random.default_rng(2)
    scores, y, groups = _streaks(rng, 1)
    thresholds = np.full(y.shape[1], 0.4)
    off = ContextStage().fit(scores, thresholds, y, groups, np.ones(y.shape[1], dtype=bool))
    assert not off.fitted and (off.transform(scores, thresholds, groups) == scores).all()
    assert (off.thresholds(thresholds) == thresholds).all()
    scores, y, groups = _streaks(rng, 10)
    active = np.array([True, True, False, True])
    stage = ContextStage().fit(scores, thresholds, y, groups, active)
    out = stage.transform(scores, thresholds, groups)
    assert (out[:, 2] == scores[:, 2]).all() and not np.allclose(out[:, 0], scores[:, 0])
    assert stage.thresholds(thresholds).tolist() == [0.5, 0.5, 0.4, 0.5]
    again = ContextStage().set_state(stage.get_state())
    assert np.array_equal(again.transform(scores, thresholds, groups), out)


def test_gold_rows_are_grouped_by_document_in_reading_order(tmp_path, mini_codebook):
    rows = [{"id": "b#2", "text": "Later in b.", "codes": [], "document": "b.txt", "start": 40},
            {"id": "a#1", "text": "Only in a.", "codes": ["mot_help"], "document": "a.txt", "start": 0},
            {"id": "b#1", "text": "Earlier in b.", "codes": [], "document": "b.txt", "start": 3},
            {"id": "x", "text": "No document.", "codes": []}]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    gold = TrainingSet.from_gold(path, mini_codebook)
    assert gold.texts == ["Earlier in b.", "Later in b.", "Only in a.", "No document."]
    assert gold.groups == ["b.txt", "b.txt", "a.txt", None]
    both = TrainingSet.concat(TrainingSet.from_codebook(mini_codebook), gold)
    assert both.groups[-4:] == gold.groups and set(both.groups[:-4]) == {None}
    assert gold.subset([2, 0]).groups == ["a.txt", "b.txt"]


def test_suggestion_batches_never_split_a_document():
    docs = ["a"] * 5 + ["b"] * 2 + ["c"] * 7 + ["d"]
    bounds = _whole_documents(docs, 4)
    assert bounds == [(0, 5), (5, 14), (14, 15)]
    assert _whole_documents(docs, 100) == [(0, 15)] and _whole_documents([], 4) == []


def test_ensemble_fits_the_context_stage_from_grouped_training_data(mini_codebook, mini_training, tmp_path):
    rng = np.random.default_rng(3)
    texts, labels = list(mini_training.texts), mini_training.labels
    order = rng.permutation(len(texts))
    groups = [f"doc{i % 6}" for i in range(len(texts))]
    grouped = TrainingSet([texts[i] for i in order], labels[order], mini_training.codes,
                          [mini_training.roles[i] for i in order], groups=sorted(groups))
    ens = Ensemble(mini_codebook, folds=3).fit(grouped)
    plain = Ensemble(mini_codebook, folds=3, context=False).fit(grouped)
    assert ens.context_.fitted and not plain.context_.fitted
    sample = texts[:6]
    docs = ["d1"] * 3 + ["d2"] * 3
    assert not np.allclose(ens.score(sample, groups=docs), plain.score(sample))
    save_model(ens, tmp_path / "m", codebook=mini_codebook, training_hash="x")
    loaded = load_model(tmp_path / "m", mini_codebook)
    assert np.allclose(loaded.score(sample, groups=docs), ens.score(sample, groups=docs))
    assert np.allclose(loaded.thresholds, ens.thresholds)
    # live rescoring of some codes' columns gives exactly those columns of a full rescore, also
    # when a code is outside the context stage
    outputs = ens._outputs(sample, [None] * 6)
    out = outputs["classifier"]
    for active in (ens.context_.active_.copy(), np.array([False, True, True])):
        ens.context_.active_ = active
        stack = ens.stacker({n: o for n, o in outputs.items() if n != "classifier"}, "classifier", groups=docs)
        full = stack(out)
        assert np.allclose(full, ens.score(sample, groups=docs))
        for codes in (np.array([1]), np.array([0, 2]), np.array([0])):
            part = stack(type(out)(out.raw[:, codes], out.scores[:, codes], out.terms), codes)
            assert np.allclose(part, full[:, codes], atol=1e-12)
