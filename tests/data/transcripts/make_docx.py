"""Write the Word examples of tests/data/transcripts in the layouts tools and typists produce.

Run ``python tests/data/transcripts/make_docx.py OUT_DIR`` to write them; the tests call
:func:`write_all` into a temporary folder instead of keeping binary files in the repository.
Texts are ours; the layouts follow the exports described in README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx


def otter(path: Path) -> Path:
    """Otter.ai's Word export: a "Name  0:00" paragraph, the text, an empty paragraph; the footer."""
    word = docx.Document()
    word.add_paragraph("Clinic huddle interview")
    for name, time, text in [
        ("Emma", "0:00", "Thanks for talking to me. How long has your clinic been in the network?"),
        ("Sidney", "0:06", "Four years this spring. We joined after a family asked us to."),
        ("Unknown Speaker", "0:13", "Sorry, can you repeat that? The line cut out."),
        ("Sidney", "0:16", "Four years. A family asked us to join."),
    ]:
        word.add_paragraph(f"{name}  {time}  ")
        word.add_paragraph(text)
        word.add_paragraph("")
    word.add_paragraph("Transcribed by https://otter.ai")
    word.save(str(path))
    return path


def teams(path: Path) -> Path:
    """Teams' "Download as .docx": a title block, then "Name   0:03" and the text, in one paragraph
    each, the name line ending with a line break inside the paragraph in newer versions."""
    word = docx.Document()
    word.add_paragraph("Network site interview")
    word.add_paragraph("January 10, 2024, 2:03PM")
    word.add_paragraph("Dana Whitfield started transcription")
    for name, time, text in [
        ("Dana Whitfield", "0:03", "Thanks for joining. Could you start with your role?"),
        ("Amira Haddad", "0:07", "I coordinate the cystic fibrosis program at the clinic."),
        ("Dana Whitfield", "0:15", "And how did the clinic join the network?"),
        ("Amira Haddad", "1:02:09", "Our director signed us up before I started."),
    ]:
        paragraph = word.add_paragraph(f"{name}   {time}")
        paragraph.add_run().add_break()
        paragraph.add_run(text)
    word.save(str(path))
    return path


def dash_labels(path: Path) -> Path:
    """A hand-typed interview with "I –" and "C –" labels (en dash), as a typist writes them in Word."""
    word = docx.Document()
    word.add_paragraph("Interview with a clinic manager, March 2023")
    for label, text in [
        ("I", "What does your business offer families with a new diagnosis?"),
        ("C", "We currently offer a first visit with the nurse, a parent mentor and a printed plan."),
        ("I", "Who came up with the parent mentor idea?"),
        ("C", "A mother from the network - she had been through it herself - and she trained the others."),
    ]:
        word.add_paragraph(f"{label} – {text}")
    word.save(str(path))
    return path


def write_all(directory: Path) -> dict[str, Path]:
    """Write every example into ``directory``; returns them by name."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "otter.docx": otter(directory / "otter.docx"),
        "teams_download.docx": teams(directory / "teams_download.docx"),
        "dash_labels.docx": dash_labels(directory / "dash_labels.docx"),
    }


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else ".")).values():
        print(written)
