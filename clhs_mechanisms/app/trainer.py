"""Background work for the review page: full retrains, and live scores that follow each decision.

A full retrain (train, then rescore pending work) runs off the page's thread every N decisions.
Between retrains, :class:`~clhs_mechanisms.assist.LiveScores` moves the model towards each new
decision in under half a second (100k segments), so the queue's order follows the reviewer
without waiting for a refit.
"""

from __future__ import annotations

import ast
import functools
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from ..assist import LiveScores, current_model_info, suggest, train
from ..errors import ClhsError
from ..store import Project
from ..suggest import FLOOR


def _serialise_ast_parse() -> None:
    """Let one thread at a time build Python ASTs (a workaround for CPython before 3.13).

    CPython keeps the AST constructor's recursion counter per interpreter, not per thread
    (python/cpython#106905), so two threads in ``ast.parse`` at once can fail with
    "AST constructor recursion depth mismatch". Here that means Streamlit compiling a page
    while a background job reads a model (numpy parses ``.npy`` headers with ``ast``).
    """
    if sys.version_info >= (3, 13) or getattr(ast.parse, "_clhs_serialised", False):
        return
    parse, lock = ast.parse, threading.RLock()

    @functools.wraps(parse)
    def serialised(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    serialised._clhs_serialised = True
    ast.parse = serialised


_serialise_ast_parse()


class Trainer:
    """One background job at a time per server; its last message is shown on the review page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.live: LiveScores | None = None
        self.updates = 0  # live updates applied: part of the review queue's cache key
        self.message = ""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self, target, project_dir: str, message: str, **kwargs) -> bool:
        with self._lock:
            if self.running:
                return False
            self.message = message
            self._thread = threading.Thread(target=target, args=(project_dir,), kwargs=kwargs, daemon=True)
            self._thread.start()
            return True

    def start(self, project_dir: str, floor: float = FLOOR) -> bool:
        """Retrain on everything and re-make the suggestions of the documents under review (down to
        ``floor`` times each code's threshold), in the background."""
        return self._start(
            self._run, project_dir, f"retraining started {datetime.now():%H:%M:%S}", floor=floor
        )

    def ensure_live(self, project_dir: str, info: dict | None, under_review: Iterable[str] = ()) -> bool:
        """Build live scores for the current model (``info``) in the background, if missing or stale:
        built for another model, or not covering every document now ``under_review`` (documents
        suggested since they were built)."""
        live = self._live_for(project_dir)
        if info is None or (
            live is not None and live.version == info["version"] and live.documents.issuperset(under_review)
        ):
            return False
        return self._start(self._build_live, project_dir, "preparing live scores for the current model")

    def _run(self, project_dir: str, floor: float) -> None:
        try:
            with Project.open(project_dir) as project:
                model = train(project)
                # Rescore where review is going on, not the whole project.
                under_review = project.documents_under_review()
                report = suggest(project, method="ensemble", documents=under_review or None, floor=floor)
                self._live_from(project)
            self.message = (
                f"retrained {datetime.now():%H:%M:%S}: {model.version} on {model.n_training} texts; "
                f"{report.suggestions} suggestions refreshed"
            )
        except ClhsError as exc:
            self.message = f"retraining failed: {exc}"

    def _build_live(self, project_dir: str) -> None:
        try:
            with Project.open(project_dir) as project:
                self._live_from(project)
            self.message = f"live scores ready {datetime.now():%H:%M:%S}: the queue follows each decision"
        except ClhsError as exc:
            self.message = f"live scores unavailable: {exc}"

    def _live_from(self, project: Project) -> None:
        live = LiveScores(project)
        live.update(project)
        with self._live_lock:
            self.live = live
            self.updates += 1

    def after_decision(self, project: Project) -> None:
        """Move the live scores towards the decisions just made (under half a second on 100k segments;
        skipped if none yet)."""
        with self._live_lock:
            live = self._live_for(project.directory)
            if live is None or live.version != (current_model_info(project) or {}).get("version"):
                return
            if live.update(project):
                self.updates += 1

    def apply(self, pending: pd.DataFrame, project_dir: str | Path) -> pd.DataFrame:
        """The project's pending suggestions with their live scores (as stored if there are none)."""
        live = self._live_for(project_dir)
        return live.apply(pending) if live is not None else pending

    def model(self, project_dir: str | Path, version: str | None):
        """The fitted model the live scores hold, if it is this project's model ``version`` (the
        review page explains suggestions with it without loading it again); else None."""
        live = self._live_for(project_dir)
        return live.model if live is not None and live.version == version else None

    def _live_for(self, project_dir: str | Path) -> LiveScores | None:
        """The live scores, if they belong to this project (one server may be pointed at another)."""
        live = self.live
        return live if live is not None and live.directory == Path(project_dir).resolve() else None

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


@st.cache_resource(show_spinner=False)
def trainer() -> Trainer:
    return Trainer()
