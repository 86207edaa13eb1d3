"""How the codes of a REFI-QDA file map onto the project's codebook: matched by GUID, by the
code id in their description, or by name; the rest are added in a new codebook version
(domains from top-level folders) that keeps their GUIDs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..codebook import Codebook, parse_codebook
from ..errors import ClhsError, CodebookError
from ..store import Project, Transaction, code_uuid
from .refi_common import domain_guid, parse_code_description, parse_hypothesis_description
from .refi_export import DOMAIN_GUID_KEY
from .refi_model import QCode, QSet
from .report import ExchangeReport

IMPORTED_DOMAIN = ("imported", "Imported codes")
_CODE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _slug(name: str, fallback: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        return fallback
    return slug if slug[0].isalpha() else f"c_{slug}"


def _color(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        return value
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", value):
        return "#" + "".join(ch * 2 for ch in value[1:])
    return None


def _bump(version: str) -> str:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{int(m.group(2)) + 1}.0" if m else "0.1.0"


@dataclass
class CodePlan:
    """How the file's codes map onto the project's codebook, and the version that adds the rest."""

    codes: dict[str, str] = field(default_factory=dict)  # file GUID -> project code id
    domains: dict[str, str] = field(default_factory=dict)  # file GUID -> project domain id
    codebook: Codebook | None = None  # the new version, if anything is added
    code_guids: dict[str, str] = field(default_factory=dict)  # new code id -> file GUID
    domain_guids: dict[str, str] = field(default_factory=dict)  # new domain id -> file GUID
    matched: int = 0
    added: int = 0


class _Planner:
    def __init__(
        self,
        project_codebook: Codebook,
        stored: dict[str, str],
        domain_guids: dict[str, str],
        report: ExchangeReport,
        source: str,
        origin: str,
        quotes: dict[str, list[str]],
        coded: set[str],
    ) -> None:
        self.cb = project_codebook
        self.report, self.source, self.origin = report, source, origin
        self.quotes, self.coded = quotes, coded
        self.plan = CodePlan()
        self.by_guid = {guid: code_id for code_id, guid in stored.items()}
        self.domain_by_guid = {guid: d for d, guid in domain_guids.items()}
        self.by_name: dict[str, str] = {}
        for c in project_codebook.codes:
            self.by_name.setdefault(c.label.strip().lower(), c.id)
            self.by_name.setdefault(c.id, c.id)
        self.domain_by_name: dict[str, str] = {}
        for d in project_codebook.domains:
            self.domain_by_name.setdefault(d.label.strip().lower(), d.id)
            self.domain_by_name.setdefault(d.id, d.id)
        self.taken = set(project_codebook.code_ids) | {d.id for d in project_codebook.domains}
        self.new_domains: list[dict] = []
        self.new_codes: list[dict] = []
        self.source_ids: dict[str, str] = {}  # code id written in a Description -> project code id

    def _unique(self, base: str) -> str:
        ident, n = base, 2
        while ident in self.taken:
            ident, n = f"{base}_{n}", n + 1
        self.taken.add(ident)
        return ident

    def match_code(self, q: QCode) -> str | None:
        if q.guid in self.by_guid and self.by_guid[q.guid] in self.cb:
            return self.by_guid[q.guid]
        parsed = parse_code_description(q.description)
        for key in (parsed["id"], q.name.strip().lower()):
            if key and key in self.by_name:
                self.report.changed(
                    "codes matched by id or name (their GUIDs differ)", f"'{q.name}' -> {self.by_name[key]}"
                )
                return self.by_name[key]
        return None

    def match_domain(self, q: QCode) -> str | None:
        if q.guid in self.domain_by_guid:
            return self.domain_by_guid[q.guid]
        parsed = parse_code_description(q.description)
        for key in (parsed["domain_id"], q.name.strip().lower()):
            if key and key in self.domain_by_name:
                return self.domain_by_name[key]
        return None

    def new_domain(self, q: QCode) -> str:
        parsed = parse_code_description(q.description)
        given = parsed["domain_id"]
        ident = self._unique(given if given and _CODE_ID.match(given) else _slug(q.name, "domain"))
        entry: dict[str, Any] = {"id": ident, "label": q.name.strip() or ident}
        description = q.description.strip()
        if parsed["domain_id"]:
            description = "\n".join(
                line for line in description.split("\n") if not line.startswith("Domain id:")
            )
        if description.strip():
            entry["description"] = description.strip()
        if _color(q.color):
            entry["color"] = _color(q.color)
        self.new_domains.append(entry)
        self.plan.domain_guids[ident] = q.guid
        return ident

    def imported_domain(self) -> str:
        ident = IMPORTED_DOMAIN[0]
        if any(d["id"] == ident for d in self.new_domains):
            return ident
        if ident in self.cb.code_ids or ident in self.taken and ident not in {d.id for d in self.cb.domains}:
            ident = self._unique(ident)
        elif ident in {d.id for d in self.cb.domains}:
            return ident
        self.taken.add(ident)
        self.new_domains.append(
            {
                "id": ident,
                "label": IMPORTED_DOMAIN[1],
                "description": f"Codes imported from {self.source} without a domain.",
            }
        )
        return ident

    def new_code(self, q: QCode, domain: str, parent: str | None, *, suffix: str = "") -> str:
        parsed = parse_code_description(q.description)
        given = parsed["id"] if parsed["id"] and _CODE_ID.match(parsed["id"]) and not suffix else None
        base = given or _slug(q.name, "code")
        ident = self._unique(base + suffix)
        if parsed["id"]:
            self.source_ids[parsed["id"]] = ident
        label = (q.name.strip() or ident) + (" (general)" if suffix else "")
        entry: dict[str, Any] = {"id": ident, "label": label, "domain": domain}
        if parent:
            entry["parent"] = parent
        entry["definition"] = (
            parsed["definition"] or f"Imported from {self.origin or self.source}; no definition given."
        )
        if parsed["include"]:
            entry["include"] = parsed["include"]
        if parsed["exclude"]:
            entry["exclude"] = [{"text": t, "code": c} for t, c in parsed["exclude"] if c]
        examples = parsed["examples"] or [" ".join(t.split())[:300] for t in self.quotes.get(q.guid, [])[:3]]
        if not examples:
            examples = [label]
            self.report.changed("codes without examples (their name stands in; edit the codebook)", ident)
        entry["examples"] = examples
        if parsed["counterexamples"]:
            entry["counterexamples"] = [{"text": t, "code": c} for t, c in parsed["counterexamples"]]
        if parsed["cues"]:
            entry["cues"] = parsed["cues"]
        if parsed["evidence"]:
            status, confidence, note = parsed["evidence"]
            if status != "I" or confidence:
                entry["evidence"] = {
                    "status": status,
                    **({"confidence": confidence} if confidence else {}),
                    **({"note": note} if note else {}),
                }
        if parsed["sources"]:
            entry["sources"] = parsed["sources"]
        self.new_codes.append(entry)
        if not suffix:
            self.plan.code_guids[ident] = q.guid
        self.plan.added += 1
        return ident

    def visit(self, q: QCode, domain: str | None, parent: str | None, depth: int) -> None:
        if depth == 0:
            dom = self.match_domain(q)
            if dom is not None:
                self.plan.domains[q.guid] = dom
                for child in q.children:
                    self.visit(child, dom, None, 1)
                return
        code = self.match_code(q)
        if code is not None:
            self.plan.codes[q.guid] = code
            self.plan.matched += 1
            for child in q.children:
                self.visit(child, self.cb.code(code).domain, code, depth + 1)
            return
        if depth == 0:
            if q.children or not q.codable:
                dom = self.new_domain(q)
                self.plan.domains[q.guid] = dom
                if q.guid in self.coded:
                    self.plan.codes[q.guid] = self.new_code(q, dom, None, suffix="_general")
                    self.report.changed(
                        "coded top-level folders (a domain here, plus a code for their codings)", q.name
                    )
                for child in q.children:
                    self.visit(child, dom, None, 1)
                return
            domain = self.imported_domain()
        if not q.codable:
            self.report.changed("non-codable folders inside a domain (ordinary codes here)", q.name)
        assert domain is not None
        ident = self.new_code(q, domain, parent)
        self.plan.codes[q.guid] = ident
        for child in q.children:
            self.visit(child, domain, ident, depth + 1)

    def hypotheses(self, sets: list[QSet]) -> list[dict]:
        out = []
        have = {h.id for h in self.cb.hypotheses}
        for s in sets:
            h = parse_hypothesis_description(s.name, s.description)
            if h is None:
                self.report.lost("sets (groupings of codes, sources or notes)", s.name)
                continue
            if h["id"] in have:
                continue
            ok = True
            for key in ("mechanism", "outcome", "contrast"):
                ids = []
                for ref in h.get(key, []):
                    target = self.source_ids.get(ref, ref)
                    if target not in self.cb.code_ids and target not in {c["id"] for c in self.new_codes}:
                        ok = False
                    ids.append(target)
                if key in h:
                    h[key] = ids
            if not ok:
                self.report.lost("hypotheses that name codes not in the codebook", h["id"])
                continue
            out.append(h)
            have.add(h["id"])
        return out

    def finish(self, sets: list[QSet]) -> CodePlan:
        hypotheses = self.hypotheses(sets)
        valid = set(self.cb.code_ids) | {c["id"] for c in self.new_codes}
        for entry in self.new_codes:
            for key in ("exclude", "counterexamples"):
                kept = []
                for item in entry.get(key, []):
                    ref = self.source_ids.get(item["code"], item["code"]) if item["code"] else None
                    if ref is not None and ref not in valid:
                        self.report.changed(
                            "criteria naming codes absent here (reference dropped)",
                            f"{entry['id']}: {item['code']}",
                        )
                        if key == "exclude":
                            continue
                        ref = None
                    kept.append({**item, "code": ref})
                if kept:
                    entry[key] = kept
                else:
                    entry.pop(key, None)
        if not (self.new_codes or self.new_domains or hypotheses):
            return self.plan
        data = yaml.safe_load(self.cb.text)
        data["version"] = _bump(self.cb.version)
        data["domains"] = list(data.get("domains") or []) + self.new_domains
        data["codes"] = list(data.get("codes") or []) + self.new_codes
        if hypotheses:
            data["hypotheses"] = list(data.get("hypotheses") or []) + hypotheses
        text = (
            f"# Version {data['version']}: codebook {self.cb.version} plus what {self.source} added.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        )
        try:
            self.plan.codebook = parse_codebook(text, name=f"codebook from {self.source}")
        except CodebookError as exc:
            raise ClhsError(
                f"the codes cannot be added to the project's codebook: {exc}", where=self.source
            ) from None
        self.report.changed(
            "codebook version",
            f"{self.cb.version} -> {data['version']} "
            f"({len(self.new_codes)} codes, {len(self.new_domains)} domains, "
            f"{len(hypotheses)} hypotheses added)",
        )
        return self.plan


def plan_codes(
    project: Project,
    top: list[QCode],
    sets: list[QSet],
    report: ExchangeReport,
    source: str,
    origin: str,
    quotes: dict[str, list[str]] | None = None,
    coded: set[str] | None = None,
) -> CodePlan:
    """How the file's codes (``top``, with their hypotheses in ``sets``) map onto the project's."""
    cb = project.codebook
    known = project.stored_codes()
    doms = {
        d.id: known.meta.get(DOMAIN_GUID_KEY.format(d.id)) or domain_guid(cb.id, d.id) for d in cb.domains
    }
    stored = dict(known.guids)
    stored.update({c.id: stored.get(c.id, code_uuid(cb.id, c.id)) for c in cb.codes})
    planner = _Planner(cb, stored, doms, report, source, origin, quotes or {}, coded or set())
    for q in top:
        planner.visit(q, None, None, 0)
    return planner.finish(sets)


def apply_codes(project: Project, conn: Transaction, plan: CodePlan, coder: str) -> None:
    """Load the plan's new codebook version with the file's GUIDs, inside the import's transaction."""
    if plan.codebook is None:
        return
    project.load_codebook(plan.codebook, coder=coder, conn=conn)
    for code_id, guid in plan.code_guids.items():
        project.exchange_code_guid(conn, code_id, guid)
    for domain_id, guid in plan.domain_guids.items():
        project.exchange_meta(conn, DOMAIN_GUID_KEY.format(domain_id), guid)
