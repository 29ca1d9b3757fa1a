"""The offline ephemeris: JPL DE421 through Skyfield, and apparent geocentric positions.

Everything comes from files installed with the packages, so nothing is ever downloaded:

* ``de421.bsp`` shipped by ``skyfield-data`` (JPL DE421, 1899-07-29 to 2053-10-09 TDB);
* Skyfield's *built-in* timescale (its bundled ΔT, leap-second and polar-motion tables), so an
  expired ``finals2000A.all`` never warns and never triggers a download.

Times are handled as Julian dates in Terrestrial Time (TT, float64 arrays); conversion to UTC
happens only when an event is reported. Positions are *apparent geocentric* (light time,
aberration, light deflection, precession and nutation, as in an almanac) in the true equator
and equinox of date (right ascension, declination) or the true ecliptic and equinox of date
(longitude, latitude). Eclipse geometry uses apparent *vectors* in the GCRS axes, the convention
of Espenak's catalogues (astrometric vectors would put greatest eclipse ~40 s later).

Pitfalls: ``skyfield_data`` warns at import that its IERS file has expired; the warning is
harmless here (the built-in timescale is used) and is silenced. DE421 holds no fixed stars:
the bright stars and clusters of the blog's list are entered as J2000 catalogue positions
(:data:`STARS`); their proper motions (< 0.7"/yr) are ignored.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = [
    "BODIES",
    "PLANETS",
    "STARS",
    "EphemerisRangeError",
    "Ephemeris",
    "Position",
]

#: Planets in order from the Sun (Mercury…Neptune) and their DE421 target names.
PLANETS = {
    "mercury": "mercury",
    "venus": "venus",
    "mars": "mars barycenter",
    "jupiter": "jupiter barycenter",
    "saturn": "saturn barycenter",
    "uranus": "uranus barycenter",
    "neptune": "neptune barycenter",
}
#: J2000 (ICRS) right ascension in hours and declination in degrees of the blog's stars and
#: clusters (cluster = catalogue centre). Catalogue positions, precise to about an arcsecond.
STARS = {
    "antares": (16 + 29 / 60 + 24.46 / 3600, -(26 + 25 / 60 + 55.2 / 3600)),
    "aldebaran": (4 + 35 / 60 + 55.24 / 3600, 16 + 30 / 60 + 33.5 / 3600),
    "pollux": (7 + 45 / 60 + 18.95 / 3600, 28 + 1 / 60 + 34.3 / 3600),
    "spica": (13 + 25 / 60 + 11.58 / 3600, -(11 + 9 / 60 + 40.8 / 3600)),
    "regulus": (10 + 8 / 60 + 22.31 / 3600, 11 + 58 / 60 + 2.0 / 3600),
    "pleiades": (3 + 47 / 60 + 24 / 3600, 24 + 7 / 60),
    "beehive": (8 + 40 / 60 + 24 / 3600, 19 + 40 / 60),
}
BODIES = ("sun", "moon", *PLANETS, *STARS)

#: Radii used by the eclipse geometry, km (IAU: Sun, Moon mean, Earth equatorial).
SUN_RADIUS_KM = 696_000.0
MOON_RADIUS_KM = 1_737.4
EARTH_RADIUS_KM = 6_378.137
AU_KM = 149_597_870.700


class EphemerisRangeError(ValueError):
    """A date outside the span DE421 covers."""


@dataclass(frozen=True)
class Position:
    """Apparent geocentric coordinates of one body at an array of times (degrees, AU)."""

    ra: np.ndarray  # right ascension of date, degrees in [0, 360)
    dec: np.ndarray  # declination of date, degrees
    lon: np.ndarray  # ecliptic longitude of date, degrees in [0, 360)
    lat: np.ndarray  # ecliptic latitude of date, degrees
    distance: np.ndarray  # geocentric distance, AU


def _spherical(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, z = xyz
    r = np.sqrt(x * x + y * y + z * z)
    lon = np.degrees(np.arctan2(y, x)) % 360.0
    lat = np.degrees(np.arcsin(np.clip(z / r, -1.0, 1.0)))
    return lon, lat, r


class Ephemeris:
    """DE421 + Skyfield's built-in timescale, loaded from the installed packages only."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                import skyfield_data
                from skyfield.api import Loader
            except ImportError as e:
                raise ImportError(
                    f"kexue.astro needs Skyfield and the DE421 file ({e.name} is missing): "
                    "pip install 'kexue[sky]' (skyfield==1.55 skyfield-data==7.0.0)"
                ) from e

            path = skyfield_data.get_skyfield_data_path()
        loader = Loader(path, expire=False, verbose=False)
        self.ts = loader.timescale(builtin=True)
        self.kernel = loader("de421.bsp")
        segment = self.kernel.spk.segments[0]
        #: First and last instant of the ephemeris (JD TDB, used as TT: they differ by < 2 ms).
        self.start_jd = float(segment.start_jd)
        self.end_jd = float(segment.end_jd)
        self._earth = self.kernel["earth"]

    # ----------------------------------------------------------------------------- time
    @cached_property
    def span(self) -> tuple[dt.date, dt.date]:
        """The covered span as calendar dates: (1899-07-29, 2053-10-09) for DE421."""
        first = self.ts.tt_jd(self.start_jd + 0.01).utc_datetime().date()
        last = self.ts.tt_jd(self.end_jd + 0.01).utc_datetime().date()
        return first, last

    def check_range(self, jd_tt: float, what: str) -> None:
        """Raise :class:`EphemerisRangeError` naming the range if ``jd_tt`` is outside it."""
        slack = 0.01  # the span's calendar days are named in UTC; TT − UTC is up to a minute
        if not self.start_jd - slack <= jd_tt <= self.end_jd + slack:
            first, last = self.span
            when = self.utc(jd_tt).strftime("%Y-%m-%d %H:%M UTC")
            raise EphemerisRangeError(
                f"{what} ({when}) is outside the DE421 ephemeris range {first} to {last} "
                "(00:00 TDB at both ends)"
            )

    def jd_from_utc(self, when: dt.datetime) -> float:
        """JD TT of an aware datetime."""
        return float(self.ts.from_datetime(when.astimezone(dt.UTC)).tt)

    def utc(self, jd_tt: float) -> dt.datetime:
        """Aware UTC datetime of a JD TT."""
        return self.ts.tt_jd(jd_tt).utc_datetime()

    def delta_t(self, jd_tt: float) -> float:
        """TT − UT1 in seconds (Skyfield's built-in table)."""
        return float(self.ts.tt_jd(jd_tt).delta_t)

    # ------------------------------------------------------------------------ positions
    def _target(self, name: str):
        if name == "sun":
            return self.kernel["sun"]
        if name == "moon":
            return self.kernel["moon"]
        if name in PLANETS:
            return self.kernel[PLANETS[name]]
        if name in STARS:
            from skyfield.api import Star

            ra, dec = STARS[name]
            return Star(ra_hours=ra, dec_degrees=dec)
        raise ValueError(f"unknown body {name!r}; known: {', '.join(BODIES)}")

    def time(self, jd_tt: np.ndarray):
        """A Skyfield ``Time`` for TT Julian dates, with the IAU 2000B nutation (77 terms,
        within 1 mas of IAU 2000A and about 5x faster; 1 mas moves no event by a second)."""
        from skyfield.nutationlib import iau2000b_radians

        t = self.ts.tt_jd(np.atleast_1d(np.asarray(jd_tt, dtype=float)))
        t._nutation_angles_radians = iau2000b_radians(t)
        return t

    def apparent(self, name: str, jd_tt: np.ndarray) -> Position:
        """Apparent geocentric position of ``name`` at the TT Julian dates ``jd_tt``."""
        return self.apparent_set((name,), jd_tt)[name]

    def apparent_set(self, names: tuple[str, ...] | list[str],
                     jd_tt: np.ndarray) -> dict[str, Position]:
        """Apparent positions of several bodies at the same times, sharing the time scale,
        nutation, the Earth's position and the frame rotations between them."""
        from skyfield import framelib

        t = self.time(jd_tt)
        earth = self._earth.at(t)
        r_equ = framelib.true_equator_and_equinox_of_date.rotation_at(t)
        r_ecl = framelib.ecliptic_frame.rotation_at(t)
        out = {}
        for name in names:
            gcrs = earth.observe(self._target(name)).apparent().position.au
            ra, dec, r = _spherical(np.einsum("ijn,jn->in", r_equ, gcrs))
            lon, lat, _ = _spherical(np.einsum("ijn,jn->in", r_ecl, gcrs))
            out[name] = Position(ra=ra, dec=dec, lon=lon, lat=lat, distance=r)
        return out

    def apparent_many(self, names: np.ndarray, jd_tt: np.ndarray) -> Position:
        """Apparent position of ``names[i]`` at ``jd_tt[i]``: one ephemeris call per distinct
        body, so a batch of candidates of different bodies is refined together."""
        names = np.asarray(names)
        jd = np.asarray(jd_tt, dtype=float)
        fields = {k: np.empty(jd.size) for k in ("ra", "dec", "lon", "lat", "distance")}
        for name in np.unique(names):
            sel = names == name
            p = self.apparent(str(name), jd[sel])
            for k, arr in fields.items():
                arr[sel] = getattr(p, k)
        return Position(**fields)

    def astrometric_km(self, name: str, jd_tt: np.ndarray) -> np.ndarray:
        """Geocentric astrometric (light-time corrected) position vectors in km, shape (3, N)."""
        jd = np.atleast_1d(np.asarray(jd_tt, dtype=float))
        t = self.ts.tt_jd(jd)
        return self._earth.at(t).observe(self._target(name)).position.km

    def apparent_km(self, names: tuple[str, ...], jd_tt: np.ndarray) -> list[np.ndarray]:
        """Geocentric apparent position vectors (GCRS axes) in km, shape (3, N), of each of
        ``names`` (the Earth's position shared)."""
        earth = self._earth.at(self.time(jd_tt))
        return [earth.observe(self._target(n)).apparent().position.km for n in names]

    def geometric_km(self, name: str, jd_tt: np.ndarray) -> np.ndarray:
        """Geometric geocentric position vectors (both bodies at the same instant, no light
        time) in km, shape (3, N)."""
        t = self.ts.tt_jd(np.atleast_1d(np.asarray(jd_tt, dtype=float)))
        return self._target(name).at(t).position.km - self._earth.at(t).position.km

    def heliocentric_distance_au(self, jd_tt: np.ndarray) -> np.ndarray:
        """Geometric distance between the centres of the Sun and the Earth, AU."""
        jd = np.atleast_1d(np.asarray(jd_tt, dtype=float))
        t = self.ts.tt_jd(jd)
        d = self.kernel["earth"].at(t).position.au - self.kernel["sun"].at(t).position.au
        return np.sqrt((d * d).sum(axis=0))

    def sun_longitude_j2000(self, jd_tt: np.ndarray) -> np.ndarray:
        """Apparent geocentric ecliptic longitude of the Sun referred to the J2000 ecliptic and
        equinox (the convention of meteor-shower solar longitudes), degrees."""
        from skyfield.framelib import ecliptic_J2000_frame

        t = self.time(jd_tt)
        pos = self._earth.at(t).observe(self.kernel["sun"]).apparent()
        lon, _, _ = _spherical(pos.frame_xyz(ecliptic_J2000_frame).au)
        return lon
