"""Assisted coding on a project: train from the project's data, store suggestions, order review.

The suggesters (``clhs_mechanisms.suggest``) know nothing about the store; this module
connects them: it gathers training data (the codebook's examples, gold files, and every
human decision and manual coding in the project), keeps models inside the project with
their codebook version and a hash the project remembers, and writes suggestions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import processes
from .codebook import Codebook
from .errors import ClhsError
from .queue import review_queue
from .shipped import shipped_gold
from .store import Project, now
from .suggest import FLOOR, Scored, TrainingSet, load_model, make_suggester, save_model
from .suggest.classifier import row_blocks
from .suggest.context import Place
from .suggest.protocol import LiveUpdates
from .suggest.registry import suggesting_methods, trained_methods
from .suggest.thresholds import ranked_pairs
from .suggest.types import ALL, UNKNOWN, Outputs

MODEL_KEY = "model"


def model_path(project: Project, version: str) -> Path:
    """The folder of the project's model ``version``: ``<project>/models/<version>``."""
    return Path(project.directory) / "models" / version


def _roles(project: Project) -> dict[str, str | None]:
    docs = project.documents()
    return {name: (attrs or {}).get("role") for name, attrs in zip(docs["name"], docs["attributes"])}


def context_groups(project: Project, segments: pd.DataFrame) -> list[Place | None]:
    """Each segment's place for the ensemble's context stage (``segments`` in reading order, as
    :meth:`Project.segments` gives them): transcripts are read in turn sequence, each segment
    beside its document's segments before and after it; literature excerpts are independent
    units (``None``: no neighbours), whatever file they came from."""
    docs = project.documents()
    literature = set(docs.loc[docs["kind"] == "literature", "name"])
    return [
        None if d in literature else Place(d, int(a), int(b))
        for d, a, b in zip(segments["document"], segments["start"], segments["end"])
    ]


def decision_rows(project: Project, *, since: str | None = None) -> list[dict]:
    """Human evidence as training rows: accept = 1, reject = 0, re-code = 0 old / 1 new, manual = 1.

    Each row also names its source (``source``: the decision or coding id) and when it was made
    (``at``); ``since`` keeps only those made at or after that time (ISO, UTC).
    """
    rows: list[dict] = []
    decisions = project.decisions(since=since)
    for d in decisions.itertuples():
        role = (d.attributes or {}).get("role")
        made = {"source": d.id, "at": d.created_at, "where": f"{d.document}, decided by {d.coder}"}
        if d.action == "reject":
            rows.append({"text": d.text, "role": role, "code": d.suggested, "label": 0, **made})
        else:
            if d.code != d.suggested:
                rows.append({"text": d.text, "role": role, "code": d.suggested, "label": 0, **made})
            rows.append({"text": d.text, "role": role, "code": d.code, "label": 1, **made})
    codings = project.codings(since=since)
    manual = codings[(codings["origin"] == "manual") & (codings["coder_kind"] == "human")]
    roles = _roles(project) if len(manual) else {}  # reading every document is not free: only if needed
    for c in manual.itertuples():
        rows.append(
            {
                "text": c.quote,
                "role": roles.get(c.document),
                "code": c.code,
                "label": 1,
                "source": c.id,
                "at": c.created_at,
                "where": f"{c.document}, coded by {c.coder}",
            }
        )
    return rows


def training_set(project: Project, *, gold: Sequence[str | Path] | None = None) -> TrainingSet:
    """The codebook's examples, the gold files (default: the shipped ones if they fit) and human decisions."""
    codebook = project.codebook
    parts = [TrainingSet.from_codebook(codebook)]
    for path in shipped_gold(codebook) if gold is None else gold:
        parts.append(TrainingSet.from_gold(path, codebook))
    rows = decision_rows(project)
    if rows:
        parts.append(TrainingSet.from_decisions(rows, codebook))
    return TrainingSet.concat(*parts)


@dataclass(frozen=True)
class TrainedModel:
    version: str
    path: Path
    method: str
    n_training: int
    training_hash: str


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    project: Project,
    *,
    method: str = "ensemble",
    gold: Sequence[str | Path] | None = None,
    coder: str = "system",
) -> TrainedModel:
    """Fit a model on the project's training data and make it the project's current model."""
    if method not in trained_methods():
        untrained = [m for m in suggesting_methods() if m not in trained_methods()]
        raise ClhsError(
            f"only {', '.join(trained_methods())} are trained ({' and '.join(untrained)} need no training)"
        )
    codebook = project.codebook
    started = now()  # decisions from here on are not in this model (see LiveScores)
    data = training_set(project, gold=gold)
    model = make_suggester(method, codebook).fit(data)
    digest = data.hash()
    version = f"{method}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{digest[:8]}"
    path = model_path(project, version)
    metrics = {
        "n_training": len(data),
        "positives": dict(zip(data.codes, map(int, data.positives()))),
        "thresholds": dict(zip(codebook.code_ids, map(float, model.thresholds))),
    }
    save_model(model, path, codebook=codebook, training_hash=digest, metrics=metrics)
    project.set_meta(
        MODEL_KEY,
        json.dumps(
            {
                "version": version,
                "method": method,
                "data_read_at": started,
                "sha256": _file_sha(path / "model.json"),
            }
        ),
    )
    return TrainedModel(version, path, method, len(data), digest)


def current_model_info(project: Project) -> dict | None:
    raw = project.get_meta(MODEL_KEY)
    return json.loads(raw) if raw else None


def load_current_model(project: Project):
    """The project's current model; refused if its files changed since training."""
    info = current_model_info(project)
    if info is None:
        raise ClhsError("the project has no trained model", hint="clhs train")
    path = model_path(project, info["version"])
    manifest = path / "model.json"
    if not manifest.is_file():
        raise ClhsError("model files are missing", where=str(path))
    if _file_sha(manifest) != info["sha256"]:
        raise ClhsError(
            "model.json was changed after training (hash mismatch); refusing to load it",
            where=str(manifest),
            hint="retrain with clhs train",
        )
    return load_model(path, project.codebook), info


def _scored(model, texts: list[str], roles: list[str | None], floor: float, groups: list[str]):
    """Per text, the suggestions scoring at least ``floor * threshold``, best first, with evidence;
    ``groups`` (each text's document, in reading order) give the ensemble each segment's neighbours."""
    if hasattr(model, "suggest"):
        return model.suggest(texts, roles, floor=floor, groups=groups)
    outputs = model.outputs(texts, roles)
    scores, thresholds = outputs.scores, model.thresholds
    pairs = ranked_pairs(scores, thresholds, floor)
    out: list[list] = [[] for _ in texts]
    for (i, j), evidence in zip(pairs, model.batch_evidence(texts, outputs, pairs)):
        out[i].append(
            Scored(
                model.codes[j],
                float(scores[i, j]),
                float(thresholds[j]),
                model.method,
                {model.method: float(scores[i, j])},
                tuple(evidence),
            )
        )
    return out


def settled_pairs(project: Project) -> set[tuple[str, str]]:
    """(segment, code) pairs a human already decided or coded: never suggested again."""
    decided = project.suggestions(status="decided")
    codings = project.codings()
    return set(zip(decided["segment_id"], decided["code"])) | set(
        zip(codings["segment_id"].dropna(), codings.loc[codings["segment_id"].notna(), "code"])
    )


@dataclass(frozen=True)
class SuggestReport:
    segments: int
    suggestions: int
    method: str
    model_version: str | None


PARALLEL_MIN_SEGMENTS = 20_000  # below this, starting scoring processes costs more than it saves


def suggest(
    project: Project,
    *,
    documents: Sequence[str] | None = None,
    codes: Sequence[str] | None = None,
    method: str = "ensemble",
    floor: float = FLOOR,
    batch_size: int = 2000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SuggestReport:
    """Score every codable segment (optionally of some documents / for some codes) and store suggestions.

    A suggestion is stored when its score reaches ``floor`` times its code's threshold: those at or
    above the threshold, and near misses below it for the reviewer to catch what the model
    under-scores (see :data:`clhs_mechanisms.suggest.FLOOR`). ``workers`` scoring processes
    (default: one per CPU for passes of at least ``PARALLEL_MIN_SEGMENTS``, else none) score
    batches while this process stores the scored ones, in order.
    """
    segs = _segments_to_suggest(project, documents, codes, method, floor)
    model, version, recipe = _suggesting_model(project, method)
    roles = _roles(project)
    wanted = set(codes) if codes else None
    done = settled_pairs(project)
    groups = context_groups(project, segs)
    batches = [
        (
            segs["id"].iloc[a:b].tolist(),
            segs["text"].iloc[a:b].tolist(),
            [roles.get(d) for d in segs["document"].iloc[a:b]],
            groups[a:b],
        )
        for a, b in _whole_documents(segs["document"].tolist(), batch_size)
    ]
    if workers is None:
        workers = processes.cpus() if len(segs) >= PARALLEL_MIN_SEGMENTS else 0
    scored = (
        _score_in_processes(model, recipe, batches, floor, workers)
        if workers > 0
        else (_scored(model, texts, batch_roles, floor, groups) for _, texts, batch_roles, groups in batches)
    )
    stored = 0
    for (seg_ids, *_), batch in zip(batches, scored):
        rows = []
        for seg_id, suggested in zip(seg_ids, batch):
            for s in suggested:
                if (wanted is None or s.code in wanted) and (seg_id, s.code) not in done:
                    rows.append(
                        {
                            "segment_id": seg_id,
                            "code": s.code,
                            "score": s.score,
                            "components": {**s.components, "threshold": s.threshold},
                            "evidence": s.evidence,
                        }
                    )  # Evidence dataclasses: stored as JSON objects
        stored += project.add_suggestions(
            rows, method=method, model_version=version, segment_ids=seg_ids, codes=codes
        )
        if progress:
            progress(len(seg_ids))
    return SuggestReport(len(segs), stored, method, version)


def _segments_to_suggest(project: Project, documents, codes, method: str, floor: float) -> pd.DataFrame:
    """The codable segments a suggestion pass scores; bad arguments refused before any work."""
    if method not in suggesting_methods():
        raise ClhsError(f"unknown method '{method}' (use {', '.join(suggesting_methods())})")
    if not 0 <= floor <= 1:
        raise ClhsError(f"floor must be between 0 and 1, not {floor}")
    for code in codes or ():
        project.codebook.code(code)
    segs = project.segments(codable_only=True)
    if documents:
        missing = sorted(set(documents) - set(project.documents()["name"]))
        if missing:
            raise ClhsError(f"no document '{missing[0]}' in the project")
        segs = segs[segs["document"].isin(documents)]
    if segs.empty:
        raise ClhsError("no codable segments to suggest for: import documents first", hint="clhs import")
    return segs


def _suggesting_model(project: Project, method: str):
    """The model that scores (the project's current one for trained methods), its version and the
    recipe scoring processes rebuild it from."""
    codebook = project.codebook
    if method in trained_methods():
        model, info = load_current_model(project)
        if info["method"] != method:
            raise ClhsError(
                f"the current model is a {info['method']}, not a {method}",
                hint=f"clhs train --method {method}",
            )
        return model, info["version"], (method, model_path(project, info["version"]), codebook)
    return (
        _codebook_model(method, codebook),
        f"{method}-codebook-{codebook.version}",
        (method, None, codebook),
    )


def _whole_documents(documents: list[str], size: int) -> list[tuple[int, int]]:
    """(start, end) of batches of about ``size`` segments that never split a document (segments
    in reading order), so every segment is scored beside its neighbours."""
    bounds, start = [], 0
    for i in range(1, len(documents) + 1):
        if i == len(documents) or (documents[i] != documents[i - 1] and i - start >= size):
            bounds.append((start, i))
            start = i
    return bounds


def _codebook_model(method: str, codebook: Codebook):
    """An untrained method's model: fitted on the codebook's own examples."""
    return make_suggester(method, codebook).fit(TrainingSet.from_codebook(codebook))


_worker_model = None  # the model a scoring process scores with


def _init_scorer(source) -> None:
    """Forked workers inherit the model; spawned ones load it (method, model folder or None, codebook)."""
    global _worker_model
    if isinstance(source, tuple):
        method, path, codebook = source
        source = load_model(path, codebook) if path is not None else _codebook_model(method, codebook)
    _worker_model = source


def _score_batch(texts: list[str], roles: list[str | None], floor: float, groups: list[str]):
    return _scored(_worker_model, texts, roles, floor, groups)


def _score_in_processes(model, recipe: tuple, batches: list[tuple], floor: float, workers: int):
    """:func:`_scored` over ``batches`` in ``workers`` processes, in order; here if they break."""
    return processes.map_in_order(
        _score_batch,
        [(texts, roles, floor, groups) for _, texts, roles, groups in batches],
        workers,
        here=lambda *task: _scored(model, *task),
        initializer=_init_scorer,
        initargs=(model if processes.forking() else recipe,),
    )


class LiveScores:
    """Pending suggestions rescored after each batch of decisions without a refit (under half a
    second on 100k segments).

    Built once per model (the slow part: every codable segment of the documents under review is
    featurised and the other members' outputs are kept); then :meth:`update` moves the part of the
    model that updates live (:class:`~.suggest.protocol.LiveUpdates`: the classifier, ``classifier``)
    towards the decisions and manual codings made since its training data was read (warm-started
    SGD, :meth:`CodeClassifier.partial_update`) and rescores those segments from the cached
    features, each in the context of its neighbours. The new scores live here, not in the
    store: :meth:`apply` puts them on a pending table so the review queue's order follows the
    reviewer's latest decisions, and the next full retrain (``train`` + ``suggest``) stores scores
    from a refit on everything.
    """

    def __init__(self, project: Project) -> None:
        self.model, info = load_current_model(project)
        self.version, self.since = info["version"], info.get("data_read_at")
        members = getattr(self.model, "members_", {self.model.method: self.model})  # an ensemble's, or itself
        live = next((name for name, member in members.items() if isinstance(member, LiveUpdates)), None)
        if live is None:
            raise ClhsError(
                f"the current model ({self.version}) cannot learn from decisions between retrains",
                hint="clhs train --method ensemble",
            )
        self.classifier = members[live]
        # Every codable segment of the documents under review, in reading order: the context stage
        # scores each pending segment beside its neighbours, as the suggestion pass did.
        self.directory = Path(project.directory).resolve()  # the project these scores belong to
        self.documents = frozenset(project.documents_under_review())  # what these scores cover
        segs = project.segments(codable_only=True)
        segs = segs[segs["document"].isin(self.documents)]
        roles = _roles(project)
        self.segment_ids = segs["id"].tolist()
        texts, seg_roles = segs["text"].tolist(), [roles.get(d) for d in segs["document"]]
        self.X = row_blocks(self.classifier.transform_cache(texts, seg_roles))  # cut once, not per update
        if self.model is not self.classifier:  # the other members' share of the stack is fixed: summed once
            others = {
                name: member.outputs(texts, seg_roles) for name, member in members.items() if name != live
            }
            self._rescore = self.model.stacker(others, live, groups=context_groups(project, segs))
        else:
            self._rescore = lambda out, codes=ALL: out.scores
        self.applied: set[str] = set()  # decisions and codings applied (those made at the watermark too)
        self.margin: np.ndarray | None = None  # the classifier's margins (segments, codes)
        self.scores: np.ndarray | None = None  # (segments, codes) after the last update

    def update(self, project: Project) -> int:
        """Apply the decisions not applied yet and rescore; returns how many training rows were new."""
        if current_model_info(project)["version"] != self.version:
            raise ClhsError("the project's model changed since these live scores were built; rebuild them")
        rows = [r for r in decision_rows(project, since=self.since) if r["source"] not in self.applied]
        if rows:
            training = TrainingSet.from_decisions(rows, project.codebook)
            self.classifier.partial_update(training)
            latest = max(r["at"] for r in rows)
            if self.since is None or latest > self.since:  # read only what is newer next time
                self.since, self.applied = latest, set()
            self.applied.update(r["source"] for r in rows if r["at"] == self.since)
        if self.scores is None:
            self.margin = self.classifier.decision_cached(self.X)
            self.scores = self._rescore(Outputs(self.margin, self.classifier.calibrated(self.margin)))
        elif rows:  # only the codes with new labels moved (the steps after are per code): rescore those
            moved = np.flatnonzero((training.labels != UNKNOWN).any(axis=0))
            margin = self.margin[:, moved] = self.classifier.decision_cached(self.X, moved)
            self.scores[:, moved] = self._rescore(
                Outputs(margin, self.classifier.calibrated(margin, moved)), moved
            )
        return len(rows)

    def apply(self, pending: pd.DataFrame) -> pd.DataFrame:
        """``pending`` with each suggestion's ``score`` from the last update (segments this object
        has not seen keep theirs) and the score as stored in ``stored_score``."""
        if self.scores is None or pending.empty:
            return pending
        row = pd.Series(np.arange(len(self.segment_ids)), index=self.segment_ids)
        col = {c: j for j, c in enumerate(self.model.codes)}
        at = pending["segment_id"].map(row)
        known = at.notna() & pending["code"].isin(col)
        out = pending.assign(stored_score=pending["score"])
        if known.any():
            out.loc[known, "score"] = self.scores[
                at[known].astype(int).to_numpy(), pending.loc[known, "code"].map(col).astype(int).to_numpy()
            ]
        return out


def queue(
    project: Project,
    *,
    mode: str = "uncertain",
    limit: int | None = 20,
    code: str | None = None,
    document: str | None = None,
) -> pd.DataFrame:
    """Pending suggestions in review order (see ``clhs_mechanisms.queue.review_queue``)."""
    if code is not None:
        project.codebook.code(code)
    return review_queue(project.suggestions(), mode=mode, limit=limit, code=code, document=document)
