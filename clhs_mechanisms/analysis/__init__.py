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
``attrs``).
"""

from __future__ import annotations

from .agreement import (
                        STATISTICS,
                        agreement,
                        brennan_prediger,
                        cohen_kappa,
                        disagreements,
                        fleiss_kappa,
                        from_category_counts,
                        from_contingency,
                        gwet_ac1,
                        krippendorff_alpha,
                        machine_agreement,
                        machine_codings,
                        percent_agreement,
                        pooled_kappa,
                        rating_table,
                        scott_pi,
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
from .hypotheses import contrast_side, evaluate_hypotheses, hypotheses_markdown, hypothesis_pairs, mechanism_rule
from .saturation import document_order, saturation, saturation_point, saturation_summary
from .significance import FORMULAS, MEASURES, bh_adjust, fisher_p, pair_measures, permutation_p, too_small
from .units import Frames, Incidence, assign_units, document_attribute, incidence, select_coders

__all__ = [
                        "FORMULAS",
                        "MEASURES",
                        "STATISTICS",
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
