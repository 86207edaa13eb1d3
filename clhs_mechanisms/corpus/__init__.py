"""Corpus readers: interview transcripts and literature excerpts into Documents.

Formats: plain text and Markdown with ``Speaker:`` turns (.txt .md .markdown), WebVTT
and SRT captions (.vtt .srt), Word (.docx), Whisper's .json and .tsv, tables of excerpts
(.csv .tsv .xlsx); transcript layouts of Zoom, Teams, Otter.ai, Descript, Rev, Whisper and
YouTube are detected (``corpus.formats``).
Every problem with a user's file is a ReaderError naming the file (and line). This
stage never touches the project store and does not use spaCy.
"""

from clhs_mechanisms.corpus.attributes import AttributeTable, apply_attributes
from clhs_mechanisms.corpus.captions import read_captions
from clhs_mechanisms.corpus.dispatch import (
    SUPPORTED_EXTENSIONS,
    SourceFile,
    iter_documents,
    iter_files,
    read_document,
    read_files,
)
from clhs_mechanisms.corpus.docx import read_docx
from clhs_mechanisms.corpus.model import Document, Turn
from clhs_mechanisms.corpus.tables import read_table
from clhs_mechanisms.corpus.text import decode_bytes
from clhs_mechanisms.corpus.transcript import read_transcript
from clhs_mechanisms.corpus.whisper import read_whisper

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "AttributeTable",
    "Document",
    "SourceFile",
    "Turn",
    "apply_attributes",
    "decode_bytes",
    "iter_documents",
    "iter_files",
    "read_captions",
    "read_document",
    "read_docx",
    "read_files",
    "read_table",
    "read_transcript", "read_whisper",
]
