"""A calendar of celestial events between two local dates: every category, sorted.

:func:`compute` turns a date range in a time zone into TT Julian dates, checks them against the
ephemeris span, runs the finder of each requested category (see :data:`FINDERS` and
:data:`kexue.astro.events.CATEGORIES`) and returns the events in time order. Untimed lines
(Venus on the 1st) sort first on their day. :func:`parse_categories` and :func:`parse_zone`
turn user input into valid values or raise a ``ValueError`` that lists the valid ones.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Callable, Iterable

from kexue.astro import conjunctions, eclipses, moon, planets, showers, sun
from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import CATEGORIES, Event

__all__ = ["FINDERS", "compute", "local_day", "parse_categories", "parse_zone", "utc_minute"]

Finder = Callable[[Ephemeris, float, float], list[Event]]
FINDERS: dict[str, Finder] = {
    "phases": moon.phases,
    "lunar-apsides": moon.apsides,
    "lunar-nodes": moon.nodes,
    "lunar-declination": moon.declination_extremes,
    "eclipses": eclipses.eclipses,
    "seasons": sun.seasons,
    "earth-apsides": sun.earth_apsides,
    "elongations": planets.greatest_elongations,
    "inner-conjunctions": planets.inner_conjunctions,
    "oppositions": planets.oppositions,
    "outer-conjunctions": planets.outer_conjunctions,
    "moon-conjunctions": conjunctions.moon_conjunctions,
    "appulses": conjunctions.appulses,
    "showers": showers.showers,
}
# "venus" is driven by calendar dates, not instants: handled in compute().
assert set(FINDERS) | {"venus"} == set(CATEGORIES)


def parse_categories(text: str | Iterable[str] | None) -> list[str]:
    """``"phases,eclipses"`` (or a list) → validated category names; None → all of them."""
    if text is None:
        return list(CATEGORIES)
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown or not names:
        what = f"unknown category {', '.join(map(repr, unknown))}" if unknown else "no category"
        raise ValueError(f"{what}; valid categories: {', '.join(CATEGORIES)}")
    return list(dict.fromkeys(names))


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone, or a ValueError that says where the valid names are listed."""
    try:
        if not name or name != name.strip():
            raise zoneinfo.ZoneInfoNotFoundError(name)
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        sample = ", ".join(("Asia/Shanghai", "UTC", "Europe/London", "America/New_York"))
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as {sample} "
            f"({len(zoneinfo.available_timezones())} valid names; "
            "`kexue sky --list-zones` prints them all)"
        ) from None


def utc_minute(event: Event, eph: Ephemeris) -> dt.datetime:
    """The event's UTC instant rounded to the nearest minute (the calendar's precision)."""
    when = eph.utc(event.jd) + dt.timedelta(seconds=30)
    return when.replace(second=0, microsecond=0)


def local_day(event: Event, eph: Ephemeris, zone: dt.tzinfo) -> dt.datetime:
    """The event's local time to the minute (an untimed line: midnight of its own date)."""
    if not event.timed:
        day = dt.date.fromisoformat(event.extra["date"])
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return utc_minute(event, eph).astimezone(zone)


def compute(eph: Ephemeris, first: dt.date, last: dt.date, zone: dt.tzinfo,
            categories: Iterable[str] | None = None,
            timings: dict[str, float] | None = None) -> list[Event]:
    """All events of ``categories`` from local midnight of ``first`` to the end of ``last``.

    Raises :class:`~kexue.astro.ephemeris.EphemerisRangeError` when the range leaves DE421's
    span, ``ValueError`` for an empty range or an unknown category. If ``timings`` is given, the
    seconds spent on each category are stored in it.
    """
    cats = parse_categories(list(categories) if categories is not None else None)
    if last < first:
        raise ValueError(f"the range is empty: {first} is after {last}")
    begin = dt.datetime(first.year, first.month, first.day, tzinfo=zone)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=zone) + dt.timedelta(days=1)
    jd0, jd1 = eph.jd_from_utc(begin), eph.jd_from_utc(end)
    eph.check_range(jd0, f"{first} (start of the range)")
    eph.check_range(jd1, f"{last} (end of the range)")
    # The finders look a little outside the range; keep that inside the ephemeris too.
    lo, hi = max(jd0, eph.start_jd + 1.5), min(jd1, eph.end_jd - 1.5)
    events: list[Event] = []
    for cat in cats:
        tic = time.perf_counter()
        if cat == "venus":
            found = planets.venus_monthly(eph, first, last)
        elif lo < hi:
            found = [e for e in FINDERS[cat](eph, lo, hi) if jd0 <= e.jd < jd1]
        else:
            found = []
        events += found
        if timings is not None:
            timings[cat] = time.perf_counter() - tic
    events.sort(key=lambda e: (local_day(e, eph, zone).date(), e.timed, e.jd))
    return events
