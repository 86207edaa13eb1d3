"""Print the codable segments of corpus files as gold-row skeletons, for coding by hand.

Each line is ``{"id", "text", "codes": [], "source", "role", "document", "start", "end"}``
with offsets into the text as the toolkit's readers produce it (so the gold check
``read_document(path).text[start:end] == text`` holds). ``role`` comes from the
``attributes.csv`` beside the file, or from ``--role``; literature rows have none.

Usage: python scripts/corpus_segments.py FILE [FILE ...] [--role ROLE] > skeleton.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from clhs_mechanisms.corpus import read_document
from clhs_mechanisms.segment import Segmenter


def _roles(path: Path) -> dict[str, str]:
    sidecar = path.parent / "attributes.csv"
    if not sidecar.is_file():
        return {}
    with sidecar.open(encoding="utf-8", newline="") as f:
        return {row["file"]: row.get("role", "") for row in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument(
        "--role", default=None, help="role for every interview file (overrides attributes.csv)"
    )
    args = parser.parse_args()
    segmenter = Segmenter()
    for path in args.files:
        document = read_document(path)
        literature = document.kind == "literature"
        role = args.role or _roles(path).get(path.name, "")
        for seg in segmenter.segment(document):
            if not seg.codable:
                continue
            print(
                json.dumps(
                    {
                        "id": f"{document.name}#{seg.index}",
                        "text": seg.text,
                        "codes": [],
                        "source": "literature" if literature else "interview",
                        "role": None if literature else role,
                        "document": document.name,
                        "start": seg.start,
                        "end": seg.end,
                    },
                    ensure_ascii=False,
                )
            )


if __name__ == "__main__":
    main()
