"""Equinoxes, solstices, perihelion and aphelion against Meeus (ch. 27 and 38, via pymeeus)."""

from __future__ import annotations

from pymeeus.Earth import Earth
from pymeeus.Sun import Sun

from ._sky import minutes, nearest_meeus, of

TARGET = {"march-equinox": "spring", "june-solstice": "summer",
          "september-equinox": "autumn", "december-solstice": "winter"}


def test_seasons_match_meeus_within_2_minutes(year2020):
    seasons = of(year2020, "seasons")
    assert [e.kind for e in seasons] == list(TARGET)
    for e in seasons:
        jde = Sun.get_equinox_solstice(2020, TARGET[e.kind]).jde()
        assert minutes(e.jd, jde) < 2.0, (e.kind, minutes(e.jd, jde))


def test_earth_apsides_match_meeus(year2020):
    """Meeus ch. 38 (with its Moon corrections) gives the Earth's own apsides: within 10 min
    of the DE421 Earth–Sun distance extremes (measured 2.4 min in 2020)."""
    apsides = of(year2020, "earth-apsides")
    assert [e.kind for e in apsides] == ["perihelion", "aphelion"]
    for e in apsides:
        jde = nearest_meeus(Earth.perihelion_aphelion, e.jd, e.kind == "perihelion")
        assert minutes(e.jd, jde) < 10.0, (e.kind, minutes(e.jd, jde))
    assert round(apsides[0].value, 4) == 0.9832 and round(apsides[1].value, 4) == 1.0167


def test_seasons_2037_and_1950():
    """Years far from 2020 (DE421 covers 1899-2053)."""
    import datetime as dt

    from kexue.astro.calendar import compute, parse_zone
    from kexue.astro.ephemeris import Ephemeris

    eph = Ephemeris()
    for year in (1950, 2037):
        events = compute(eph, dt.date(year, 1, 1), dt.date(year, 12, 31), parse_zone("UTC"),
                         ["seasons"])
        assert [e.kind for e in events] == list(TARGET)
        for e in events:
            jde = Sun.get_equinox_solstice(year, TARGET[e.kind]).jde()
            assert minutes(e.jd, jde) < 2.0, (year, e.kind, minutes(e.jd, jde))
