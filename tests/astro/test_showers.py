"""The meteor-shower table: peaks at the tabulated J2000 solar longitude, checked with Meeus's
Sun (VSOP87) and ecliptic precession (ch. 21), and the 2020 edition's ZHR."""

from __future__ import annotations

from pymeeus.Angle import Angle
from pymeeus.Coordinates import nutation_longitude, precession_ecliptical
from pymeeus.Epoch import JDE2000, Epoch

from kexue.astro.showers import SHOWERS

from ._sky import meeus_sun, of, wrap

ZHR_2020 = {"quadrantids": 120, "lyrids": 20, "eta-aquariids": 60, "delta-aquariids": 20,
            "perseids": 90, "orionids": 20, "southern-taurids": 10, "northern-taurids": 15,
            "leonids": 15, "geminids": 120, "ursids": 10}


def test_table_matches_the_2020_edition():
    assert {s.key: s.zhr for s in SHOWERS} == ZHR_2020


def test_peaks_at_the_tabulated_solar_longitude(year2020):
    events = of(year2020, "showers")
    assert sorted(e.bodies[0] for e in events) == sorted(ZHR_2020)
    table = {s.key: s.solar_longitude for s in SHOWERS}
    for e in events:
        _, _, lon, lat = meeus_sun(e.jd)
        mean = Angle(lon - nutation_longitude(Epoch(e.jd))())  # remove nutation, then precess
        lon2000, _ = precession_ecliptical(Epoch(e.jd), JDE2000, mean, Angle(lat))
        assert abs(wrap(lon2000() - table[e.bodies[0]])) < 0.003, e  # ~4 minutes of the Sun
        assert e.value == ZHR_2020[e.bodies[0]]
