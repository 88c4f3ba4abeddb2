"""Under-performing panel detection from per-microinverter daily energy.

Pure functions, no Home Assistant imports. Each panel is compared with the peers of its
own array on the same day, so weather that affects every panel alike (a cloudy day) moves
the reference together with the panel and raises nothing. A panel is an outlier on a day
when its shortfall below the array median, measured in robust spread units, exceeds the
configured threshold; it is flagged when that has held for N consecutive days on which it
could be judged.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from statistics import median

DEFAULT_THRESHOLD = 3.5
"""Default sensitivity: how many scaled MADs below the array median counts as low."""

DEFAULT_DAYS = 3
"""Default number of consecutive judged days a panel must stay low to be flagged."""

MIN_PEERS = 4
"""An array needs at least this many reporting panels on a day to be judged."""

MAD_SCALE = 1.4826
"""Makes the median absolute deviation comparable with a standard deviation."""

RELATIVE_FLOOR = 0.05
"""The spread is never taken below this share of the median (identical panels)."""

ABSOLUTE_FLOOR_WH = 1.0
"""Smallest spread in Wh, so a median of zero never divides by zero."""

MIN_MEDIAN_WH = 20.0
"""Days on which an array's median panel made less than this are not judged (snow, dark)."""

NO_ARRAY = ""
"""Group key for panels whose array is unknown; they are compared with each other."""


@dataclass(frozen=True, slots=True)
class PanelDeviation:
    """How one panel compared with its array on one day."""

    serial: str
    array_name: str
    value_wh: float
    median_wh: float
    score: float
    """Shortfall below the median in spread units (negative when above the median)."""
    deficit_pct: float
    """Shortfall below the median in percent of the median (negative when above)."""
    outlier: bool


@dataclass(frozen=True, slots=True)
class FlaggedPanel:
    """A panel that has been low compared with its peers for several days in a row."""

    serial: str
    array_name: str
    days: int
    """Length of the current run of consecutive judged days on which it was low."""
    first_day: date
    last_day: date
    deficit_pct: float
    """Mean shortfall below the array median over that run, in percent."""
    latest_deficit_pct: float


@dataclass(frozen=True, slots=True)
class DetectionResult:
    """Outcome of one detection pass over a window of daily panel energy."""

    flagged: dict[str, FlaggedPanel] = field(default_factory=dict)
    """Flagged panels by serial."""
    judged: frozenset[str] = frozenset()
    """Serials that could be judged on at least one day (reported, enough peers)."""
    days: tuple[date, ...] = ()
    """The days of the window, oldest first."""
    deviations: dict[date, dict[str, PanelDeviation]] = field(default_factory=dict)
    """Per day, the deviation of every judged panel."""

    def is_flagged(self, serial: str) -> bool:
        """Return True when the panel with this serial is flagged."""
        return serial in self.flagged


def _clean(value: float | None) -> float | None:
    """Return a usable energy value, or None for a panel that did not report."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return max(number, 0.0)


def _group_by_array(
    values: Mapping[str, float | None], arrays: Mapping[str, str | None]
) -> dict[str, dict[str, float]]:
    """Group the reporting panels of one day by array name."""
    groups: dict[str, dict[str, float]] = {}
    for serial, raw in values.items():
        value = _clean(raw)
        if value is None:
            continue
        array_name = arrays.get(serial) or NO_ARRAY
        groups.setdefault(array_name, {})[serial] = value
    return groups


def daily_deviations(
    values: Mapping[str, float | None],
    arrays: Mapping[str, str | None],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_peers: int = MIN_PEERS,
    relative_floor: float = RELATIVE_FLOOR,
    absolute_floor_wh: float = ABSOLUTE_FLOOR_WH,
    min_median_wh: float = MIN_MEDIAN_WH,
) -> dict[str, PanelDeviation]:
    """Compare every reporting panel of one day with the peers of its array.

    `values` maps serial to that day's energy in Wh (None or missing: did not report);
    `arrays` maps serial to its array name. Panels in arrays with fewer than `min_peers`
    reporting panels, or whose median is below `min_median_wh`, are not judged and are
    left out of the result. Only the low side counts as an outlier.
    """
    result: dict[str, PanelDeviation] = {}
    for array_name, panels in _group_by_array(values, arrays).items():
        if len(panels) < min_peers:
            continue
        mid = median(panels.values())
        if mid < min_median_wh:
            continue
        mad = median(abs(value - mid) for value in panels.values()) * MAD_SCALE
        spread = max(mad, relative_floor * mid, absolute_floor_wh)
        for serial, value in panels.items():
            score = (mid - value) / spread
            result[serial] = PanelDeviation(
                serial=serial,
                array_name=array_name,
                value_wh=value,
                median_wh=mid,
                score=score,
                deficit_pct=(mid - value) / mid * 100.0 if mid > 0 else 0.0,
                outlier=score > threshold,
            )
    return result


def detect_underperforming(
    history: Mapping[date, Mapping[str, float | None]],
    arrays: Mapping[str, str | None],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    days: int = DEFAULT_DAYS,
    min_peers: int = MIN_PEERS,
    relative_floor: float = RELATIVE_FLOOR,
    absolute_floor_wh: float = ABSOLUTE_FLOOR_WH,
    min_median_wh: float = MIN_MEDIAN_WH,
    exclude: Collection[str] = (),
) -> DetectionResult:
    """Find panels that were low against their array peers on `days` judged days in a row.

    `history` maps each day to {serial: Wh}. A day on which a panel did not report, or on
    which its array could not be judged, neither extends nor breaks its run; the run must
    reach the panel's latest judged day, so a panel that recovered is not flagged.
    Serials in `exclude` (known not to be reporting, whatever their values say) are
    treated as not reporting on every day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    ordered = tuple(sorted(history))
    skipped = set(exclude)
    deviations = {
        day: daily_deviations(
            {s: v for s, v in history[day].items() if s not in skipped},
            arrays,
            threshold=threshold,
            min_peers=min_peers,
            relative_floor=relative_floor,
            absolute_floor_wh=absolute_floor_wh,
            min_median_wh=min_median_wh,
        )
        for day in ordered
    }
    runs: dict[str, list[PanelDeviation]] = {}
    run_days: dict[str, list[date]] = {}
    for day in ordered:
        for serial, deviation in deviations[day].items():
            if deviation.outlier:
                runs.setdefault(serial, []).append(deviation)
                run_days.setdefault(serial, []).append(day)
            else:
                runs[serial] = []
                run_days[serial] = []
    flagged: dict[str, FlaggedPanel] = {}
    for serial, run in runs.items():
        if len(run) < days:
            continue
        flagged[serial] = FlaggedPanel(
            serial=serial,
            array_name=run[-1].array_name,
            days=len(run),
            first_day=run_days[serial][0],
            last_day=run_days[serial][-1],
            deficit_pct=sum(item.deficit_pct for item in run) / len(run),
            latest_deficit_pct=run[-1].deficit_pct,
        )
    return DetectionResult(
        flagged=flagged,
        judged=frozenset(runs),
        days=ordered,
        deviations=deviations,
    )
