"""Transcript formats: the layouts that transcription tools write, detected or forced.

Each reader detects the layout from the file and says which in ``Document.warnings``
("format detected: otter"); ``format=`` forces one when detection guesses wrong. What a
format changes:

- ``zoom``: captions whose cues start with ``Name:``; a name counts however rarely it is
  used, and a cue without one is an unknown speaker's, never the previous speaker's.
- ``teams``: captions with ``<v Name>`` voice spans; Teams ``.txt`` downloads (a timing
  line, a speaker line, then the text).
- ``youtube``: auto-captions whose rolling cues repeat each line; repeats and word timing
  tags are dropped and ``>>`` starts a new speaker's turn.
- ``whisper``: Whisper's outputs (``.txt`` lines ``[00:43.810 --> 00:47.850]  text``,
  ``.srt``, ``.vtt``, ``.tsv``, ``.json``); no speakers, so pauses start turns.
- ``otter``, ``descript``, ``rev``, ``plain``: text layouts (``Emma  0:00`` lines,
  ``**Emma:** [00:00:00]``, ``Emma (00:01:02):``, hand-typed labels); the line parser reads
  them all, so forcing one of these only names it.
"""

from __future__ import annotations

from clhs_mechanisms.errors import ReaderError

FORMATS: tuple[str, ...] = ("zoom", "teams", "otter", "descript", "whisper", "youtube", "rev", "plain")
CAPTION_FORMATS: tuple[str, ...] = ("zoom", "teams", "youtube", "whisper", "plain")
TEXT_FORMATS: tuple[str, ...] = ("teams", "otter", "descript", "whisper", "rev", "plain")


def check_format(format: str | None, where: str) -> str | None:
    """The format named by ``format`` (case-insensitive), None for "detect it"; ReaderError if unknown."""
    if format is None or not format.strip():
        return None
    name = format.strip().lower()
    if name not in FORMATS:
        raise ReaderError(f"unknown format '{format}' (expected one of: {', '.join(FORMATS)})", where=where)
    return name


def settle_format(
    forced: str | None, detected: str, applicable: tuple[str, ...], what: str
) -> tuple[str, list[str]]:
    """The format to read with and the warnings that say so.

    A forced format is used if it applies to this kind of file (``what``: "captions",
    "text"); one that does not is reported and the detected one used instead. A detected
    format other than ``plain`` is reported, so the user sees how the file was read.
    """
    if forced is not None and forced in applicable:
        return forced, []
    if forced is not None:
        return detected, [
            f"format '{forced}' does not apply to {what} (only {', '.join(applicable)}): read as {detected}"
        ]
    return detected, [] if detected == "plain" else [f"format detected: {detected}"]
