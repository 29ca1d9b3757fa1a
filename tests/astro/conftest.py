"""Shared fixtures for kexue.astro: one ephemeris, the computed 2020 year (UTC), the blog's
2020 list (archive 7144, stored as facts in data/skycal_2020.tsv) and pymeeus helpers."""

from __future__ import annotations

import datetime as dt

import pytest

from ._sky import BEIJING, read_blog_2020


@pytest.fixture(scope="session")
def eph():
    from kexue.astro.ephemeris import Ephemeris

    return Ephemeris()


@pytest.fixture(scope="session")
def year2020(eph):
    """Every event of 2020 (Beijing dates), computed once for the whole session."""
    from kexue.astro.calendar import compute

    return compute(eph, dt.date(2020, 1, 1), dt.date(2020, 12, 31), BEIJING)


@pytest.fixture(scope="session")
def blog2020():
    return read_blog_2020()
