"""Lunar events against Meeus's closed-form algorithms (pymeeus, ELP-based series written from
*Astronomical Algorithms* ch. 49–52), an independent theory from DE421."""

from __future__ import annotations

import numpy as np
from pymeeus.Moon import Moon

from ._sky import minutes, nearest_meeus, nearest_meeus_result, of

PHASE_TARGET = {"new-moon": "new", "first-quarter": "first", "full-moon": "full",
                "last-quarter": "last"}


def test_phases_match_meeus_within_2_minutes(year2020):
    phases = of(year2020, "phases")
    assert len(phases) == 50  # 2020: 12 or 13 of each quarter, Beijing calendar year
    worst = max(minutes(e.jd, nearest_meeus(Moon.moon_phase, e.jd, PHASE_TARGET[e.kind]))
                for e in phases)
    assert worst < 2.0, worst
    # Consecutive phases are a quarter of a synodic month apart, cycling in order.
    kinds = [e.kind for e in sorted(phases, key=lambda e: e.jd)]
    order = list(PHASE_TARGET)
    assert all(order.index(b) == (order.index(a) + 1) % 4 for a, b in zip(kinds, kinds[1:]))


def test_apsides_match_meeus(year2020):
    """Meeus ch. 50's truncated series: perigee times within 31 min (its stated bound), apogee
    times within 10 min (2020: 11.5 and 5.0 min measured), distances within 50 km."""
    for e in of(year2020, "lunar-apsides"):
        jde, r = nearest_meeus_result(Moon.moon_perigee_apogee, e.jd, e.kind)
        limit = 31.0 if e.kind == "perigee" else 10.0
        assert minutes(e.jd, jde) < limit, (e, minutes(e.jd, jde))
        dist = 6378.14 / np.sin(np.radians(r[1]()))
        assert abs(dist - e.value) < 50.0, (e, dist)
        assert 356_000 < e.value < 407_000


def test_nodes_match_meeus_within_2_minutes(year2020):
    nodes = of(year2020, "lunar-nodes")
    assert len(nodes) == 27
    for e in nodes:
        jde = nearest_meeus(Moon.moon_passage_nodes, e.jd, e.kind.split("-")[0])
        assert minutes(e.jd, jde) < 2.0, (e, minutes(e.jd, jde))


def test_declination_extremes_match_meeus(year2020):
    """The extremum is flat: times within 10 minutes, values within 0.01°."""
    for e in of(year2020, "lunar-declination"):
        target = "northern" if e.kind == "north-declination" else "southern"
        jde, (_, dec) = nearest_meeus_result(Moon.moon_maximum_declination, e.jd, target)
        assert minutes(e.jd, jde) < 10.0, (e, minutes(e.jd, jde))
        assert abs(abs(dec()) - e.value) < 0.01
        assert e.direction == ("N" if target == "northern" else "S")


def test_another_year_phases_and_nodes_match_meeus(eph):
    """2037 (a year in no list we hold): the same agreement as 2020."""
    import datetime as dt

    from kexue.astro.calendar import compute, parse_zone

    events = compute(eph, dt.date(2037, 1, 1), dt.date(2037, 12, 31), parse_zone("UTC"),
                     ["phases", "lunar-nodes"])
    assert len(of(events, "phases")) >= 49 and len(of(events, "lunar-nodes")) >= 26
    for e in events:
        if e.category == "phases":
            jde = nearest_meeus(Moon.moon_phase, e.jd, PHASE_TARGET[e.kind])
        else:
            jde = nearest_meeus(Moon.moon_passage_nodes, e.jd, e.kind.split("-")[0])
        assert minutes(e.jd, jde) < 2.0, (e, minutes(e.jd, jde))
