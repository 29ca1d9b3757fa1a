"""Helpers for the kexue.astro tests: the blog's 2020 list and independent Meeus positions."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class BlogLine:
    when: dt.datetime  # Beijing time (midnight for an untimed line)
    timed: bool
    weekday: str
    category: str
    kind: str
    bodies: tuple[str, ...]
    value: float | None
    unit: str
    direction: str
    label: str


def read_blog_2020() -> list[BlogLine]:
    out = []
    for line in (DATA / "skycal_2020.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        date, clock, wd, cat, kind, bodies, num, unit, direction, label = line.split("\t")
        timed = clock != "-"
        when = dt.datetime.fromisoformat(f"{date}T{clock if timed else '00:00'}")
        out.append(BlogLine(when.replace(tzinfo=BEIJING), timed, wd, cat, kind,
                            tuple(bodies.split(",")), float(num) if num else None, unit,
                            direction, label))
    return out



def of(events, category):
    return [e for e in events if e.category == category]


def nearest_meeus_result(fn, jd: float, *args):
    """(JDE in TT, full result) of the Meeus closed-form event nearest ``jd``: pymeeus returns
    the event of the lunation/orbit its epoch falls in, so try the epoch and 14 days either
    side."""
    from pymeeus.Epoch import Epoch

    best = None
    for shift in (-14.0, 0.0, 14.0):
        r = fn(Epoch(jd + shift), *args)
        jde = (r[0] if isinstance(r, tuple) else r).jde()
        if best is None or abs(jde - jd) < abs(best[0] - jd):
            best = (jde, r)
    return best


def nearest_meeus(fn, jd: float, *args) -> float:
    return nearest_meeus_result(fn, jd, *args)[0]


def minutes(a: float, b: float) -> float:
    return abs(a - b) * 1440.0


def meeus_planet(name: str, jd: float) -> tuple[float, float]:
    """Apparent geocentric (RA, Dec) in degrees from pymeeus (VSOP87), TT Julian date."""
    import importlib

    from pymeeus.Epoch import Epoch

    cls = getattr(importlib.import_module(f"pymeeus.{name.capitalize()}"), name.capitalize())
    ra, dec, _ = cls.geocentric_position(Epoch(jd))
    return ra(), dec()


def meeus_moon(jd: float) -> tuple[float, float]:
    from pymeeus.Epoch import Epoch
    from pymeeus.Moon import Moon

    ra, dec, _, _ = Moon.apparent_equatorial_pos(Epoch(jd))
    return ra(), dec()


def meeus_sun(jd: float) -> tuple[float, float, float, float]:
    """(RA, Dec, ecliptic longitude of date, latitude) of the Sun from pymeeus (VSOP87)."""
    from pymeeus.Coordinates import ecliptical2equatorial, true_obliquity
    from pymeeus.Epoch import Epoch
    from pymeeus.Sun import Sun

    e = Epoch(jd)
    lon, lat, _ = Sun.apparent_geocentric_position(e)
    ra, dec = ecliptical2equatorial(lon, lat, true_obliquity(e))
    return ra(), dec(), lon(), lat()


def meeus_star(name: str, jd: float) -> tuple[float, float]:
    """A blog star's J2000 position precessed to the date with Meeus's ch. 21 (pymeeus)."""
    from pymeeus.Angle import Angle
    from pymeeus.Coordinates import precession_equatorial
    from pymeeus.Epoch import JDE2000, Epoch

    from kexue.astro.ephemeris import STARS

    ra, dec = STARS[name]
    r, d = precession_equatorial(JDE2000, Epoch(jd), Angle(ra * 15.0), Angle(dec), Angle(0),
                                 Angle(0))
    return r(), d()


def meeus_position(name: str, jd: float) -> tuple[float, float]:
    if name == "moon":
        return meeus_moon(jd)
    if name == "sun":
        return meeus_sun(jd)[:2]
    from kexue.astro.ephemeris import STARS

    if name in STARS:
        return meeus_star(name, jd)
    return meeus_planet(name, jd)


def meeus_ecliptic_longitude(name: str, jd: float) -> float:
    from pymeeus.Angle import Angle
    from pymeeus.Coordinates import equatorial2ecliptical, true_obliquity
    from pymeeus.Epoch import Epoch

    ra, dec = meeus_position(name, jd)
    lon, _ = equatorial2ecliptical(Angle(ra), Angle(dec), true_obliquity(Epoch(jd)))
    return lon()


def sep(p, q) -> float:
    from kexue.astro.planets import separation

    return float(separation((np.array([p[0]]), np.array([p[1]])),
                            (np.array([q[0]]), np.array([q[1]])))[0])


def wrap(x: float) -> float:
    return 180.0 - (180.0 - x) % 360.0
