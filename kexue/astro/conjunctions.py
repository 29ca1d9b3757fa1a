"""Close approaches between the Moon, the planets and the blog's bright stars and clusters.

* **Moon–object conjunction** (``火星合月: 2.4° S``) — a geocentric conjunction in *right
  ascension*: the apparent right ascension of the Moon (true equator and equinox of date)
  equals the object's. The value is the object's declination minus the Moon's at that instant:
  ``N`` when the object is north of the Moon, ``S`` when south, no letter when it rounds to
  0.0° (the blog's ``火星合月: 0°``).
* **Appulse** (``火星合木星: 0.7° N``, ``金星合轩辕十四: 0.1° S``) — a local minimum of the
  apparent geocentric angular separation between a planet and another planet or a star
  (stars and clusters precessed to the date like everything else); the value is that minimum
  separation. ``N``/``S`` follows the blog's lists, which use two conventions: for a
  planet–star pair it says where the *planet* is relative to the star (``火星合心宿二: 4.8° N``:
  Mars passed north of Antares); for a planet pair, where the *second-named* (outer) planet is
  relative to the first (``火星合木星: 0.7° N``: Jupiter was 0.7° north of Mars, i.e. Mars
  passed south of Jupiter). The first-named planet is the one nearer the Sun. During
  retrograde motion a pair can have an appulse without a conjunction in longitude, and the
  minimum of a slowly varying separation is ill-conditioned (hours).

SKYCAL's planet–star and Moon–star times are *not* computed this way: they match closest
approaches to the stars' unprecessed J2000 positions (7 of the 9 planet–star lines of 2020
within 15 minutes, and the Moon–Beehive lines within 8 minutes, against 4–13 hours and
35 minutes for positions of date). kexue keeps the physically meaningful definition.

Selection (the blog lists only what can be seen; these limits reproduce the 2020 edition's
event set closely — see ``docs/sky.md`` for the measured agreement):

* Moon conjunctions: with Mercury…Saturn and the Beehive cluster (the only ones the 2020
  edition lists; Uranus, Neptune and the bright stars are not listed against the Moon), only
  when the object is at least :data:`MOON_MIN_ELONGATION` from the Sun (19.8°; Venus 10°),
  and only when the offset is at most :data:`MOON_MAX_OFFSET` (6.5°).
* Appulses: planet pairs among Mercury…Saturn and planet–star pairs with the seven stars and
  clusters of the 2020 edition (Antares, Aldebaran, Pollux, Spica, Regulus, the Pleiades, the
  Beehive), when the minimum separation is at most :data:`APPULSE_MAX_SEPARATION` and both
  objects are at least :data:`APPULSE_MIN_ELONGATION` from the Sun (7° and 15°).
"""

from __future__ import annotations

import itertools

import numpy as np

from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.planets import separation
from kexue.astro.search import grid, refine, wrap180

__all__ = [
    "APPULSE_MAX_SEPARATION",
    "APPULSE_MIN_ELONGATION",
    "APPULSE_PLANETS",
    "APPULSE_STARS",
    "MOON_MAX_OFFSET",
    "MOON_MIN_ELONGATION",
    "MOON_OBJECTS",
    "appulses",
    "moon_conjunctions",
]

MOON_OBJECTS = ("mercury", "venus", "mars", "jupiter", "saturn", "beehive")
#: Degrees from the Sun below which a Moon conjunction is not listed (object in twilight):
#: Venus is bright enough to be seen closer to the Sun. Chosen to reproduce 2020's selection.
MOON_MIN_ELONGATION = {"venus": 10.0, "default": 19.8}
#: Largest |declination offset| listed for a Moon conjunction, degrees.
MOON_MAX_OFFSET = 6.5
APPULSE_PLANETS = ("mercury", "venus", "mars", "jupiter", "saturn")
APPULSE_STARS = ("antares", "aldebaran", "pollux", "spica", "regulus", "pleiades", "beehive")
APPULSE_MAX_SEPARATION = 7.0
APPULSE_MIN_ELONGATION = 15.0
#: Grid step for the Moon (right ascension changes ~3.3° in 6 h) and for appulses.
MOON_STEP = 0.25
APPULSE_STEP = 1.0


def moon_conjunctions(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Moon–planet and Moon–Beehive conjunctions in right ascension (see module docstring)."""
    t = grid(start, stop, MOON_STEP)
    at_grid = eph.apparent_set(("moon", *MOON_OBJECTS), t)
    moon_ra = at_grid["moon"].ra
    names, lo, hi, vlo, vhi = [], [], [], [], []
    for body in MOON_OBJECTS:
        v = wrap180(moon_ra - at_grid[body].ra)
        for i in np.nonzero((v[:-1] < 0) & (v[1:] >= 0) & (v[1:] - v[:-1] < 90))[0]:
            names.append(body)
            lo.append(t[i])
            hi.append(t[i + 1])
            vlo.append(v[i])
            vhi.append(v[i + 1])
    if not names:
        return []
    names = np.array(names)
    times = refine(lambda x: wrap180(eph.apparent("moon", x).ra - eph.apparent_many(names, x).ra),
                   np.array(lo), np.array(hi), np.array(vlo), np.array(vhi))
    moon, obj = eph.apparent("moon", times), eph.apparent_many(names, times)
    sun = eph.apparent("sun", times)
    offset = obj.dec - moon.dec
    elong = separation((obj.ra, obj.dec), (sun.ra, sun.dec))
    out = []
    for body, jd, d, e in zip(names, times, offset, elong):
        limit = MOON_MIN_ELONGATION.get(str(body), MOON_MIN_ELONGATION["default"])
        if not start <= jd <= stop or e < limit or abs(d) > MOON_MAX_OFFSET:
            continue
        side = "" if round(abs(float(d)), 1) == 0 else ("N" if d > 0 else "S")
        out.append(Event(float(jd), "moon-conjunctions", "moon-conjunction", (str(body), "moon"),
                         abs(float(d)), "deg", side))
    return out


def _pairs() -> list[tuple[str, str]]:
    return [*itertools.combinations(APPULSE_PLANETS, 2),
            *itertools.product(APPULSE_PLANETS, APPULSE_STARS)]


def appulses(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Planet–planet and planet–star closest approaches (see module docstring)."""
    step = APPULSE_STEP
    t = grid(start - step, stop + step, step)
    bodies = sorted({b for pair in _pairs() for b in pair})
    pos = {b: (p.ra, p.dec) for b, p in eph.apparent_set(bodies, t).items()}
    first, second, lo, hi = [], [], [], []
    for a, b in _pairs():
        s = separation(pos[a], pos[b])
        i = np.nonzero((s[1:-1] < s[:-2]) & (s[1:-1] <= s[2:])
                       & (s[1:-1] < APPULSE_MAX_SEPARATION + 1.0))[0] + 1
        for k in i:
            first.append(a)
            second.append(b)
            lo.append(t[k - 1])
            hi.append(t[k + 1])
    if not first:
        return []
    first, second = np.array(first), np.array(second)
    h = 1e-3

    def slope(x: np.ndarray) -> np.ndarray:
        xx = np.concatenate([x - h, x + h])
        reps = xx.size // first.size  # x holds one or two times per candidate
        pa = eph.apparent_many(np.tile(first, reps), xx)
        pb = eph.apparent_many(np.tile(second, reps), xx)
        sep = separation((pa.ra, pa.dec), (pb.ra, pb.dec))
        return sep[x.size:] - sep[: x.size]

    lo, hi = np.array(lo), np.array(hi)
    ends = slope(np.concatenate([lo, hi]))
    times = refine(slope, lo, hi, ends[: lo.size], ends[lo.size:])
    pa, pb = eph.apparent_many(first, times), eph.apparent_many(second, times)
    sun = eph.apparent("sun", times)
    sep = separation((pa.ra, pa.dec), (pb.ra, pb.dec))
    elong = np.minimum(separation((pa.ra, pa.dec), (sun.ra, sun.dec)),
                       separation((pb.ra, pb.dec), (sun.ra, sun.dec)))
    out = []
    for i, jd in enumerate(times):
        if not start <= jd <= stop or sep[i] > APPULSE_MAX_SEPARATION:
            continue
        if elong[i] < APPULSE_MIN_ELONGATION:
            continue
        # The blog's direction: planet–star, the planet relative to the star; planet–planet,
        # the second-named (outer) planet relative to the first.
        north = pb.dec[i] > pa.dec[i] if second[i] in APPULSE_PLANETS else pa.dec[i] > pb.dec[i]
        side = "" if round(float(sep[i]), 1) == 0 else ("N" if north else "S")
        out.append(Event(float(jd), "appulses", "appulse", (str(first[i]), str(second[i])),
                         float(sep[i]), "deg", side))
    return out
