"""Meteor-shower peaks: a documented table of solar longitudes and zenithal hourly rates.

A shower peaks when the Earth crosses the densest part of its meteoroid stream, i.e. at a fixed
point of the Earth's orbit; catalogues (e.g. the International Meteor Organization's yearly
calendar) give that point as the Sun's apparent geocentric ecliptic longitude λ☉ referred to
the J2000 equinox. The peak is the instant the Sun reaches λ☉
(:meth:`Ephemeris.sun_longitude_j2000`).

The table's λ☉ are the Sun's J2000 longitudes at the peak times of the blog's 2020 edition
(archive 7144, SKYCAL), rounded to 0.01°; most sit about 0.01–0.02° (15–30 minutes)
below a round catalogue value such as 140.0° (Perseids) or 262.2° (Geminids). ZHR are the
2020 edition's. Peak times of real showers vary by hours from year to year: treat the times
as the calendar's convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.search import grid, refine, wrap180

__all__ = ["SHOWERS", "Shower", "showers"]


@dataclass(frozen=True)
class Shower:
    key: str
    zh: str
    en: str
    solar_longitude: float  # degrees, J2000
    zhr: int


SHOWERS = (
    Shower("quadrantids", "象限仪座流星雨", "Quadrantid meteor shower", 283.16, 120),
    Shower("lyrids", "天琴座流星雨", "Lyrid meteor shower", 32.30, 20),
    Shower("eta-aquariids", "宝瓶座η流星雨", "Eta Aquariid meteor shower", 44.50, 60),
    Shower("delta-aquariids", "宝瓶座δ流星雨", "Delta Aquariid meteor shower", 124.99, 20),
    Shower("perseids", "英仙座流星雨", "Perseid meteor shower", 139.99, 90),
    Shower("orionids", "猎户座流星雨", "Orionid meteor shower", 207.99, 20),
    Shower("southern-taurids", "金牛座南流星雨", "Southern Taurid meteor shower", 222.98, 10),
    Shower("northern-taurids", "金牛座北流星雨", "Northern Taurid meteor shower", 229.98, 15),
    Shower("leonids", "狮子座流星雨", "Leonid meteor shower", 235.29, 15),
    Shower("geminids", "双子座流星雨", "Geminid meteor shower", 262.18, 120),
    Shower("ursids", "小熊座流星雨", "Ursid meteor shower", 270.69, 10),
)


def showers(eph: Ephemeris, start: float, stop: float) -> list[Event]:
    """Peaks of the showers of :data:`SHOWERS` in [start, stop], value = ZHR (one grid of the
    Sun's longitude for all showers, then one joint refinement)."""
    t = grid(start, stop, 5.0)
    lam = eph.sun_longitude_j2000(t)
    cand, lo, hi, vlo, vhi = [], [], [], [], []
    for k, s in enumerate(SHOWERS):
        v = wrap180(lam - s.solar_longitude)
        for i in np.nonzero((v[:-1] < 0) & (v[1:] >= 0) & (v[1:] - v[:-1] < 90))[0]:
            cand.append(k)
            lo.append(t[i])
            hi.append(t[i + 1])
            vlo.append(v[i])
            vhi.append(v[i + 1])
    if not cand:
        return []
    target = np.array([SHOWERS[k].solar_longitude for k in cand])
    times = refine(lambda x: wrap180(eph.sun_longitude_j2000(x) - target), np.array(lo),
                   np.array(hi), np.array(vlo), np.array(vhi))
    return [Event(float(jd), "showers", "meteor-shower", (SHOWERS[k].key,),
                  float(SHOWERS[k].zhr), "ZHR")
            for k, jd in zip(cand, times) if start <= jd <= stop]
