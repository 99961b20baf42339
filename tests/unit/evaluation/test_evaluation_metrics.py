"""Site summaries, cross-site generalization, traffic accounting and rendering."""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from fedlora.errors import FedloraError
from fedlora.evaluation import (
    bytes_per_round,
    cross_generalization,
    cross_to_dict,
    format_bytes,
    render_cross_table,
    render_table,
    summarize,
    summary_to_dict,
    traffic_to_dict,
)


def test_summarize_hand_computed() -> None:
    summary = summarize({"b": 1.0, "a": 0.5})
    assert summary.avg == 0.75
    assert (summary.min, summary.worst_site) == (0.5, "a")
    assert summary.hmean == pytest.approx(2 / (1 / 0.5 + 1 / 1.0))
    assert summary.std == pytest.approx(0.25)
    assert list(summary.per_site) == ["a", "b"]


def test_three_sites_hand_computed() -> None:
    summary = summarize({"x": 0.2, "y": 0.4, "z": 0.6})
    assert summary.avg == pytest.approx(0.4)
    assert summary.hmean == pytest.approx(3 / (5 + 2.5 + 1 / 0.6))
    assert summary.std == pytest.approx(math.sqrt((0.04 + 0 + 0.04) / 3))


def test_a_site_at_zero_makes_the_harmonic_mean_zero() -> None:
    summary = summarize({"a": 0.0, "b": 0.9})
    assert summary.hmean == 0.0 and summary.worst_site == "a"


def test_ties_for_worst_site_go_to_the_first_name() -> None:
    assert summarize({"zeta": 0.3, "alpha": 0.3, "mid": 0.8}).worst_site == "alpha"


@pytest.mark.parametrize("scores", [{}, {"a": -0.1}, {"a": math.nan}, {"a": math.inf}])
def test_summarize_refuses_bad_input(scores: dict[str, float]) -> None:
    with pytest.raises(FedloraError):
        summarize(scores)


MATRIX = {
    "a": {"a": 0.9, "b": 0.1, "c": 0.3},
    "b": {"a": 0.2, "b": 0.8, "c": 0.4},
    "c": {"a": 0.0, "b": 0.6, "c": 0.7},
}


def test_cross_generalization_averages_the_other_sites_only() -> None:
    cross = cross_generalization(MATRIX)
    assert cross.per_model == pytest.approx({"a": 0.2, "b": 0.3, "c": 0.3})
    assert cross.own_site == {"a": 0.9, "b": 0.8, "c": 0.7}
    assert cross.mean == pytest.approx((0.2 + 0.3 + 0.3) / 3)


def test_cross_generalization_needs_every_other_site() -> None:
    with pytest.raises(FedloraError, match="not evaluated on c"):
        cross_generalization({"a": {"b": 0.5}, "b": {"a": 0.5, "c": 0.1}})
    with pytest.raises(FedloraError, match="at least two sites"):
        cross_generalization({"a": {"a": 0.5}})


def test_bytes_per_round_star_and_peer_aggregator() -> None:
    star = bytes_per_round(3, 100)
    assert (star.uploads, star.downloads, star.total) == (300, 300, 600)
    peer = bytes_per_round(3, 100, peer_aggregator=True, state_bytes=50)
    assert (peer.uploads, peer.downloads) == (200, 300)
    verified = bytes_per_round(3, 100, peer_aggregator=True, recompute_verify=True)
    # 2 uploads, 2 aggregates down, and each of 2 verifiers fetches 2 updates it lacks.
    assert (verified.uploads, verified.downloads) == (200, 200 + 400)
    ffa = bytes_per_round(4, 100, update_bytes=50)
    assert (ffa.uploads, ffa.downloads) == (200, 400)


def test_bytes_per_round_refuses_nonsense() -> None:
    with pytest.raises(FedloraError):
        bytes_per_round(0, 100)
    with pytest.raises(FedloraError):
        bytes_per_round(2, -1)


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(3 * 1024 * 1024 + 512 * 1024) == "3.5 MiB"
    assert format_bytes(2 * 1024**4) == "2048.0 GiB"


def _text(renderable: object) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


def test_render_table_shows_each_method_with_percentages() -> None:
    table = render_table(
        {"fedavg": summarize({"a": 0.25, "b": 0.5}), "fedlora": summarize({"a": 0.5, "b": 0.5})}
    )
    assert table.row_count == 2
    text = _text(table)
    assert "fedavg" in text and "25.0" in text and "37.5" in text


def test_render_cross_table_lists_the_matrix_and_off_site_means() -> None:
    text = _text(render_cross_table(MATRIX, cross_generalization(MATRIX)))
    assert "90.0" in text and "20.0" in text and "26.7" in text


def test_dict_helpers_are_json_serialisable() -> None:
    payload = {
        "summary": summary_to_dict(summarize({"a": 0.5, "b": 1.0})),
        "cross": cross_to_dict(cross_generalization(MATRIX)),
        "traffic": traffic_to_dict(bytes_per_round(2, 10)),
    }
    decoded = json.loads(json.dumps(payload))
    assert decoded["summary"]["worst_site"] == "a"
    assert decoded["traffic"] == {"uploads": 20, "downloads": 20, "total": 40}
    assert decoded["cross"]["per_model"]["a"] == pytest.approx(0.2)
