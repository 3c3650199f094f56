"""The paired comparison's summary: ratios window by window, their median and quartiles."""

from __future__ import annotations

import pytest

from bench.paired import summarize


def test_ratios_are_taken_pair_by_pair_not_between_medians() -> None:
    # The machine drifts: both checkouts cost more in the later windows. B costs 10 % less
    # in every pair, which a comparison of the two medians would blur.
    a = [1000.0, 1500.0, 2000.0, 2500.0, 3000.0]
    b = [900.0, 1350.0, 1800.0, 2250.0, 2700.0]
    summary = summarize(a, b)
    assert summary.pairs == 5
    assert summary.median == pytest.approx(0.9)
    assert summary.lower_quartile == pytest.approx(0.9)
    assert summary.upper_quartile == pytest.approx(0.9)


def test_quartiles_bound_the_spread_of_the_ratios() -> None:
    summary = summarize([100.0] * 5, [80.0, 90.0, 100.0, 110.0, 120.0])
    assert summary.median == pytest.approx(1.0)
    assert summary.lower_quartile == pytest.approx(0.9)
    assert summary.upper_quartile == pytest.approx(1.1)


@pytest.mark.parametrize(("a", "b"), [([1.0], [1.0]), ([1.0, 2.0], [1.0])])
def test_fewer_than_two_pairs_or_unpaired_windows_are_refused(
    a: list[float], b: list[float]
) -> None:
    with pytest.raises(ValueError, match="at least two pairs"):
        summarize(a, b)
