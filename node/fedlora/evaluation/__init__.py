"""Metrics: scores of one test split (accuracy, macro-F1, majority class), summaries across
sites (Avg / Min / H-mean), cross-site generalization, bytes per round."""

from fedlora.evaluation.classification import (
    SplitScores,
    accuracy,
    macro_f1,
    majority_label,
    majority_macro_f1,
    majority_rate,
    score_split,
)
from fedlora.evaluation.comm import RoundTraffic, bytes_per_round, format_bytes
from fedlora.evaluation.render import (
    cross_to_dict,
    render_cross_table,
    render_table,
    summary_to_dict,
    traffic_to_dict,
)
from fedlora.evaluation.stats import SummaryDelta, compare, wilson_interval
from fedlora.evaluation.summary import (
    CrossSummary,
    SiteSummary,
    cross_generalization,
    summarize,
)

__all__ = [
    "CrossSummary",
    "RoundTraffic",
    "SiteSummary",
    "SplitScores",
    "SummaryDelta",
    "accuracy",
    "bytes_per_round",
    "compare",
    "cross_generalization",
    "cross_to_dict",
    "format_bytes",
    "macro_f1",
    "majority_label",
    "majority_macro_f1",
    "majority_rate",
    "render_cross_table",
    "render_table",
    "score_split",
    "summarize",
    "summary_to_dict",
    "traffic_to_dict",
    "wilson_interval",
]
