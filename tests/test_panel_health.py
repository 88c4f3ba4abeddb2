"""Under-performing panel detection: synthetic arrays and the simulator's full site."""

from __future__ import annotations

import math
from datetime import date, timedelta

import aiohttp
import pytest

from custom_components.enphase_enlighten.api import EnlightenClient
from custom_components.enphase_enlighten.history.panel_health import (
    NO_ARRAY,
    daily_deviations,
    detect_underperforming,
)
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

DAY0 = date(2026, 6, 1)
NORTH = [f"N{i}" for i in range(8)]
WEST = [f"W{i}" for i in range(8)]
ARRAYS: dict[str, str | None] = {**dict.fromkeys(NORTH, "North"), **dict.fromkeys(WEST, "West")}
# Slightly different panels, as in real arrays (about +-3 %).
SPREAD = [1.0, 0.98, 1.02, 0.99, 1.01, 0.97, 1.03, 1.0]


def _day(scale: float = 1.0, **factors: float | None) -> dict[str, float | None]:
    """One day of energy: North makes 1200 Wh per panel, West 950 Wh, times `scale`."""
    values: dict[str, float | None] = {}
    for base, serials in ((1200.0, NORTH), (950.0, WEST)):
        for serial, spread in zip(serials, SPREAD, strict=True):
            factor = factors.get(serial, 1.0)
            values[serial] = None if factor is None else base * spread * scale * factor
    return values


def _history(*days: dict[str, float | None]) -> dict[date, dict[str, float | None]]:
    return {DAY0 + timedelta(days=index): day for index, day in enumerate(days)}


def test_shaded_panel_flagged_after_n_days() -> None:
    """A panel at 60 % of its peers for three days is flagged with its deficit."""
    result = detect_underperforming(_history(_day(), *[_day(N3=0.6)] * 3), ARRAYS, days=3)
    assert set(result.flagged) == {"N3"}
    flagged = result.flagged["N3"]
    assert flagged.array_name == "North"
    assert flagged.days == 3
    assert flagged.first_day == DAY0 + timedelta(days=1)
    assert flagged.last_day == DAY0 + timedelta(days=3)
    assert 38 < flagged.deficit_pct < 43
    assert flagged.latest_deficit_pct == pytest.approx(flagged.deficit_pct)
    assert result.is_flagged("N3")
    assert not result.is_flagged("N2")
    assert result.judged == frozenset(NORTH + WEST)
    assert result.days == tuple(sorted(result.deviations))


def test_too_few_days_or_recovered_not_flagged() -> None:
    """Two low days are not enough for N=3; a panel that recovered is not flagged."""
    assert not detect_underperforming(_history(_day(), *[_day(W1=0.6)] * 2), ARRAYS).flagged
    recovered = _history(*[_day(W1=0.6)] * 4, _day())
    assert not detect_underperforming(recovered, ARRAYS, days=3).flagged
    still_low = _history(*[_day(W1=0.6)] * 4)
    assert set(detect_underperforming(still_low, ARRAYS, days=3).flagged) == {"W1"}


def test_uniformly_cloudy_day_is_quiet() -> None:
    """All panels dropping together (cloudy days) flags nobody."""
    history = _history(_day(), _day(0.25), _day(0.3), _day(0.2), _day())
    result = detect_underperforming(history, ARRAYS, days=1)
    assert result.flagged == {}
    cloudy = result.deviations[DAY0 + timedelta(days=1)]
    assert not any(deviation.outlier for deviation in cloudy.values())


def test_shaded_panel_stays_low_through_a_cloudy_day() -> None:
    """The comparison is relative to peers, so a cloudy day does not reset a run."""
    history = _history(_day(N5=0.6), _day(0.3, N5=0.6), _day(N5=0.6))
    result = detect_underperforming(history, ARRAYS, days=3)
    assert set(result.flagged) == {"N5"}


def test_non_reporting_days_neither_extend_nor_break() -> None:
    """A day without a report is skipped; a panel that never reports is never judged."""
    history = _history(
        _day(N1=0.6, W7=None),
        _day(N1=None, W7=None),
        _day(N1=0.6, W7=None),
        _day(N1=0.6, W7=None),
    )
    result = detect_underperforming(history, ARRAYS, days=3)
    assert set(result.flagged) == {"N1"}
    assert result.flagged["N1"].days == 3
    assert "W7" not in result.judged
    # Not reporting at all (no key) is the same as None.
    sparse = {
        day: {s: v for s, v in values.items() if s != "N1"} for day, values in history.items()
    }
    assert not detect_underperforming(sparse, ARRAYS).flagged


def test_excluded_panels_are_not_judged() -> None:
    """Serials known not to report are ignored, whatever energy they show."""
    history = _history(*[_day(N0=0.0)] * 3)
    assert set(detect_underperforming(history, ARRAYS).flagged) == {"N0"}
    result = detect_underperforming(history, ARRAYS, exclude={"N0"})
    assert result.flagged == {}
    assert "N0" not in result.judged


def test_high_side_does_not_count() -> None:
    """A panel doing better than its peers is not a problem."""
    assert not detect_underperforming(_history(*[_day(W2=1.5)] * 4), ARRAYS, days=1).flagged


def test_small_arrays_and_dark_days_not_judged() -> None:
    """Fewer than four reporting panels, or a median below the floor, is not judged."""
    values = {"A1": 1000.0, "A2": 990.0, "A3": 400.0, "A4": None}
    arrays: dict[str, str | None] = dict.fromkeys(values, "Small")
    assert daily_deviations(values, arrays) == {}
    dark = {"A1": 10.0, "A2": 12.0, "A3": 0.0, "A4": 11.0}
    assert daily_deviations(dark, arrays) == {}
    assert set(daily_deviations(dark, arrays, min_median_wh=0.0)) == set(dark)


def test_unknown_arrays_form_one_group_and_bad_values_skipped() -> None:
    """Panels without an array are compared together; NaN/inf/bool count as not reported."""
    values: dict[str, float | None] = {
        "X1": 1000.0,
        "X2": 1010.0,
        "X3": 990.0,
        "X4": 500.0,
        "X5": math.nan,
        "X6": math.inf,
        "X7": True,  # type: ignore[dict-item]
        "X8": -5.0,
    }
    result = daily_deviations(values, {"X1": None})
    assert set(result) == {"X1", "X2", "X3", "X4", "X8"}
    assert {d.array_name for d in result.values()} == {NO_ARRAY}
    assert result["X4"].outlier
    assert result["X8"].value_wh == 0.0
    assert result["X8"].outlier
    assert not result["X1"].outlier
    assert result["X2"].score < 0


def test_spread_floors() -> None:
    """Identical panels: the 5 % floor keeps a 10 % dip from counting at threshold 3.5."""
    values = {f"P{i}": 1000.0 for i in range(6)} | {"P6": 900.0}
    arrays: dict[str, str | None] = dict.fromkeys(values, "Roof")
    deviation = daily_deviations(values, arrays)["P6"]
    assert deviation.score == pytest.approx(2.0)
    assert not deviation.outlier
    assert daily_deviations(values, arrays, threshold=1.5)["P6"].outlier
    zeros = dict.fromkeys(values, 0.0)
    assert not any(
        d.outlier
        for d in daily_deviations(zeros, arrays, min_median_wh=0.0, relative_floor=0).values()
    )


def test_days_must_be_positive() -> None:
    """N below one is refused."""
    with pytest.raises(ValueError, match="days"):
        detect_underperforming({}, {}, days=0)
    assert detect_underperforming({}, {}).flagged == {}


async def _panel_days(
    client: EnlightenClient, site_id: str, days: list[date]
) -> dict[date, dict[str, float | None]]:
    """Per-serial daily energy from the cloud: 2.15 once, then 2.14 once per day."""
    statuses = await client.inverter_status(site_id)
    serial_by_id = {inverter_id: status.serial for inverter_id, status in statuses.items()}
    history: dict[date, dict[str, float | None]] = {}
    for day in days:
        by_id = await client.inverter_energy(site_id, day, day)
        history[day] = {serial_by_id[i]: wh for i, wh in by_id.items() if i in serial_by_id}
    return history


async def test_simulator_shaded_panel_and_cloudy_days(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """On the full demo site a 0.6-shaded panel is flagged; cloudy days flag nobody."""
    site = simulator.site(1000001)
    client = EnlightenClient(client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url)
    await client.login()
    inverters = (await client.all_inverters("1000001")).inverters
    arrays: dict[str, str | None] = {inv.serial: inv.array_name for inv in inverters}
    assert sorted(set(arrays.values())) == ["North", "West"]
    today = site.today()
    window = [today - timedelta(days=offset) for offset in range(6, 0, -1)]

    # Uniformly cloudy days in the window: nobody is flagged.
    for day in window[2:5]:
        site.cloudy_days[day] = 0.25
    quiet = detect_underperforming(await _panel_days(client, "1000001", window), arrays)
    assert quiet.flagged == {}
    assert quiet.judged == frozenset(arrays)

    # One West panel behind a tree: flagged, and only that one, cloudy days included.
    shaded = next(inv.serial for inv in inverters if inv.array_name == "West")
    site.inverter_daily_factor[shaded] = 0.6
    history = await _panel_days(client, "1000001", window)
    result = detect_underperforming(history, arrays, threshold=3.5, days=3)
    assert set(result.flagged) == {shaded}
    assert result.flagged[shaded].days == len(window)
    assert result.flagged[shaded].deficit_pct == pytest.approx(40, abs=3)

    # The shaded panel stops reporting on the last two days: the run still ends at its
    # latest reported day, and the other panels are unaffected.
    for day in window[-2:]:
        history[day][shaded] = None
    result = detect_underperforming(history, arrays, days=3)
    assert set(result.flagged) == {shaded}
    assert result.flagged[shaded].last_day == window[-3]
