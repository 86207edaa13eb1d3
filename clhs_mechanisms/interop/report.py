"""Exchange reports: what an import or export carried over, changed and left out.

The REFI-QDA standard (section 7) asks tools to tell users, at import and at export,
which elements were discarded. Every exchange here returns an :class:`ExchangeReport`;
the CLI prints it and an import also saves it in the project's ``exchange/`` folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .files import write_text_atomic

SHOWN_DETAILS = 5


@dataclass
class ExchangeReport:
    """Counts of what was exchanged, what was changed on the way, and what was lost."""

    action: str  # e.g. "import qdpx", "export qdc"
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    changes: dict[str, list[str]] = field(default_factory=dict)
    losses: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    saved_to: str | None = None
    sizes: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"changed": {}, "lost": {}}
    )  # things per category

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def changed(self, category: str, detail: str = "", n: int = 1) -> None:
        """``n`` things were carried over in a different form (re-mapped, renamed, merged)."""
        self.changes.setdefault(category, []).append(detail)
        self.sizes["changed"][category] = self.size("changed", category) + n

    def lost(self, category: str, detail: str = "", n: int = 1) -> None:
        """``n`` things were not carried over at all (``detail`` names them, one call per named thing)."""
        self.losses.setdefault(category, []).append(detail)
        self.sizes["lost"][category] = self.size("lost", category) + n

    def size(self, kind: str, category: str) -> int:
        """How many things a category of ``changed`` or ``lost`` holds."""
        return self.sizes[kind].get(category, 0)

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def lossless(self) -> bool:
        return not self.losses

    def summary(self) -> str:
        """One line: the counts, and how many kinds of loss."""
        parts = [f"{n} {what}" for what, n in self.counts.items() if n]
        lost = sum(self.size("lost", c) for c in self.losses)
        tail = "nothing lost" if self.lossless else f"{lost} items not carried over"
        return f"{self.action} {self.source}: " + (", ".join(parts) or "nothing") + f"; {tail}"

    def text(self) -> str:
        """The full report as plain text, for the terminal and the saved file."""
        lines = [self.summary()]
        for title, kind, groups in (
            ("changed on the way", "changed", self.changes),
            ("not carried over", "lost", self.losses),
        ):
            if not groups:
                continue
            lines.append(f"{title}:")
            for category, details in groups.items():
                lines.append(f"  - {category}: {self.size(kind, category)}")
                shown = [d for d in details if d][:SHOWN_DETAILS]
                lines.extend(f"      {d}" for d in shown)
                hidden = len([d for d in details if d]) - len(shown)
                if hidden > 0:
                    lines.append(f"      ... and {hidden} more")
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "source": self.source,
            "counts": self.counts,
            "changes": self.changes,
            "losses": self.losses,
            "sizes": self.sizes,
            "notes": self.notes,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the report as ``<UTC time>-<action>-<file>.txt`` (and ``.json``) in ``directory``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.action}-{Path(self.source).name}")[:120]
        path = folder / f"{stamp}-{stem}.txt"
        write_text_atomic(path, self.text())
        write_text_atomic(path.with_suffix(".json"), json.dumps(self.as_dict(), indent=2, ensure_ascii=False))
        self.saved_to = str(path)
        return path
