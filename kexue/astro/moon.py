"""Lunar events: phases, perigee/apogee, nodes, extreme declinations.

All positions are apparent geocentric (:meth:`Ephemeris.apparent`); times are TT Julian dates.
The definitions are the ones that reproduce the blog's 2020 list (archive 7144) to about the
minute (``../shared/spec/text_and_data.md`` §8.3):

* **Phases** — the Moon's apparent ecliptic longitude minus the Sun's (true ecliptic and
  equinox of date) equals 0° (new), 90° (first quarter), 180° (full), 270° (last quarter).
  Meeus, *Astronomical Algorithms*, ch. 49.
* **Perigee / apogee** — local minimum / maximum of the distance between the centres of the
  Earth and the Moon at the same instant (geometric, as Meeus and SKYCAL use it; the
  light-time-corrected distance peaks up to ~11 min away, because the Earth moves ~40 km
  during the Moon's 1.3 s of light time and the extremum is flat); the value is that
  distance in km, printed rounded to 100 km as the blog does (``366000 km``). Meeus ch. 50.
* **Nodes** — the Moon's apparent ecliptic latitude (ecliptic of date) crosses 0°, going north
  (ascending node) or south (descending node). Meeus ch. 51.
* **Extreme declination** — local maximum (north) / minimum (south) of the Moon's apparent
  geocentric declination; the value is |declination| in degrees (``23.2° N``). Meeus ch. 52.
  The extremum is flat (the declination changes by ~0.01° in an hour around it), so its time is
  ill-conditioned: SKYCAL's 2020 times differ from these by up to 6 minutes.
"""

from __future__ import annotations

import numpy as np

from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.search import extrema, roots, wrap180

__all__ = ["apsides", "declination_extremes", "elongation_angle", "nodes", "phases"]

#: The Moon's grid step, days: shorter than half of the shortest interval between two events
#: of one kind (nodes and declination extremes are ~13.6 days apart, phases ~7.4).
STEP = 0.25
PHASES = {0.0: "new-moon", 90.0: "first-quarter", 180.0: "full-moon", 270.0: "last-quarter"}


def elongation_angle(eph: Ephemeris, jd: np.ndarray) -> np.ndarray:
    """Moon's apparent ecliptic longitude minus the Sun's, degrees in [0, 360)."""
    p = eph.apparent_set(("moon", "sun"), jd)
    return (p["moon"].lon - p["sun"].lon) % 360.0


def phases(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """New moon, first quarter, full moon and last quarter in [start, stop].

    One search finds all four: the quarters are the rising zeros of ``wrap180(4 E)`` where ``E``
    is the Moon−Sun longitude difference, and ``E`` rounded to a multiple of 90° names them."""
    times, _ = roots(lambda t: wrap180(4.0 * elongation_angle(eph, t)), start, stop, STEP,
                     direction=+1)
    if not len(times):
        return []
    quarter = np.round(elongation_angle(eph, times) / 90.0).astype(int) % 4
    return [Event(float(jd), "phases", PHASES[90.0 * q], ("moon",))
            for jd, q in zip(times, quarter)]


def _distance_km(eph: Ephemeris, jd: np.ndarray) -> np.ndarray:
    m = eph.geometric_km("moon", jd)
    return np.sqrt((m * m).sum(axis=0))


def apsides(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Lunar perigee and apogee with the geocentric distance (km)."""
    times, is_max = extrema(lambda t: _distance_km(eph, t), start, stop, STEP)
    if not len(times):
        return []
    return [Event(float(jd), "lunar-apsides", "apogee" if top else "perigee", ("moon",),
                  float(d), "km")
            for jd, top, d in zip(times, is_max, _distance_km(eph, times))]


def nodes(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """The Moon crossing the ecliptic northwards (ascending) or southwards (descending)."""
    times, rising = roots(lambda t: eph.apparent("moon", t).lat, start, stop, STEP)
    return [Event(float(jd), "lunar-nodes", "ascending-node" if up else "descending-node",
                  ("moon",)) for jd, up in zip(times, rising)]


def declination_extremes(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Moon at its extreme north / south apparent declination, with |dec| in degrees."""
    times, is_max = extrema(lambda t: eph.apparent("moon", t).dec, start, stop, STEP)
    if not len(times):
        return []
    decs = eph.apparent("moon", times).dec
    return [Event(float(jd), "lunar-declination",
                  "north-declination" if top else "south-declination", ("moon",),
                  abs(float(d)), "deg", "N" if top else "S")
            for jd, top, d in zip(times, is_max, decs)]
