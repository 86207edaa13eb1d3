"""Load, validate and lint a YAML codebook into immutable objects.

The codebook format is described by the JSON Schema shipped with the package
(``codebook.schema.json``). Nothing here knows the CLHS codes: any research team can
write its own codebook in the same format. Errors name the file, the line and the
field, e.g. ``codebook.yaml:118: code 'mot_autonomy': exclude[1] refers to unknown
code 'mot_autonomie'``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import CodebookError

SCHEMA_RESOURCE = "codebook.schema.json"


@dataclass(frozen=True)
class Exclusion:
    """An exclusion criterion and the neighbouring code to use instead."""

    text: str
    code: str


@dataclass(frozen=True)
class Counterexample:
    """A near miss that does *not* get the code, with the code it belongs to."""

    text: str
    code: str | None


@dataclass(frozen=True)
class Evidence:
    """How well the code is grounded in the framework: F, F-rel or I (with confidence)."""

    status: str
    confidence: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Domain:
    """A top-level code grouping the codes of one part of the framework."""

    id: str
    label: str
    description: str = ""
    color: str | None = None


@dataclass(frozen=True)
class Code:
    """One code of the codebook, with everything a coder (human or machine) needs."""

    id: str
    label: str
    domain: str
    definition: str
    parent: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[Exclusion, ...] = ()
    examples: tuple[str, ...] = ()
    counterexamples: tuple[Counterexample, ...] = ()
    cues: tuple[str, ...] = ()
    patterns: tuple[tuple[Mapping[str, Any], ...], ...] = ()
    evidence: Evidence | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hypothesis:
    """A testable mechanism -> outcome claim, stated over code ids."""

    id: str
    statement: str
    mechanism: tuple[str, ...]
    outcome: tuple[str, ...]
    expected: str
    unit: str
    label: str = ""
    contrast: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. ``text`` is the YAML it was loaded from, ``sha256`` its hash."""

    id: str
    title: str
    version: str
    domains: tuple[Domain, ...]
    codes: tuple[Code, ...]
    hypotheses: tuple[Hypothesis, ...] = ()
    framework: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    unit: str = ""
    conventions: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    sha256: str = ""
    path: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.codes})

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._by_id  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    @property
    def code_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.codes)

    def code(self, code_id: str) -> Code:
        """The code with this id; an unknown id is a user error that lists near matches."""
        try:
            return self._by_id[code_id]  # type: ignore[attr-defined]
        except KeyError:
            raise CodebookError(unknown_code_message(code_id, self.code_ids)) from None

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise CodebookError(f"unknown domain '{domain_id}'")

    def codes_in(self, domain_id: str) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.domain == domain_id)

    def children(self, code_id: str) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.parent == code_id)


def unknown_code_message(code_id: str, known: tuple[str, ...] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(code_id, list(known), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown code '{code_id}'{hint}"


# ---------------------------------------------------------------------------
# YAML with line numbers


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping value and list item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping: dict = {}
    lines: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            raise CodebookError(
                "a key must be a plain value, not a list or mapping",
                where=f"{loader.name}:{key_node.start_mark.line + 1}",
            )
        if key in mapping:
            raise CodebookError(
                f"duplicate key '{key}'", where=f"{loader.name}:{key_node.start_mark.line + 1}"
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    loader.lines[id(mapping)] = (node.start_mark.line + 1, lines)
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> list:
    items = [loader.construct_object(child, deep=True) for child in node.value]
    loader.lines[id(items)] = (
        node.start_mark.line + 1,
        {i: child.start_mark.line + 1 for i, child in enumerate(node.value)},
    )
    return items


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


@dataclass
class _Located:
    """Parsed YAML plus the line of each node, addressed by a path of keys/indexes."""

    data: Any
    lines: dict[int, tuple[int, dict]]
    keepalive: list  # keeps ids in ``lines`` valid

    def line(self, path: tuple) -> int:
        node, line = self.data, 1
        for part in path:
            entry = self.lines.get(id(node))
            if entry is None:
                break
            line = entry[1].get(part, entry[0])
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            entry = self.lines.get(id(node))
            if entry is not None and not path:
                line = entry[0]
        return line


MAX_CODEBOOK_CHARS = 5_000_000  # the shipped codebook is about 120,000 characters
MAX_YAML_NODES = 200_000  # values and items once every alias is expanded
MAX_YAML_DEPTH = 100


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` stands for with every alias expanded (a shared node counts each
    time it is used), and its depth, without expanding anything: one pass over the distinct nodes.
    Stops as soon as a limit is passed (an "alias bomb" of a few lines expands to billions)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    started: set[int] = set()  # begun, not finished: met again below itself, the node contains itself
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in size:
            continue
        if not ready and id(node) in started:
            raise CodebookError("a YAML alias refers to a value that contains it (an endless structure)")
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
            if isinstance(node, yaml.SequenceNode)
            else []
        )
        if not ready:
            started.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        size[id(node)] = 1 + sum(size.get(id(child), 0) for child in children)
        depth[id(node)] = 1 + max((depth.get(id(child), 0) for child in children), default=0)
        if size[id(node)] > MAX_YAML_NODES or depth[id(node)] > MAX_YAML_DEPTH:
            raise CodebookError(
                f"the YAML is too large or too deeply nested once its aliases are expanded "
                f"(limits: {MAX_YAML_NODES:,} values, {MAX_YAML_DEPTH} levels)"
            )
    return size[id(root)]


def _parse(text: str, name: str) -> _Located:
    if len(text) > MAX_CODEBOOK_CHARS:
        raise CodebookError(
            f"too large for a codebook ({len(text):,} characters; the limit is {MAX_CODEBOOK_CHARS:,})",
            where=name,
        )
    loader = None
    try:
        loader = _LineLoader(text)
        loader.name = name
        loader.lines = {}
        node = loader.get_single_node()
        if node is not None:
            try:
                _expanded_size(node)
            except CodebookError as exc:
                raise CodebookError(exc.message, where=f"{name}:{node.start_mark.line + 1}") from None
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise CodebookError(
            f"the YAML is nested too deeply (more than {MAX_YAML_DEPTH} levels)", where=name
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "malformed YAML"
        raise CodebookError(f"malformed YAML: {reason}", where=f"{name}:{line}") from None
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow (NUL)
        reason = " ".join(str(exc).split())
        raise CodebookError(f"malformed YAML: {reason}", where=name) from None
    finally:
        if loader is not None:
            loader.dispose()
    keep: list = []

    def walk(node: Any) -> None:
        keep.append(node)
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return _Located(data, loader.lines, keep)


# ---------------------------------------------------------------------------
# Validation


@cache
def schema() -> dict:
    """The JSON Schema of the codebook format."""
    text = resources.files("clhs_mechanisms").joinpath("data", SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def _describe(data: Any, path: tuple) -> str:
    """'code 'mot_autonomy': exclude[1]' for a path like ('codes', 17, 'exclude', 1)."""
    if len(path) >= 2 and path[0] in ("codes", "domains", "hypotheses") and isinstance(path[1], int):
        kind = {"codes": "code", "domains": "domain", "hypotheses": "hypothesis"}[path[0]]
        try:
            ident = data[path[0]][path[1]].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            ident = None
        owner = f"{kind} '{ident}'" if ident else f"{path[0]}[{path[1]}]"
        rest = path[2:]
    else:
        owner, rest = "", path
    field_ = ""
    for part in rest:
        field_ += f"[{part}]" if isinstance(part, int) else (f".{part}" if field_ else str(part))
    return ": ".join(p for p in (owner, field_) if p)


class _Errors:
    def __init__(self, located: _Located, name: str) -> None:
        self.located, self.name, self.items = located, name, []

    def add(self, path: tuple, message: str, *, key: str | None = None) -> None:
        """Record an error about ``path``; ``key`` points the line at one key inside it."""
        line = self.located.line(path + (key,) if key else path)
        what = _describe(self.located.data, path)
        self.items.append((line, f"{self.name}:{line}: {what + ': ' if what else ''}{message}"))

    def raise_if_any(self) -> None:
        if self.items:
            messages = [m for _, m in sorted(self.items, key=lambda x: x[0])]
            error = CodebookError(
                messages[0] + (f" (and {len(messages) - 1} more errors)" if len(messages) > 1 else "")
            )
            error.errors = messages  # type: ignore[attr-defined]
            raise error


def _schema_errors(data: Any, errors: _Errors) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.add(tuple(err.absolute_path), err.message)


def _pattern_errors(codes: list, errors: _Errors) -> None:
    """Each spaCy token pattern checked against spaCy's own pattern schema, so that a pattern the
    Matcher would refuse is refused here, with its line, not later by every suggestion pass."""
    patterns = [
        (i, j, pattern)
        for i, code in enumerate(codes)
        if isinstance(code, dict)
        for j, pattern in enumerate(code.get("patterns") or [])
    ]
    if not patterns:
        return
    from spacy.schemas import validate_token_pattern  # spaCy is heavy: only when there are patterns

    for i, j, pattern in patterns:
        problems = validate_token_pattern(pattern)
        if problems:
            errors.add(("codes", i, "patterns", j), f"not a valid spaCy token pattern: {problems[0]}")


def _reference_errors(data: dict, errors: _Errors) -> None:
    codes = data.get("codes") or []
    domains = data.get("domains") or []
    domain_ids = {d.get("id") for d in domains if isinstance(d, dict)}
    seen: dict[str, int] = {}
    for kind, items in (("domain", domains), ("code", codes)):
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if ident in seen:
                errors.add(
                    (f"{kind}s" if kind == "code" else "domains", i, "id"),
                    f"duplicate id '{ident}' (first defined at line {seen[ident]})",
                )
            elif ident:
                seen[ident] = errors.located.line((f"{kind}s" if kind == "code" else "domains", i, "id"))
    code_ids = [c.get("id") for c in codes if isinstance(c, dict)]

    def check(path: tuple, ref: Any, key: str | None = None) -> None:
        if isinstance(ref, str) and ref not in code_ids:
            errors.add(path, f"refers to {unknown_code_message(ref, code_ids)}", key=key)

    for i, code in enumerate(codes):
        if not isinstance(code, dict):
            continue
        if code.get("domain") is not None and code["domain"] not in domain_ids:
            errors.add(("codes", i, "domain"), f"refers to unknown domain '{code['domain']}'")
        if code.get("parent") is not None:
            check(("codes", i, "parent"), code["parent"])
        for j, ex in enumerate(code.get("exclude") or []):
            if isinstance(ex, dict):
                check(("codes", i, "exclude", j), ex.get("code"), key="code")
        for j, ce in enumerate(code.get("counterexamples") or []):
            if isinstance(ce, dict) and ce.get("code") is not None:
                check(("codes", i, "counterexamples", j), ce.get("code"), key="code")
    _pattern_errors(codes, errors)
    for i, hyp in enumerate(data.get("hypotheses") or []):
        if not isinstance(hyp, dict):
            continue
        for key in ("mechanism", "outcome", "contrast"):
            for j, ref in enumerate(hyp.get(key) or []):
                check(("hypotheses", i, key, j), ref)

    parents = {c["id"]: c.get("parent") for c in codes if isinstance(c, dict) and "id" in c}
    for i, code in enumerate(codes):
        if not isinstance(code, dict) or "id" not in code:
            continue
        chain, node = [code["id"]], parents.get(code["id"])
        while node is not None and node in parents:
            if node in chain:
                errors.add(("codes", i, "parent"), "parent cycle: " + " -> ".join(chain + [node]))
                break
            chain.append(node)
            node = parents.get(node)


def _build(data: dict, text: str, path: str | None) -> Codebook:
    def strs(value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in (value or ()))

    domains = tuple(
        Domain(id=d["id"], label=d["label"], description=d.get("description", "") or "", color=d.get("color"))
        for d in data["domains"]
    )
    codes = []
    for c in data["codes"]:
        ev = c.get("evidence")
        codes.append(
            Code(
                id=c["id"],
                label=c["label"],
                domain=c["domain"],
                parent=c.get("parent"),
                definition=str(c["definition"]).strip(),
                include=strs(c.get("include")),
                exclude=tuple(Exclusion(str(e["text"]), e["code"]) for e in c.get("exclude") or ()),
                examples=strs(c.get("examples")),
                counterexamples=tuple(
                    Counterexample(str(e["text"]), e.get("code")) for e in c.get("counterexamples") or ()
                ),
                cues=strs(c.get("cues")),
                patterns=tuple(tuple(p) for p in c.get("patterns") or ()),
                evidence=Evidence(ev["status"], ev.get("confidence"), ev.get("note", "") or "")
                if ev
                else None,
                sources=strs(c.get("sources")),
            )
        )
    hypotheses = tuple(
        Hypothesis(
            id=h["id"],
            statement=str(h["statement"]).strip(),
            mechanism=strs(h.get("mechanism")),
            outcome=strs(h.get("outcome")),
            expected=h["expected"],
            unit=h["unit"],
            label=h.get("label", "") or "",
            contrast=strs(h.get("contrast")),
            note=h.get("note", "") or "",
        )
        for h in data.get("hypotheses") or ()
    )
    return Codebook(
        id=data["id"],
        title=data["title"],
        version=str(data["version"]),
        domains=domains,
        codes=tuple(codes),
        hypotheses=hypotheses,
        framework=data.get("framework") or {},
        description=data.get("description", "") or "",
        unit=data.get("unit", "") or "",
        conventions=data.get("conventions") or {},
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=path,
    )


def parse_codebook(text: str, name: str = "<codebook>", path: str | None = None) -> Codebook:
    """Parse and validate codebook YAML text; raises CodebookError listing every problem."""
    located = _parse(text, name)
    data = located.data
    if data is None or (isinstance(data, dict) and not data):
        raise CodebookError("empty codebook (no content)", where=name)
    if not isinstance(data, dict):
        raise CodebookError(
            "a codebook must be a YAML mapping with id, title, version, domains, codes", where=f"{name}:1"
        )
    errors = _Errors(located, name)
    _schema_errors(data, errors)
    if not errors.items:
        _reference_errors(data, errors)
    errors.raise_if_any()
    return _build(data, text, path)


def load_codebook(path: str | Path) -> Codebook:
    """Read a codebook YAML file, validating it against the schema and its own references."""
    p = Path(path)
    if not p.exists():
        raise CodebookError("no such codebook file", where=str(p))
    if p.is_dir():
        raise CodebookError("is a directory, not a codebook file", where=str(p))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CodebookError(f"cannot read: {exc.strerror}", where=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodebookError(f"not UTF-8 text (byte {exc.start})", where=str(p)) from None
    if not text.strip():
        raise CodebookError("empty codebook file", where=str(p))
    return parse_codebook(text.replace("\r\n", "\n"), name=p.name, path=str(p))


def shipped_codebook_path() -> Path:
    """The CLHS codebook shipped with the package."""
    return Path(str(resources.files("clhs_mechanisms").joinpath("data", "clhs_mechanisms.yaml"))).resolve()
