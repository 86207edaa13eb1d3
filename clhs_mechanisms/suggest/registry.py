"""The one list of suggesters, by name: what builds each, whether it is trained, whether it stacks.

The ensemble (its members and their scales), ``evaluate``, ``assist`` and the command line's
``--method`` choices all read it. A suggester's class is named as ``"module:Class"`` and imported
when first built, so reading the names (the command line's start) loads no scientific library.
Adding a suggester is one module (meeting :class:`~.protocol.Suggester`) and one line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..codebook import Codebook


@dataclass(frozen=True)
class Method:
    """A registered suggester.

    ``factory``: the class (or ``"module:Class"``, relative to this package) built as
    ``factory(codebook, **settings)``. ``trained``: fitted on a project's data and saved by
    ``clhs train``; otherwise fitted on the codebook's own examples when it suggests. ``scale``: an
    ensemble member, its raw outputs times ``scale`` (to bring the members to similar ranges) being
    the inputs of the ensemble's stackers; None: not a member. ``suggests``: False for a comparison
    point that is only evaluated, never used to suggest.
    """

    name: str
    factory: str | Callable
    trained: bool = False
    scale: float | None = None
    suggests: bool = True

    def build(self, codebook: Codebook, **settings):
        """A fresh, unfitted suggester."""
        factory = self.factory
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            factory = getattr(importlib.import_module(module, __package__), attr)
        return factory(codebook, **settings)


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry (a name is registered once)."""
    if method.name in _METHODS:
        raise ValueError(f"a suggester '{method.name}' is already registered")
    _METHODS[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a registered suggester."""
    del _METHODS[name]


register(Method("keywords", ".cues:KeywordBaseline", suggests=False))
register(Method("cues", ".cues:CueMatcher", scale=4.0))
register(Method("similarity", ".similarity:CodebookSimilarity", scale=10.0))
register(Method("classifier", ".classifier:CodeClassifier", trained=True, scale=1.0))
register(Method("ensemble", ".ensemble:Ensemble", trained=True))


def _names(keep: Callable[[Method], bool] = lambda m: True) -> tuple[str, ...]:
    return tuple(name for name, m in _METHODS.items() if keep(m))


def methods() -> tuple[str, ...]:
    """Every registered suggester (what ``evaluate`` compares), in registration order."""
    return _names()


def suggesting_methods() -> tuple[str, ...]:
    """The suggesters that suggest in a project (every one but comparison points)."""
    return _names(lambda m: m.suggests)


def trained_methods() -> tuple[str, ...]:
    """The suggesters trained on a project's data (``clhs train``)."""
    return _names(lambda m: m.trained)


def member_methods() -> tuple[str, ...]:
    """The suggesters that can be ensemble members (the ensemble's default members)."""
    return _names(lambda m: m.scale is not None)


def method(name: str) -> Method:
    """The registered suggester ``name``; a ValueError naming the choices otherwise."""
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method '{name}'; choose from {', '.join(_METHODS)}") from None


def make_suggester(name: str, codebook: Codebook, **settings):
    """A fresh suggester by registered name (see :func:`methods`)."""
    return method(name).build(codebook, **settings)
