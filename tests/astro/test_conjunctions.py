"""Moon conjunctions and appulses against pymeeus (ELP/VSOP87 positions, Meeus's ch. 21
precession for the stars)."""

from __future__ import annotations

from ._sky import meeus_position, of, sep, wrap

TOL = 5.0 / 1440


def test_moon_conjunctions_in_right_ascension(year2020):
    events = of(year2020, "moon-conjunctions")
    assert len(events) > 40
    for e in events:
        body = e.bodies[0]

        def dra(t, body=body):
            return wrap(meeus_position("moon", t)[0] - meeus_position(body, t)[0])

        assert dra(e.jd - TOL) < 0 < dra(e.jd + TOL), e
        offset = meeus_position(body, e.jd)[1] - meeus_position("moon", e.jd)[1]
        assert abs(abs(offset) - e.value) < 0.02, (e, offset)
        assert e.direction == ("" if round(e.value, 1) == 0 else ("N" if offset > 0 else "S"))


def test_appulses_are_minima_of_the_independent_separation(year2020):
    events = of(year2020, "appulses")
    assert len(events) >= 10
    for e in events:
        a, b = e.bodies

        def s(t, a=a, b=b):
            return sep(meeus_position(a, t), meeus_position(b, t))

        here = s(e.jd)
        assert abs(here - e.value) < 0.02, (e, here)
        assert here < s(e.jd - 0.25) and here < s(e.jd + 0.25), e
