"""Assisted coding on a project: train from the project's data, store suggestions, order review.

The suggesters (``clhs_mechanisms.suggest``) know nothing about the store; this module
connects them: it gathers training data (the codebook's examples, gold files, and every
human decision and manual coding in the project), keeps models inside the project with
their codebook version and a hash the project remembers, and writes suggestions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .codebook import Codebook
from .errors import ClhsError
from .queue import review_queue
from .store import Project
from .suggest import TrainingSet, load_model, make_suggester, save_model

METHODS = ("cues", "similarity", "classifier", "ensemble")
TRAINED_METHODS = ("classifier", "ensemble")
MODEL_KEY = "model"


def shipped_gold(codebook: Codebook) -> list[Path]:
    """The shipped gold training file, when the project uses the shipped codebook's code ids."""
    from .codebook import load_codebook, shipped_codebook_path
    from .demo import shipped_corpus_path

    try:
        shipped = load_codebook(shipped_codebook_path())
        train = shipped_corpus_path() / "gold" / "train.jsonl"
    except ClhsError:
        return []
    return [train] if codebook.id == shipped.id and train.is_file() else []


def _roles(project: Project) -> dict[str, str | None]:
    docs = project.documents()
    return {name: (attrs or {}).get("role") for name, attrs in zip(docs["name"], docs["attributes"])}


def decision_rows(project: Project) -> list[dict]:
    """Human evidence as training rows: accept = 1, reject = 0, re-code = 0 old / 1 new, manual = 1."""
    roles = _roles(project)
    rows: list[dict] = []
    decisions = project.decisions()
    for d in decisions.itertuples():
        role = (d.attributes or {}).get("role")
        if d.action == "reject":
            rows.append({"text": d.text, "role": role, "code": d.suggested, "label": 0})
        else:
            if d.code != d.suggested:
                rows.append({"text": d.text, "role": role, "code": d.suggested, "label": 0})
            rows.append({"text": d.text, "role": role, "code": d.code, "label": 1})
    codings = project.codings()
    manual = codings[(codings["origin"] == "manual") & (codings["coder_kind"] == "human")]
    for c in manual.itertuples():
        rows.append({"text": c.quote, "role": roles.get(c.document), "code": c.code, "label": 1})
    return rows


def training_set(project: Project, *, gold: Sequence[str | Path] | None = None) -> TrainingSet:
    """The codebook's examples, the gold files (default: the shipped ones if they fit) and human decisions."""
    codebook = project.codebook
    parts = [TrainingSet.from_codebook(codebook)]
    for path in (shipped_gold(codebook) if gold is None else gold):
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


def train(project: Project, *, method: str = "ensemble", gold: Sequence[str | Path] | None = None,
          coder: str = "system") -> TrainedModel:
    """Fit a model on the project's training data and make it the project's current model."""
    if method not in TRAINED_METHODS:
        raise ClhsError(f"only {', '.join(TRAINED_METHODS)} are trained (cues and similarity need no training)")
    codebook = project.codebook
    data = training_set(project, gold=gold)
    model = make_suggester(method, codebook).fit(data)
    digest = data.hash()
    version = f"{method}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{digest[:8]}"
    path = project.directory / "models" / version
    metrics = {"n_training": len(data), "positives": dict(zip(data.codes, map(int, data.positives()))),
               "thresholds": dict(zip(codebook.code_ids, map(float, model.thresholds)))}
    save_model(model, path, codebook=codebook, training_hash=digest, metrics=metrics)
    project.set_meta(MODEL_KEY, json.dumps({"version": version, "method": method,
                                            "sha256": _file_sha(path / "model.json")}))
    return TrainedModel(version, path, method, len(data), digest)


def current_model_info(project: Project) -> dict | None:
    raw = project.get_meta(MODEL_KEY)
    return json.loads(raw) if raw else None


def load_current_model(project: Project):
    """The project's current model; refused if its files changed since training."""
    info = current_model_info(project)
    if info is None:
        raise ClhsError("the project has no trained model; run `clhs train` first")
    path = project.directory / "models" / info["version"]
    manifest = path / "model.json"
    if not manifest.is_file():
        raise ClhsError("model files are missing", where=str(path))
    if _file_sha(manifest) != info["sha256"]:
        raise ClhsError("model.json was changed after training (hash mismatch); refusing to load it; "
                        "retrain with `clhs train`", where=str(manifest))
    return load_model(path, project.codebook), info


def _scored(model, texts: list[str], roles: list[str | None], margin: float):
    """Per text, the suggestions scoring at least ``threshold - margin``, best first, with evidence."""
    if hasattr(model, "suggest"):
        return model.suggest(texts, roles, margin=margin)
    from .suggest import Scored

    outputs = model.outputs(texts, roles)
    scores, thresholds = outputs.scores, model.thresholds
    pairs = [(i, int(j)) for i in range(len(texts)) for j in np.flatnonzero(scores[i] >= thresholds - margin)]
    out: list[list] = [[] for _ in texts]
    for (i, j), evidence in zip(pairs, model.batch_evidence(texts, outputs, pairs)):
        out[i].append(Scored(model.codes[j], float(scores[i, j]), float(thresholds[j]), model.method,
                             {model.method: float(scores[i, j])}, tuple(evidence)))
    return [sorted(row, key=lambda s: -s.score) for row in out]


def settled_pairs(project: Project) -> set[tuple[str, str]]:
    """(segment, code) pairs a human already decided or coded: never suggested again."""
    decided = project.suggestions(status="decided")
    codings = project.codings()
    return (set(zip(decided["segment_id"], decided["code"]))
            | set(zip(codings["segment_id"].dropna(), codings.loc[codings["segment_id"].notna(), "code"])))


@dataclass(frozen=True)
class SuggestReport:
    segments: int
    suggestions: int
    method: str
    model_version: str | None


def suggest(project: Project, *, documents: Sequence[str] | None = None, codes: Sequence[str] | None = None,
            method: str = "ensemble", margin: float = 0.15, batch_size: int = 2000,
            progress: Callable[[int], None] | None = None) -> SuggestReport:
    """Score every codable segment (optionally of some documents / for some codes) and store suggestions."""
    if method not in METHODS:
        raise ClhsError(f"unknown method '{method}' (use {', '.join(METHODS)})")
    codebook = project.codebook
    for code in codes or ():
        codebook.code(code)
    segs = project.segments(codable_only=True)
    if documents:
        missing = sorted(set(documents) - set(project.documents()["name"]))
        if missing:
            raise ClhsError(f"no document '{missing[0]}' in the project")
        segs = segs[segs["document"].isin(documents)]
    if segs.empty:
        raise ClhsError("no codable segments to suggest for: import documents first (`clhs import`)")
    if method in TRAINED_METHODS:
        model, info = load_current_model(project)
        if info["method"] != method:
            raise ClhsError(f"the current model is a {info['method']}; train a {method} with "
                            f"`clhs train --method {method}`")
        version = info["version"]
    else:
        model, version = make_suggester(method, codebook), f"{method}-codebook-{codebook.version}"
        model.fit(TrainingSet.from_codebook(codebook))
    roles = _roles(project)
    wanted = set(codes) if codes else None
    done = settled_pairs(project)
    stored = 0
    for start in range(0, len(segs), batch_size):
        chunk = segs.iloc[start:start + batch_size]
        texts = chunk["text"].tolist()
        chunk_roles = [roles.get(d) for d in chunk["document"]]
        rows = []
        for seg_id, scored in zip(chunk["id"], _scored(model, texts, chunk_roles, margin)):
            for s in scored:
                if (wanted is None or s.code in wanted) and (seg_id, s.code) not in done:
                    rows.append({"segment_id": seg_id, "code": s.code, "score": s.score,
                                 "components": {**s.components, "threshold": s.threshold},
                                 "evidence": [vars(e) for e in s.evidence]})  # an Evidence's fields
        stored += project.add_suggestions(rows, method=method, model_version=version,
                                          segment_ids=chunk["id"].tolist(), codes=codes)
        if progress:
            progress(len(chunk))
    return SuggestReport(len(segs), stored, method, version)


def queue(project: Project, *, mode: str = "uncertain", limit: int | None = 20, code: str | None = None,
          document: str | None = None) -> pd.DataFrame:
    """Pending suggestions in review order (see ``clhs_mechanisms.queue.review_queue``)."""
    if code is not None:
        project.codebook.code(code)
    return review_queue(project.suggestions(), mode=mode, limit=limit, code=code, document=document)
