"""Planetary phenomena against pymeeus's VSOP87 positions (Meeus ch. 32–33): each event
function, evaluated with the independent theory, must change sign (crossing) or peak
(extremum) within a few minutes of the DE421 instant."""

from __future__ import annotations

from ._sky import meeus_ecliptic_longitude, meeus_position, meeus_sun, of, sep, wrap

TOL = 5.0 / 1440  # days


def _dlon(planet: str, jd: float, offset: float) -> float:
    return wrap(meeus_ecliptic_longitude(planet, jd) - meeus_sun(jd)[2] - offset)


def _crosses(planet: str, jd: float, offset: float) -> bool:
    return (_dlon(planet, jd - TOL, offset) > 0) != (_dlon(planet, jd + TOL, offset) > 0)


def test_oppositions_and_solar_conjunctions(year2020):
    opp, conj = of(year2020, "oppositions"), of(year2020, "outer-conjunctions")
    assert sorted(e.bodies[0] for e in opp) == ["jupiter", "mars", "neptune", "saturn",
                                                 "uranus"]
    assert sorted(e.bodies[0] for e in conj) == ["neptune", "saturn", "uranus"]
    for e in opp:
        assert _crosses(e.bodies[0], e.jd, 180.0), e
    for e in conj:
        assert _crosses(e.bodies[0], e.jd, 0.0), e


def test_inner_conjunctions(year2020):
    events = of(year2020, "inner-conjunctions")
    assert len(events) == 8
    for e in events:
        assert _crosses(e.bodies[0], e.jd, 0.0), e
        # Inferior: the planet is nearer than the Sun, so it moves westward relative to it.
        westward = _dlon(e.bodies[0], e.jd + 1, 0.0) < _dlon(e.bodies[0], e.jd - 1, 0.0)
        assert westward == (e.kind == "inferior-conjunction"), e


def _elongation(planet: str, jd: float) -> float:
    return sep(meeus_position(planet, jd), meeus_position("sun", jd))


def test_greatest_elongations(year2020):
    events = of(year2020, "elongations")
    assert len(events) == 8
    for e in events:
        p = e.bodies[0]
        here = _elongation(p, e.jd)
        assert abs(here - e.value) < 0.01, (e, here)
        # A maximum of the independent elongation too (12 h either side is lower).
        assert here > _elongation(p, e.jd - 0.5) and here > _elongation(p, e.jd + 0.5), e
        east = _dlon(p, e.jd, 0.0) > 0
        assert e.direction == ("E" if east else "W")


def test_venus_monthly_line(year2020):
    events = of(year2020, "venus")
    assert [int(e.extra["date"][5:7]) for e in events] == list(range(1, 13))
    assert all(not e.timed and e.extra["date"].endswith("-01") for e in events)
    for e in events:
        assert abs(_elongation("venus", e.jd) - e.value) < 0.01, e
