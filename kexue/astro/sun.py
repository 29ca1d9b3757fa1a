"""The Earth's year: equinoxes and solstices, perihelion and aphelion.

* **Equinoxes / solstices** — the Sun's apparent geocentric ecliptic longitude (true ecliptic
  and equinox of date) equals 0° (March equinox, 春分), 90° (June solstice, 夏至),
  180° (September equinox, 秋分), 270° (December solstice, 冬至). Meeus, *Astronomical
  Algorithms*, ch. 27.
* **Perihelion / aphelion** — local minimum / maximum of the geometric distance between the
  centres of the Sun and the Earth (not the Earth–Moon barycentre); the value is that distance
  in AU, printed with 4 decimals (``0.9832 AU``). Meeus ch. 38. The extremum is very flat and
  the Moon shifts the Earth around the barycentre by ~4,700 km, which moves the instant by
  hours, so tables built on the barycentre differ from this definition by hours. Meeus's
  ch. 38 (with its Moon terms) agrees to 2.4 minutes in 2020; SKYCAL's 2020 perihelion and
  aphelion are 2.2 h and 3.4 h away.
"""

from __future__ import annotations

import numpy as np

from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.search import extrema, roots, wrap180

__all__ = ["earth_apsides", "seasons"]

SEASONS = {0.0: "march-equinox", 90.0: "june-solstice", 180.0: "september-equinox",
           270.0: "december-solstice"}


def seasons(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Equinoxes and solstices in [start, stop] (one search: rising zeros of
    ``wrap180(4 λ☉)``; λ☉ rounded to a multiple of 90° names them)."""
    times, _ = roots(lambda t: wrap180(4.0 * eph.apparent("sun", t).lon), start, stop, 5.0,
                     direction=+1)
    if not len(times):
        return []
    quarter = np.round(eph.apparent("sun", times).lon / 90.0).astype(int) % 4
    return [Event(float(jd), "seasons", SEASONS[90.0 * q], ("sun",))
            for jd, q in zip(times, quarter)]


def earth_apsides(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Earth at perihelion and aphelion, with the Sun–Earth distance in AU."""
    times, is_max = extrema(eph.heliocentric_distance_au, start, stop, 5.0, h=1e-3)
    if not len(times):
        return []
    return [Event(float(jd), "earth-apsides", "aphelion" if top else "perihelion", ("earth",),
                  float(r), "AU")
            for jd, top, r in zip(times, is_max, eph.heliocentric_distance_au(times))]
