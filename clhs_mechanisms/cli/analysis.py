"""Analysis commands: cooccur, hypotheses, agreement, saturation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from .common import main, open_project, project_option, user_errors

FORMATS = click.Choice(["table", "csv", "json"])


class GreedyOption(click.Option):
    """An option that takes every following value up to the next option: ``--coders A B C``."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value: Any, state: Any, _original: Any = original) -> None:
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                for v in values:
                    _original(v, state)
            opt.process = process


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and abs(value) < 10 ** -digits:
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def _print_table(df: Any, columns: list[str], headers: list[str] | None = None) -> None:
    headers = headers or columns
    cells = [[_number(v) for v in row] for row in df[columns].itertuples(index=False, name=None)]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _records(df: Any) -> list[dict]:
    return json.loads(df.to_json(orient="records", default_handler=str))


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _texts(project: Any) -> dict[str, str]:
    import sqlalchemy as sa

    from ..store import documents
    df = project.read_sql(sa.select(documents.c.name, documents.c.text))
    return dict(zip(df["name"], df["text"]))


# -- cooccur ------------------------------------------------------------------------------------


@main.command()
@click.option("--unit", type=click.Choice(["segment", "turn", "document", "case", "window", "span"]),
              default="segment", show_default=True,
              help="Co-occurrence in the same unit; window: within --window segments; span: codings whose spans "
                   "are related (--relation).")
@click.option("--relation", type=click.Choice(["overlap", "inclusion", "exact"]), default="overlap",
              show_default=True, help="Span relation for --unit span.")
@click.option("--window", type=click.IntRange(0), default=1, show_default=True,
              help="Segments apart for --unit window.")
@click.option("--measure", "measures", multiple=True,
              type=click.Choice(["count", "jaccard", "overlap", "p_b_given_a", "p_a_given_b", "lift", "pmi", "npmi",
                                 "odds_ratio"]),
              help="Measures to show (repeatable; the first sorts the table). Default: jaccard, overlap, lift, npmi.")
@click.option("--by", "by", metavar="ATTRIBUTE", default=None,
              help="Compare strata of a document attribute (e.g. role), with bootstrap intervals of the difference.")
@click.option("--code", "codes", multiple=True, metavar="CODE", help="Only these codes (repeatable).")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Only these coders' codings (repeatable).")
@click.option("--permutations", type=click.IntRange(0), default=0, show_default=True,
              help="Permutation test with this many shuffles (each code's units within each document).")
@click.option("--alternative", type=click.Choice(["two-sided", "greater", "less"]), default="two-sided",
              show_default=True)
@click.option("--bootstrap", "n_boot", type=click.IntRange(0), default=1000, show_default=True,
              help="Bootstrap resamples for --by.")
@click.option("--min-count", type=click.IntRange(1), default=5, show_default=True,
              help="Flag pairs where a code is in fewer units as too small.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quotes", nargs=2, metavar="CODE_A CODE_B", default=None,
              help="Instead of the table: the places where these two codes co-occur, with their quotes.")
@click.option("--limit", type=click.IntRange(0), default=40, show_default=True,
              help="Rows shown in table format (0: all).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output.")
@project_option
@user_errors
def cooccur(unit: str, relation: str, window: int, measures: tuple[str, ...], by: str | None, codes: tuple[str, ...],
            coders: tuple[str, ...], permutations: int, alternative: str, n_boot: int, min_count: int, seed: int,
            quotes: tuple[str, str] | None, limit: int, fmt: str, output: str | None,
            project_dir: str | None) -> None:
    """Which codes occur together: counts, normalised measures and tests, per pair of codes."""
    from ..analysis.cooccurrence import cooccurrence, cooccurrence_by, cooccurrence_quotes
    from ..analysis.significance import FORMULAS
    from ..analysis.units import Frames
    measures = measures or ("jaccard", "overlap", "lift", "npmi")
    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
    kw = {"coders": list(coders) or None}
    if quotes:
        q = cooccurrence_quotes(frames.codings, frames.segments, quotes[0], quotes[1], documents=frames.documents,
                                unit=unit, relation=relation, window=window, **kw)
        if fmt == "csv":
            _emit(q.to_csv(index=False), output)
        elif fmt == "json":
            _emit(json.dumps(_records(q), indent=2, ensure_ascii=False) + "\n", output)
        else:
            lines = [f"{len(q)} places where {quotes[0]} and {quotes[1]} co-occur ({unit})"]
            for r in q.to_dict("records"):
                where = r.get("unit") or f"{r['document']} {r['overlap_start']}-{r['overlap_end']}"
                lines.append(f"\n{where}")
                if r.get("text"):
                    lines.append(f"  {r['text']}")
                for suffix, code in (("a", quotes[0]), ("b", quotes[1])):
                    qs = r.get(f"quotes_{suffix}", [r.get(f"quote_{suffix}")])
                    for one in qs:
                        lines.append(f"  [{code}] {one}")
            _emit("\n".join(lines) + "\n", output)
        return
    if by:
        res = cooccurrence_by(frames.codings, frames.segments, frames.documents, by, unit=unit, window=window,
                              measure_name=measures[0], codes=list(codes) or None, n_boot=n_boot, seed=seed,
                              min_count=min_count, **kw)
        diff = res.differences
        if fmt == "csv":
            _emit(diff.to_csv(index=False), output)
            return
        if fmt == "json":
            _emit(json.dumps({**res.strata.attrs, "strata": _records(res.strata), "differences": _records(diff)},
                             indent=2, default=_json_default) + "\n", output)
            return
        order = diff.assign(_size=diff["difference"].abs()).sort_values(["too_small", "_size"],
                                                                          ascending=[True, False]).index
        shown = diff.loc[order]
        shown = shown.head(limit) if limit else shown
        click.echo(f"{measures[0]} by {by} ({unit} units); difference = stratum S - stratum T, "
                   f"{int(res.strata.attrs['ci'] * 100)}% bootstrap interval ({n_boot} resamples of documents "
                   "within each stratum)")
        cols = ["stratum_s", "stratum_t", "code_a", "code_b", "value_s", "value_t", "difference"]
        if "ci_low" in diff.columns:
            cols += ["ci_low", "ci_high"]
        cols += ["too_small"]
        _print_table(shown, cols)
        click.echo(f"\n{measures[0]} = {FORMULAS[measures[0]]}")
        if res.strata.attrs.get("documents_without"):
            click.echo(f"left out (no {by}): {', '.join(res.strata.attrs['documents_without'])}")
        return
    table = cooccurrence(frames.codings, frames.segments, frames.documents, unit=unit, relation=relation,
                         window=window, codes=list(codes) or None, alternative=alternative,
                         permutations=permutations, seed=seed, min_count=min_count, **kw)
    if fmt == "csv":
        _emit(table.to_csv(index=False), output)
        return
    if fmt == "json":
        meta = {k: v for k, v in table.attrs.items()}
        _emit(json.dumps({**meta, "pairs": _records(table)}, indent=2, default=_json_default) + "\n", output)
        return
    table = table.sort_values(measures[0], ascending=False, na_position="last")
    shown = table.head(limit) if limit else table
    cols = ["code_a", "code_b", "n1", "n2", "n12", *measures]
    cols += [c for c in ("fisher_q", "perm_q", "too_small") if c in table.columns and table[c].notna().any()]
    attrs = table.attrs
    n_text = f"N = {attrs['N']} units" if attrs.get("N") else "no unit count (span relation)"
    click.echo(f"co-occurrence by {attrs['unit']}: {len(table)} pairs of {len(attrs['frequencies'])} codes; {n_text}"
               + (f"; showing the top {len(shown)} by {measures[0]}" if len(shown) < len(table) else ""))
    _print_table(shown, cols)
    click.echo("")
    for c in cols[2:] + ([] if attrs.get("N") else ["N"]):
        click.echo(f"{c}: {attrs['formulas'].get(c, '')}")
    if attrs.get("codings_outside"):
        click.echo(f"{attrs['codings_outside']} codings touch no unit in scope and are not counted")


# -- hypotheses ---------------------------------------------------------------------------------


@main.command()
@click.option("--output-dir", metavar="DIR", default=None,
              help="Write hypotheses.csv, hypotheses.md and hypothesis_pairs.csv to DIR.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--min-count", type=click.IntRange(1), default=5, show_default=True,
              help="Units needed on each side of a test.")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Only these coders' codings (repeatable).")
@click.option("--hypothesis", "only", multiple=True, metavar="ID", help="Only these hypotheses (repeatable).")
@project_option
@user_errors
def hypotheses(output_dir: str | None, alpha: float, min_count: int, coders: tuple[str, ...],
               only: tuple[str, ...], project_dir: str | None) -> None:
    """Test the codebook's mechanism hypotheses on the project's codings: numbers and a verdict each."""
    from ..analysis.hypotheses import evaluate_hypotheses, hypotheses_markdown, hypothesis_pairs
    from ..analysis.units import Frames
    from ..errors import ClhsError
    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
        codebook = project.codebook
    hyps = list(codebook.hypotheses)
    if only:
        known = {h.id for h in hyps}
        for h in only:
            if h not in known:
                raise ClhsError(f"no hypothesis '{h}' in the codebook (hypotheses: {', '.join(sorted(known))})")
        hyps = [h for h in hyps if h.id in only]
    kw = {"alpha": alpha, "min_count": min_count, "coders": list(coders) or None}
    table = evaluate_hypotheses(frames.codings, frames.segments, frames.documents, hyps, codebook=codebook, **kw)
    pairs = hypothesis_pairs(frames.codings, frames.segments, frames.documents, hyps, **kw)
    _print_table(table, ["hypothesis", "unit", "N", "n_mechanism", "n_outcome", "n_both",
                         "p_outcome_given_mechanism", "p_outcome_given_no_mechanism", "lift", "p_value", "q_value",
                         "contrast_q", "verdict"],
                 ["id", "unit", "N", "mech", "outc", "both", "P(O|M)", "P(O|~M)", "lift", "p", "q", "contrast q",
                  "verdict"])
    click.echo("")
    for r in table.to_dict("records"):
        click.echo(f"{r['hypothesis']} {r['label']}: {r['verdict']}: {r['reason']}")
        if r["caveat"]:
            click.echo(f"    caveat: {r['caveat']}")
    click.echo(f"\np, q: {table.attrs['test']}; q: {table.attrs['adjust']}; alpha {alpha}")
    if output_dir:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "hypotheses.csv", index=False)
        pairs.to_csv(out / "hypothesis_pairs.csv", index=False)
        (out / "hypotheses.md").write_text(hypotheses_markdown(table), encoding="utf-8")
        click.echo(f"wrote {out / 'hypotheses.csv'}, {out / 'hypotheses.md'}, {out / 'hypothesis_pairs.csv'}",
                   err=True)


# -- agreement ----------------------------------------------------------------------------------


@main.command()
@click.option("--coders", "coders", cls=GreedyOption, multiple=True, metavar="A B [C ...]",
              help="The coders to compare (two or more; with --machine one is enough).")
@click.option("--unit", type=click.Choice(["segment", "turn", "document", "character"]), default="segment",
              show_default=True, help="What a rating is about (character: every character, as NVivo does).")
@click.option("--code", "codes", multiple=True, metavar="CODE", help="Only these codes (repeatable).")
@click.option("--statistic", "statistics", multiple=True,
              type=click.Choice(["percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa", "krippendorff_alpha",
                                 "brennan_prediger", "gwet_ac1", "pooled_kappa"]),
              help="Statistics to report (repeatable; default: all).")
@click.option("--bootstrap", "n_boot", type=click.IntRange(0), default=1000, show_default=True,
              help="Bootstrap resamples for the confidence intervals (0: none).")
@click.option("--resample", type=click.Choice(["unit", "document"]), default=None,
              help="What the bootstrap draws (default: units; documents for character units).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--machine", is_flag=True,
              help="Add the assisted-coding suggestions (at their thresholds) as a coder, beside the humans.")
@click.option("--threshold", type=float, default=None,
              help="With --machine: one threshold for every suggestion instead of their own.")
@click.option("--disagreements", "disagreements_file", metavar="FILE", default=None,
              help="Also write the units on which the coders disagree (CSV) for adjudication.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output.")
@project_option
@user_errors
def agreement(coders: tuple[str, ...], unit: str, codes: tuple[str, ...], statistics: tuple[str, ...], n_boot: int,
              resample: str | None, seed: int, machine: bool, threshold: float | None, disagreements_file: str | None,
              fmt: str, output: str | None, project_dir: str | None) -> None:
    """Inter-coder agreement per code and pooled, each statistic with its formula and a bootstrap interval."""
    from ..analysis.agreement import agreement as agreement_table
    from ..analysis.agreement import disagreements, machine_agreement, rating_table
    from ..analysis.units import require_codings
    from ..errors import ClhsError
    coders = tuple(dict.fromkeys(coders))
    if not machine and len(coders) < 2:
        raise ClhsError(f"agreement needs at least two coders (--coders A B); got {len(coders)}"
                        + (f" ({coders[0]})" if coders else ""))
    with open_project(project_dir) as project:
        codings = project.codings()
        require_codings(codings)
        segments = project.segments()
        texts = _texts(project) if unit == "character" or disagreements_file else None
        suggestions = project.suggestions(status=None) if machine else None
    stats = list(statistics) or None
    if machine:
        table = machine_agreement(codings, suggestions, segments, humans=list(coders) or None, unit=unit,
                                  codes=list(codes) or None, statistics=stats, n_boot=n_boot, seed=seed,
                                  threshold=threshold)
    else:
        ratings = rating_table(codings, segments, coders=list(coders), unit=unit, codes=list(codes) or None,
                               texts=texts)
        table = agreement_table(ratings, statistics=stats, n_boot=n_boot, resample=resample, seed=seed)
        if disagreements_file:
            d = disagreements(ratings, texts=texts)
            d.to_csv(disagreements_file, index=False)
            click.echo(f"wrote {len(d)} disagreements to {disagreements_file}", err=True)
    if fmt == "csv":
        _emit(table.to_csv(index=False), output)
        return
    if fmt == "json":
        _emit(json.dumps({**table.attrs, "rows": _records(table)}, indent=2, default=_json_default) + "\n", output)
        return
    table = table.assign(estimate=[
        f"{_number(v)} [{_number(lo)}, {_number(hi)}]" if n_boot else _number(v)
        for v, lo, hi in zip(table["value"], table["ci_low"], table["ci_high"])])
    index = (["kind"] if "kind" in table.columns else []) + ["code", "coders", "units", "coded"]
    wide = table.pivot_table(index=index, columns="statistic", values="estimate", aggfunc="first", sort=False)
    wide = wide.reset_index()
    order = [s for s in ("percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa", "krippendorff_alpha",
                         "brennan_prediger", "gwet_ac1", "pooled_kappa") if s in wide.columns]
    short = {"percent_agreement": "percent", "cohen_kappa": "cohen", "scott_pi": "scott", "fleiss_kappa": "fleiss",
             "krippendorff_alpha": "alpha", "brennan_prediger": "brennan_pred", "gwet_ac1": "gwet_ac1",
             "pooled_kappa": "pooled_kappa"}
    wide = wide.fillna("")
    unit_word = "characters" if unit == "character" else f"{unit}s"
    click.echo(f"agreement on {unit_word}, present/absent per code; value [{int(100 * table.attrs.get('ci', 0.95))}% "
               f"bootstrap interval]" if n_boot else f"agreement on {unit_word}, present/absent per code")
    _print_table(wide, index + order, [c if c != "units" else unit_word for c in index] + [short[s] for s in order])
    click.echo("")
    from ..analysis.agreement import STATISTICS
    for s in order:
        name, formula = STATISTICS[s]
        click.echo(f"{short[s]}: {name}: {formula}")
    if table.attrs.get("bootstrap"):
        click.echo(f"intervals: {table.attrs['bootstrap']}")
    if table.attrs.get("unused_codes"):
        click.echo(f"not used by these coders (left out): {', '.join(table.attrs['unused_codes'])}")


# -- saturation ---------------------------------------------------------------------------------


@main.command()
@click.option("--consecutive", type=click.IntRange(1), default=3, show_default=True,
              help="Saturation: this many documents in a row adding nothing new.")
@click.option("--order-by", metavar="ATTRIBUTE", default=None,
              help="Interview order: a document attribute (e.g. interview_date), 'imported' or 'name' "
                   "(default: interview_date/date if every document has one, else import order).")
@click.option("--kind", type=click.Choice(["interview", "literature"]), default=None,
              help="Only documents of this kind.")
@click.option("--pair-unit", type=click.Choice(["segment", "turn", "document", "window"]), default="segment",
              show_default=True, help="Where two codes count as a pair.")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Only these coders' codings (repeatable).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--output", "-o", metavar="FILE", default=None, help="Write to FILE instead of standard output.")
@project_option
@user_errors
def saturation(consecutive: int, order_by: str | None, kind: str | None, pair_unit: str, coders: tuple[str, ...],
               fmt: str, output: str | None, project_dir: str | None) -> None:
    """Thematic saturation: new codes and code pairs per document, in interview order."""
    from ..analysis.saturation import saturation as saturation_curve
    from ..analysis.saturation import saturation_summary
    from ..analysis.units import Frames
    with open_project(project_dir) as project:
        frames = Frames.from_project(project)
    curve = saturation_curve(frames.codings, frames.segments, frames.documents, order_by=order_by,
                             consecutive=consecutive, pair_unit=pair_unit, coders=list(coders) or None, kind=kind)
    if fmt == "csv":
        _emit(curve.assign(new_codes=curve["new_codes"].map("; ".join),
                           new_pairs=curve["new_pairs"].map("; ".join)).to_csv(index=False), output)
        return
    if fmt == "json":
        _emit(json.dumps({**curve.attrs, "curve": _records(curve)}, indent=2, default=_json_default) + "\n", output)
        return
    shown = curve.assign(new_codes=curve["new_codes"].map(lambda c: ", ".join(c) if len(c) <= 4 else
                                                          ", ".join(c[:4]) + f", +{len(c) - 4}"))
    click.echo(f"documents in order of {curve.attrs['order_by']}; pairs: two codes in one {curve.attrs['pair_unit']}")
    _print_table(shown, ["position", "document", "n_new_codes", "total_codes", "n_new_pairs", "total_pairs",
                         "new_codes"], ["#", "document", "new codes", "codes", "new pairs", "pairs", "which codes"])
    click.echo("")
    click.echo(saturation_summary(curve))
