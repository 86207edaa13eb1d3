"""Export: codings, the codebook, matrices, REFI-QDA and training data, as downloads."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from clhs_mechanisms.app import state
from clhs_mechanisms.errors import ClhsError
from clhs_mechanisms.interop import codebook_doc, matrix, refi_export, tables, training, xlsx

project = state.project()
codebook = project.codebook
st.title("Export")
if not state.sees_everything():
    st.info("This project codes blind: exports hold everyone's codings, so only an adjudicator exports.")
    st.stop()


def _via_file(write, suffix: str) -> bytes:
    """Run a library writer into a temporary file and return its bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{suffix}"
        write(path)
        return path.read_bytes()


FORMATS = {
    "Codings (CSV)": (
        "codings.csv",
        "text/csv",
        lambda: tables.codings_table(project).to_csv(index=False).encode("utf-8"),
    ),
    "Codings (Excel: all codings + one sheet per code)": (
        "codings.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda: _via_file(lambda p: xlsx.codings_workbook(project, p), ".xlsx"),
    ),
    "Codebook (Markdown)": (
        "codebook.md",
        "text/markdown",
        lambda: codebook_doc.codebook_markdown(codebook).encode("utf-8"),
    ),
    "Codebook (HTML)": (
        "codebook.html",
        "text/html",
        lambda: codebook_doc.codebook_html(codebook).encode("utf-8"),
    ),
    "Code x document matrix (CSV)": (
        "code_by_document.csv",
        "text/csv",
        lambda: matrix.code_by_document(project).to_csv().encode("utf-8"),
    ),
    "REFI-QDA codebook (.qdc)": (
        "codebook.qdc",
        "application/xml",
        lambda: _via_file(lambda p: refi_export.export_qdc(project, p), ".qdc"),
    ),
    "REFI-QDA project (.qdpx)": (
        "project.qdpx",
        "application/zip",
        lambda: _via_file(lambda p: refi_export.export_qdpx(project, p), ".qdpx"),
    ),
    "Training data (JSONL)": (
        "training.jsonl",
        "application/jsonl",
        lambda: _via_file(lambda p: training.write_training(project, p, fmt="jsonl"), ".jsonl"),
    ),
}

choice = st.selectbox("Format", list(FORMATS), key="export_format")
name, mime, make = FORMATS[choice]
if st.button("Prepare download", key="export_prepare"):
    try:
        st.session_state["export_ready"] = (choice, make())
    except ClhsError as exc:
        state.report_error(exc)
ready = st.session_state.get("export_ready")
if ready and ready[0] == choice:
    st.download_button(f"Download {name}", ready[1], file_name=name, mime=mime, key="export_download")
st.caption(
    f"{project.status()['codings']} codings in the project. The command line offers the same: "
    "`clhs export codings|codebook|matrix|qdc|qdpx|training`."
)
