"""Analysis: co-occurrence, mechanism hypotheses, inter-coder agreement, saturation.

Pure functions, pandas DataFrames in and out, used by the CLI, the app and notebooks. The
inputs are three plain tables (codings, segments, documents; see ``units``);
``Frames.from_project(project)`` builds them from a project::

    from clhs_mechanisms.analysis import Frames, cooccurrence, rating_table, agreement
    f = Frames.from_project(project)
    table = cooccurrence(f.codings, f.segments, f.documents, unit="segment")
    ratings = rating_table(f.codings, f.segments, coders=["ana", "ben"])
    agreement(ratings)

Every measure and statistic names its formula (``FORMULAS``, ``STATISTICS`` and the tables'
``attrs``). Each vocabulary has one home here: units (``UNITS``, ``COOCCURRENCE_UNITS``,
``PAIR_UNITS``, ``AGREEMENT_UNITS``), co-occurrence ``MEASURES``, agreement ``STATISTICS`` and
``ALL_CODES`` (the code of rows pooled over codes); the CLI and the app read them from here.

Modules: ``units`` (coding units, incidence), ``significance`` (pair measures and tests),
``cooccurrence``, ``hypotheses``, ``saturation``, ``reliability`` (coefficients on a coders x
units rating matrix), ``ratings`` (rating tables of a project's codings), ``agreement`` (the
agreement table with bootstrap intervals, disagreements, the machine as a coder), ``adjudication``
(the default coder pair, adjudicated disagreements), ``clustered`` and ``robustness`` (the hypotheses'
case-level tests and checks) and ``mechanism_map``.
"""

from __future__ import annotations

from .adjudication import adjudications, default_pair, mark_resolved
from .agreement import (
    ALL_CODES,
    RESAMPLING,
    agreement,
    coverage_of,
    disagreements,
    machine_agreement,
    machine_codings,
    rating_table,
)
from .cooccurrence import (
    Network,
    Stratified,
    cooccurrence,
    cooccurrence_by,
    cooccurrence_network,
    cooccurrence_quotes,
    span_cooccurrence,
)
from .hypotheses import (
    contrast_side,
    evaluate_hypotheses,
    hypotheses_markdown,
    hypothesis_pairs,
    mechanism_rule,
)
from .reliability import (
    GROUP_STATISTICS,
    LEVELS,
    PAIR_STATISTICS,
    SHORT_NAMES,
    STATISTICS,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    from_category_counts,
    from_contingency,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    pooled_kappa,
    scott_pi,
)
from .robustness import hypothesis_robustness, robustness_summary, with_robustness
from .saturation import document_order, saturation, saturation_point, saturation_summary
from .significance import (
    ALTERNATIVES,
    FORMULAS,
    MEASURES,
    bh_adjust,
    fisher_p,
    pair_measures,
    permutation_p,
    too_small,
)
from .units import (
    AGREEMENT_UNITS,
    COOCCURRENCE_UNITS,
    PAIR_UNITS,
    SPAN_RELATIONS,
    UNITS,
    Frames,
    Incidence,
    assign_units,
    document_attribute,
    incidence,
    select_coders,
)

__all__ = [
    "adjudications",
    "default_pair",
    "mark_resolved",
    "AGREEMENT_UNITS",
    "ALL_CODES",
    "ALTERNATIVES",
    "COOCCURRENCE_UNITS",
    "FORMULAS",
    "GROUP_STATISTICS",
    "LEVELS",
    "MEASURES",
    "PAIR_STATISTICS",
    "PAIR_UNITS",
    "RESAMPLING",
    "SHORT_NAMES",
    "SPAN_RELATIONS",
    "STATISTICS",
    "UNITS",
    "Frames",
    "Incidence",
    "Network",
    "Stratified",
    "agreement",
    "assign_units",
    "bh_adjust",
    "brennan_prediger",
    "cohen_kappa",
    "contrast_side",
    "cooccurrence",
    "cooccurrence_by",
    "cooccurrence_network",
    "cooccurrence_quotes",
    "coverage_of",
    "disagreements",
    "document_attribute",
    "document_order",
    "evaluate_hypotheses",
    "fisher_p",
    "fleiss_kappa",
    "from_category_counts",
    "from_contingency",
    "gwet_ac1",
    "hypotheses_markdown",
    "hypothesis_pairs",
    "hypothesis_robustness",
    "robustness_summary",
    "with_robustness",
    "incidence",
    "krippendorff_alpha",
    "machine_agreement",
    "machine_codings",
    "mechanism_rule",
    "pair_measures",
    "percent_agreement",
    "permutation_p",
    "pooled_kappa",
    "rating_table",
    "saturation",
    "saturation_point",
    "saturation_summary",
    "scott_pi",
    "select_coders",
    "span_cooccurrence",
    "too_small",
]
