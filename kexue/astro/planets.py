"""Planetary phenomena relative to the Sun.

All positions are apparent geocentric; longitudes are on the true ecliptic of date.

* **Greatest elongation** (Mercury, Venus) — local maximum of the angular separation between
  the planet and the Sun; the value is that separation in degrees, ``E`` when the planet is east
  of the Sun (ecliptic longitude greater than the Sun's: an evening sky) and ``W`` otherwise
  (morning). Meeus, *Astronomical Algorithms*, ch. 36 and 48.
* **Inferior / superior conjunction** (Mercury, Venus) — the planet's ecliptic longitude equals
  the Sun's; *inferior* when the planet is nearer than the Sun, *superior* when farther.
* **Opposition** (Mars…Neptune) — ecliptic longitude of the planet minus the Sun's = 180°.
* **Conjunction with the Sun** (Mars…Neptune) — the same difference = 0°.
* **Venus on the first of the month** (the blog's untimed line ``金星: 34.6° E``) — Venus's
  elongation from the Sun at 12h UT on the 1st of each month, E/W as above (noon UT reproduces
  9 of the 12 values of the 2020 edition exactly and the other three within 0.1°; 0h UT
  only 4).

SKYCAL's times for these appear to come from a lower-precision planetary theory: they differ
from DE421 by a few minutes up to about an hour (``../shared/spec/text_and_data.md`` §8.3).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.search import extrema, roots, wrap180

__all__ = [
    "INNER",
    "OUTER",
    "elongation",
    "greatest_elongations",
    "inner_conjunctions",
    "oppositions",
    "outer_conjunctions",
    "venus_monthly",
]

INNER = ("mercury", "venus")
OUTER = ("mars", "jupiter", "saturn", "uranus", "neptune")
STEP = 2.0
#: Outer planets: the longitude difference to the Sun changes by at most ~1°/day and events
#: of one kind are months apart.
OUTER_STEP = 4.0


def separation(p: tuple[np.ndarray, np.ndarray], q: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Angle in degrees between two (ra, dec) directions given in degrees (haversine form)."""
    ra1, dec1 = np.radians(p[0]), np.radians(p[1])
    ra2, dec2 = np.radians(q[0]), np.radians(q[1])
    h = (np.sin((dec2 - dec1) / 2) ** 2
         + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2)
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def elongation(eph: Ephemeris, planet: str, jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(angular distance from the Sun in degrees, signed longitude difference planet − Sun)."""
    both = eph.apparent_set((planet, "sun"), jd)
    p, s = both[planet], both["sun"]
    return separation((p.ra, p.dec), (s.ra, s.dec)), wrap180(p.lon - s.lon)


def _side(dlon: float) -> str:
    return "E" if dlon > 0 else "W"


def greatest_elongations(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Greatest eastern and western elongations of Mercury and Venus."""
    out = []
    for planet in INNER:
        times, _ = extrema(lambda t, p=planet: elongation(eph, p, t)[0], start, stop, STEP,
                           "max", h=1e-3)
        if not len(times):
            continue
        el, dlon = elongation(eph, planet, times)
        for jd, e, d in zip(times, el, dlon):
            out.append(Event(float(jd), "elongations", "greatest-elongation", (planet,),
                             float(e), "deg", _side(d)))
    return out


def inner_conjunctions(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Inferior and superior conjunctions of Mercury and Venus with the Sun."""
    out = []
    for planet in INNER:
        times, _ = roots(lambda t, p=planet: elongation(eph, p, t)[1], start, stop, STEP)
        if not len(times):
            continue
        near = eph.apparent(planet, times).distance < eph.apparent("sun", times).distance
        for jd, inferior in zip(times, near):
            kind = "inferior-conjunction" if inferior else "superior-conjunction"
            out.append(Event(float(jd), "inner-conjunctions", kind, (planet,)))
    return out


def _outer(eph: Ephemeris, start: float, stop: float, offset: float, category: str,
           kind: str) -> list[Event]:
    out = []
    for planet in OUTER:
        def f(t, p=planet):
            both = eph.apparent_set((p, "sun"), t)
            return wrap180(both[p].lon - both["sun"].lon - offset)

        for jd in roots(f, start, stop, OUTER_STEP)[0]:
            out.append(Event(float(jd), category, kind, (planet,)))
    return out


def oppositions(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Oppositions of Mars, Jupiter, Saturn, Uranus and Neptune."""
    return _outer(eph, start, stop, 180.0, "oppositions", "opposition")


def outer_conjunctions(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Conjunctions of Mars, Jupiter, Saturn, Uranus and Neptune with the Sun."""
    return _outer(eph, start, stop, 0.0, "outer-conjunctions", "solar-conjunction")


def venus_monthly(eph: Ephemeris, first: dt.date, last: dt.date) -> list[Event]:
    """Venus's elongation at 12h UT on each 1st of the month between the dates ``first`` and
    ``last`` (inclusive). Untimed: the line belongs to its calendar date in any time zone."""
    days = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        day = dt.date(y, m, 1)
        if first <= day <= last:
            days.append(day)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not days:
        return []
    jds = np.array([eph.jd_from_utc(dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.UTC))
                    for d in days])
    el, dlon = elongation(eph, "venus", jds)
    return [Event(float(jd), "venus", "venus-elongation", ("venus",), float(e), "deg",
                  _side(d), timed=False, extra={"date": day.isoformat()})
            for jd, e, d, day in zip(jds, el, dlon, days)]
