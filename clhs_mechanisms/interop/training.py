"""Training data for a stronger model elsewhere: JSON Lines and a spaCy ``DocBin``.

One example per coding unit (segment) that a person has looked at: a segment with at
least one human coding, or whose machine suggestion a person decided. Its labels are
the codes people applied to it. Segments nobody reviewed are left out by default: an
unreviewed segment is unlabelled, not negative (``include_unreviewed`` adds them as
all-negative examples for those who want that).

* JSONL: one object a line, the same fields as the shipped gold data
  (``id, text, codes, source, role, document, start, end``) plus ``speaker``,
  ``cats`` (every code of the codebook -> 0 or 1) and ``spans`` (coded character
  spans inside the segment: ``start, end, code``). ``TrainingSet.from_gold`` reads it.
* DocBin: one ``Doc`` per example with ``doc.cats`` as above, the coded spans in
  ``doc.spans["sc"]`` (for a span categorizer), and id, document, start and end in
  ``doc.user_data``. Load with ``DocBin().from_disk(path).get_docs(nlp.vocab)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import ClhsError
from ..store import Project
from .files import atomic_path

FORMATS = ("jsonl", "spacy")


def training_examples(project: Project, *, include_unreviewed: bool = False) -> Iterator[dict]:
    """The examples, in document and reading order."""
    codebook = project.codebook
    code_ids = list(codebook.code_ids)
    data = project.training_units()
    labels: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for c in data.human_codings:
        labels.setdefault(c.segment_id, {}).setdefault(c.code_id, []).append((c.start, c.end))
    for r in data.units:
        mine = labels.get(r.id, {})
        if not (mine or r.id in data.decided or include_unreviewed):
            continue
        spans = []
        for code, places in sorted(mine.items()):
            for s, e in sorted(places):
                a, b = max(s, r.start) - r.start, min(e, r.end) - r.start
                if a < b:
                    spans.append({"start": a, "end": b, "code": code})
        yield {
            "id": f"{r.name}#{r.idx}",
            "text": r.text,
            "codes": sorted(c for c in mine if c in code_ids),
            "source": r.kind,
            "role": r.attributes.get("role"),
            "document": r.name,
            "start": r.start,
            "end": r.end,
            "speaker": r.speaker,
            "cats": {c: int(c in mine) for c in code_ids},
            "spans": spans,
        }


def write_jsonl(project: Project, path: str | Path, *, include_unreviewed: bool = False) -> int:
    """Write the examples as UTF-8 JSON Lines; returns how many."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for example in training_examples(project, include_unreviewed=include_unreviewed):
            fh.write(json.dumps(example, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_docbin(project: Project, path: str | Path, *, include_unreviewed: bool = False) -> int:
    """Write the examples as a spaCy ``DocBin`` (``.spacy``); returns how many."""
    from spacy.tokens import DocBin

    from ..nlp import shared_pipeline

    nlp = shared_pipeline(lemmatizer=False)
    bin_ = DocBin(store_user_data=True)
    n = 0
    for example in training_examples(project, include_unreviewed=include_unreviewed):
        doc = nlp.make_doc(example["text"])
        doc.cats = {code: float(v) for code, v in example["cats"].items()}
        spans = [
            doc.char_span(s["start"], s["end"], label=s["code"], alignment_mode="expand")
            for s in example["spans"]
        ]
        doc.spans["sc"] = [s for s in spans if s is not None]
        doc.user_data.update(
            {
                "id": example["id"],
                "document": example["document"],
                "start": example["start"],
                "end": example["end"],
                "role": example["role"],
                "speaker": example["speaker"],
            }
        )
        bin_.add(doc)
        n += 1
    with atomic_path(path) as tmp:
        tmp.write_bytes(bin_.to_bytes())
    return n


def write_training(project: Project, path: str | Path, *, fmt: str, include_unreviewed: bool = False) -> int:
    if fmt not in FORMATS:
        raise ClhsError(f"unknown training format '{fmt}' (use jsonl or spacy)")
    writer = write_jsonl if fmt == "jsonl" else write_docbin
    return writer(project, path, include_unreviewed=include_unreviewed)
