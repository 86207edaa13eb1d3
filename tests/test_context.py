"""The context stage: a segment's codes learnt from the scores of its neighbours."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clhs_mechanisms import import_paths
from clhs_mechanisms.assist import _whole_documents, context_groups
from clhs_mechanisms.suggest import Ensemble, TrainingSet, load_model, save_model
from clhs_mechanisms.suggest.context import (
    ContextStage,
    Layout,
    Place,
    group_ids,
    kappa_f1,
    logit,
    neighbour,
    turn_ids,
)
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
                    y[at : at + run, j] = 1
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
    # the margins of the segments just before and after (same turn: plain document names) raise a code
    assert stage.fitted and stage.coef_[1] > 0 and stage.coef_[5] > 0
    context = stage.transform(test_scores, thresholds, test_groups)
    alone = kappa_f1(test_y, test_scores >= 0.5)
    better = kappa_f1(test_y, context >= 0.5)
    assert better[0] > alone[0] + 0.05 and better[1] > alone[1] + 0.05
    # the same texts without their documents lose the benefit
    assert kappa_f1(test_y, stage.transform(test_scores, thresholds, None) >= 0.5)[0] < better[0]


def test_a_text_without_neighbours_keeps_its_own_score():
    """A lone text (no document, a one-segment document, a literature excerpt) is scored exactly
    as without the context stage: the sigmoid of its own margin, so the same side of the threshold."""
    rng = np.random.default_rng(4)
    scores, y, groups = _streaks(rng, 20)
    thresholds = np.array([0.3, 0.5, 0.6, 0.45])
    stage = ContextStage().fit(scores, thresholds, y, groups, np.ones(4, dtype=bool))
    assert stage.fitted
    own = 1 / (1 + np.exp(-(logit(scores) - logit(thresholds))))
    for lone in (None, [None] * len(scores), [f"single{i}" for i in range(len(scores))]):
        out = stage.transform(scores, thresholds, lone)
        assert np.allclose(out, own)
        assert ((out >= 0.5) == (scores >= thresholds)).all()
    # inside documents the same texts are rescored
    assert not np.allclose(stage.transform(scores, thresholds, groups), own)


def test_neighbours_on_one_side_and_turn_breaks():
    """A segment uses the neighbours that exist (first and last segments: one side only), and a
    neighbour across another speaker's turn counts apart from one in the same turn."""
    places = [Place("a", 0, 10), Place("a", 11, 20), Place("a", 60, 70), None, Place("b", 0, 5)]
    layout = Layout(places, 5)
    assert layout.context.tolist() == [0, 1, 2]  # None and the one-segment document "b" stand alone
    assert turn_ids(places, layout.gid)[:3].tolist() == [1, 1, 2]  # 40 characters (a question) before 60
    assert layout.same[1][:3].tolist() == [1, 0, 0] and layout.across[1][:3].tolist() == [0, 1, 0]
    assert layout.same[-1][:3].tolist() == [0, 1, 0] and layout.across[-1][:3].tolist() == [0, 0, 1]
    rng = np.random.default_rng(5)
    scores, y, groups = _streaks(rng, 20)
    thresholds = np.full(4, 0.5)
    stage = ContextStage().fit(scores, thresholds, y, groups, np.ones(4, dtype=bool))
    pair = scores[:2].copy()
    first = stage.transform(pair, thresholds, ["d", "d"])[0]
    pair[1] = 0.99  # the only neighbour of the first segment, after it, now says every code
    assert (stage.transform(pair, thresholds, ["d", "d"])[0] > first).all()


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
    rows = [
        {"id": "b#2", "text": "Later in b.", "codes": [], "document": "b.txt", "start": 40},
        {"id": "a#1", "text": "Only in a.", "codes": ["mot_help"], "document": "a.txt", "start": 0},
        {"id": "b#1", "text": "Earlier in b.", "codes": [], "document": "b.txt", "start": 3},
        {"id": "x", "text": "No document.", "codes": []},
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    gold = TrainingSet.from_gold(path, mini_codebook)
    assert gold.texts == ["Earlier in b.", "Later in b.", "Only in a.", "No document."]
    assert gold.groups == ["b.txt", "b.txt", "a.txt", None]  # no end offsets: document names
    both = TrainingSet.concat(TrainingSet.from_codebook(mini_codebook), gold)
    assert both.groups[-4:] == gold.groups and set(both.groups[:-4]) == {None}
    assert gold.subset([2, 0]).groups == ["a.txt", "b.txt"]
    rows = [
        {
            "id": "e2",
            "text": "Excerpt two.",
            "codes": [],
            "source": "literature",
            "document": "t.csv",
            "start": 20,
            "end": 32,
        },
        {
            "id": "e1",
            "text": "Excerpt one.",
            "codes": [],
            "source": "literature",
            "document": "t.csv",
            "start": 0,
            "end": 12,
        },
        {
            "id": "s1",
            "text": "A turn.",
            "codes": [],
            "source": "interview",
            "document": "i.txt",
            "start": 5,
            "end": 12,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    gold = TrainingSet.from_gold(path, mini_codebook)
    # literature excerpts are independent units; a row with offsets knows its place
    assert gold.groups == [None, None, Place("i.txt", 5, 12)]


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
    grouped = TrainingSet(
        [texts[i] for i in order],
        labels[order],
        mini_training.codes,
        [mini_training.roles[i] for i in order],
        groups=sorted(groups),
    )
    ens = Ensemble(mini_codebook, folds=3).fit(grouped)
    plain = Ensemble(mini_codebook, folds=3, context=False).fit(grouped)
    assert ens.context_.fitted and not plain.context_.fitted
    sample = texts[:6]
    # alone, every text gets the context-free ensemble's decision, on the margin of its threshold
    alone, free = ens.score(sample), plain.score(sample)
    assert ((alone >= ens.thresholds) == (free >= plain.thresholds)).all()
    assert np.allclose(logit(alone), np.clip(logit(free), -9.2, 9.2) - logit(plain.thresholds), atol=1e-3)
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
        stack = ens.stacker(
            {n: o for n, o in outputs.items() if n != "classifier"}, "classifier", groups=docs
        )
        full = stack(out)
        assert np.allclose(full, ens.score(sample, groups=docs))
        for codes in (np.array([1]), np.array([0, 2]), np.array([0])):
            part = stack(type(out)(out.raw[:, codes], out.scores[:, codes], out.terms), codes)
            assert np.allclose(part, full[:, codes], atol=1e-12)


def test_project_literature_excerpts_have_no_neighbours(project, transcript_file):
    """In a project, a transcript's segments stand beside each other; the rows of a literature
    table are independent units (no excerpt is another's context)."""
    table = transcript_file.parent / "papers.csv"
    table.write_text(
        "excerpt_id,text\nA,The registry made data entry easy.\nB,Parents pay it forward.\n", encoding="utf-8"
    )
    list(import_paths(project, [transcript_file, table]))
    segs = project.segments(codable_only=True)
    places = context_groups(project, segs)
    lit = segs["document"] == "papers.csv"
    assert lit.sum() == 2 and all(p is None for p, is_lit in zip(places, lit) if is_lit)
    mine = [p for p, is_lit in zip(places, lit) if not is_lit]
    assert all(isinstance(p, Place) and p.document == "p01.txt" for p in mine) and len(mine) >= 3
    assert [(p.start, p.end) for p in mine] == list(zip(segs.loc[~lit, "start"], segs.loc[~lit, "end"]))


def test_a_one_row_literature_table_is_suggested_alone(project, tmp_path):
    from clhs_mechanisms.assist import suggest, train

    table = tmp_path / "one.csv"
    table.write_text(
        "excerpt_id,text\nA,Parents said they give back to other families through the network.\n",
        encoding="utf-8",
    )
    list(import_paths(project, [table]))
    segs = project.segments(codable_only=True)
    assert context_groups(project, segs) == [None]
    train(project, gold=[])
    report = suggest(project, floor=0)
    assert report.segments == 1 and report.suggestions == len(project.codebook.code_ids)
    scores = project.suggestions().set_index("code")["score"]
    assert scores.between(0, 1).all() and scores["mot_help"] == scores.max()
