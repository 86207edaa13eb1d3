"""Background retraining for the review page: train, then rescore pending work, off the page's thread."""

from __future__ import annotations

import threading
from datetime import datetime

import streamlit as st

from ..assist import suggest, train
from ..errors import ClhsError
from ..store import Project


class Trainer:
    """One retraining job at a time per server; its last message is shown on the review page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.message = ""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, project_dir: str) -> bool:
        with self._lock:
            if self.running:
                return False
            self.message = f"retraining started {datetime.now():%H:%M:%S}"
            self._thread = threading.Thread(target=self._run, args=(project_dir,), daemon=True)
            self._thread.start()
            return True

    def _run(self, project_dir: str) -> None:
        try:
            with Project.open(project_dir) as project:
                model = train(project)
                # Rescore where review is going on, not the whole project.
                under_review = sorted(set(project.suggestions()["document"]))
                report = suggest(project, method="ensemble", documents=under_review or None)
            self.message = (f"retrained {datetime.now():%H:%M:%S}: {model.version} on {model.n_training} texts; "
                            f"{report.suggestions} suggestions refreshed")
        except ClhsError as exc:
            self.message = f"retraining failed: {exc}"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


@st.cache_resource(show_spinner=False)
def trainer() -> Trainer:
    return Trainer()
