"""Eclipses against Espenak's NASA catalogue (greatest eclipse, UT = TD − ΔT with ΔT ≈ 69 s
for 2020) and known types of 2021–2024."""

from __future__ import annotations

import datetime as dt

import pytest

from ._sky import of

UTC = dt.UTC
# Espenak's catalogue values for 2020: TD with its ΔT from the Besselian-element pages where
# given (Jan 10: 19:11:11 TD = 19:09:59 UT), otherwise UT (ΔT column 0).
CATALOGUE_2020 = [
    ("penumbral-lunar-eclipse", dt.datetime(2020, 1, 10, 19, 11, 11, tzinfo=UTC), 69.0),
    ("penumbral-lunar-eclipse", dt.datetime(2020, 6, 5, 19, 25, 2, tzinfo=UTC), 0.0),
    ("annular-solar-eclipse", dt.datetime(2020, 6, 21, 6, 41, 15, tzinfo=UTC), 69.4),
    ("penumbral-lunar-eclipse", dt.datetime(2020, 7, 5, 4, 30, 0, tzinfo=UTC), 0.0),
    # Known to the minute only (09:42 UT): the minute's middle, within the same 60 s limit.
    ("penumbral-lunar-eclipse", dt.datetime(2020, 11, 30, 9, 42, 30, tzinfo=UTC), 0.0),
    ("total-solar-eclipse", dt.datetime(2020, 12, 14, 16, 14, 39, tzinfo=UTC), 69.5),
]


def test_2020_eclipses_match_espenak(eph, year2020):
    events = of(year2020, "eclipses")
    assert [e.kind for e in events] == [k for k, _, _ in CATALOGUE_2020]
    for e, (_, when, delta_t) in zip(events, CATALOGUE_2020):
        ut = when - dt.timedelta(seconds=delta_t)  # TD -> UT (0 when given in UT)
        # 20 s for the instants known to the second (astrometric instead of apparent
        # vectors would be ~40 s late), 60 s for the one known to the minute.
        limit = 60 if ut.second == 30 else 20
        assert abs((eph.utc(e.jd) - ut).total_seconds()) < limit, (e.kind, eph.utc(e.jd), ut)
    solar = [e for e in events if "solar" in e.kind]
    assert [round(e.extra["gamma"], 3) for e in solar] == [0.121, 0.294]  # Espenak: γ


@pytest.mark.parametrize("day,kind", [
    (dt.date(2021, 5, 26), "total-lunar-eclipse"),
    (dt.date(2021, 11, 19), "partial-lunar-eclipse"),
    (dt.date(2022, 4, 30), "partial-solar-eclipse"),
    (dt.date(2023, 4, 20), "hybrid-solar-eclipse"),
    (dt.date(2023, 10, 14), "annular-solar-eclipse"),
    (dt.date(2024, 4, 8), "total-solar-eclipse"),
])
def test_known_eclipse_types(eph, day, kind):
    from kexue.astro.eclipses import eclipses

    start = eph.jd_from_utc(dt.datetime(day.year, day.month, day.day, tzinfo=UTC)) - 1
    found = eclipses(eph, start, start + 3)
    assert [e.kind for e in found] == [kind]
