"""Save and load fitted suggesters in a plain, inspectable format.

A model directory holds ``state.skops`` (the fitted state: numpy arrays -- vocabularies as arrays of
terms --, plain dicts and lists, written with ``skops.io``; never a pickle) and ``model.json`` (the method,
the codebook id/version/sha256, the training-data hash, metrics, library versions, the creation
time and the sha256 of every model file). Loading checks the format, the codebook and the file
hashes and admits only an explicit list of trusted types.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from ..codebook import Codebook
from ..errors import ClhsError
from .registry import make_suggester

STATE_FILE = "state.skops"
META_FILE = "model.json"
FORMAT = 3  # 3: turn-aware context stage with no fill values; 2: vocabularies as arrays of terms
TRUSTED_TYPES = [
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.int32",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict:
    import numpy
    import sklearn
    import spacy

    from .. import __version__

    return {
        "sklearn": sklearn.__version__,
        "spacy": spacy.__version__,
        "numpy": numpy.__version__,
        "clhs_mechanisms": __version__,
    }


def save_model(
    model, directory: str | Path, *, codebook: Codebook, training_hash: str, metrics: dict | None = None
) -> Path:
    """Write ``model`` (a fitted suggester) to ``directory``; returns the path of ``model.json``."""
    import skops.io as sio

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state_path = d / STATE_FILE
    sio.dump(model.get_state(), state_path)
    meta = {
        "format": FORMAT,
        "method": model.method,
        "codes": list(model.codes),
        "codebook": {"id": codebook.id, "version": codebook.version, "sha256": codebook.sha256},
        "training_hash": training_hash,
        "metrics": metrics or {},
        "versions": _versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {STATE_FILE: _sha256(state_path)},
    }
    meta_path = d / META_FILE
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    return meta_path


def read_metadata(directory: str | Path) -> dict:
    """The ``model.json`` of a model directory."""
    path = Path(directory) / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClhsError(
            "no model here (model.json missing): train one with `clhs train`", where=str(path)
        ) from None
    except (OSError, ValueError) as exc:
        raise ClhsError(f"unreadable model metadata: {exc}", where=str(path)) from None


def load_model(directory: str | Path, codebook: Codebook):
    """Load a model saved by :func:`save_model` for use with ``codebook``.

    Refuses (``ClhsError``, one line) a model trained for another codebook version or content,
    a file whose sha256 differs from the recorded one, and a state holding untrusted types.
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    d = Path(directory)
    meta = read_metadata(d)
    if meta.get("format") != FORMAT:
        raise ClhsError(
            f"model was saved in format {meta.get('format')}; this version reads format {FORMAT}: "
            "retrain with `clhs train`",
            where=str(d),
        )
    cb = meta.get("codebook", {})
    if cb.get("id") != codebook.id or cb.get("sha256") != codebook.sha256:
        raise ClhsError(
            f"model was trained for codebook {cb.get('version')} (sha {str(cb.get('sha256'))[:12]}); "
            f"the project uses {codebook.version} (sha {codebook.sha256[:12]}): retrain with `clhs train`",
            where=str(d),
        )
    for name, digest in (meta.get("files") or {}).items():
        path = d / name
        if not path.exists() or _sha256(path) != digest:
            raise ClhsError(
                f"model file {name} was changed or is missing (sha256 mismatch): retrain with `clhs train`",
                where=str(d),
            )
    state_path = d / STATE_FILE
    try:  # one pass: skops refuses untrusted types while loading (a separate check costs as much again)
        state = sio.load(state_path, trusted=TRUSTED_TYPES)
    except UntrustedTypesFoundException as exc:
        raise ClhsError(
            f"model state holds untrusted types: refusing to load ({exc})".splitlines()[0],
            where=str(state_path),
        ) from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file is the user's problem, said in one line
        raise ClhsError(f"unreadable model state: {exc}".splitlines()[0], where=str(state_path)) from None
    model = make_suggester(meta["method"], codebook)
    try:
        model.set_state(state)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # a state another program wrote (or another suggester's) whose hashes were made to match
        raise ClhsError(
            f"model state does not belong to the '{meta['method']}' suggester ({type(exc).__name__}: {exc}); "
            "refusing to load",
            where=str(state_path),
            hint="clhs train",
        ) from None
    return model
