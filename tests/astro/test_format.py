"""Output formats: the blog's text layout, JSON, CSV, and iCalendar validated by the
``icalendar`` parser."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import icalendar

from kexue.astro.calendar import parse_zone
from kexue.astro.format import render, value_text

from ._sky import BEIJING, of

STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_text_is_the_blog_layout(eph, year2020):
    text = render(year2020, eph, BEIJING, "text", "zh", "2020年全年天象")
    lines = text.splitlines()
    assert lines[0] == "2020年全年天象（北京时间）"
    assert "月　日　星期　时刻　天象" in lines
    heads = [x for x in lines if x in ("一月", "二月", "三月", "四月", "五月", "六月", "七月",
                                       "八月", "九月", "十月", "十一月", "十二月")]
    assert len(heads) == 12
    assert "03\u00a0\u3000五\u300012:45:00\u3000上弦月" in lines  # 2020-01-03, blog: 12:45
    assert "01\u00a0\u3000三\u3000\u3000金星: 34.5° E" in lines  # untimed Venus line
    assert "05\u00a0\u3000日\u300015:48:00\u3000地球过近日点: 0.9832 AU" in lines
    assert "21\u00a0\u3000日\u300014:40:00\u3000日环食" in lines  # blog: 14:40


def test_value_formats(year2020):
    texts = {value_text(e) for e in year2020}
    assert "ZHR = 120" in texts and "1.0167 AU" in texts
    assert any(t.endswith(" km") and t[:-3].endswith("00") for t in texts)
    apsides = of(year2020, "lunar-apsides")
    assert value_text(apsides[0]) == "404600 km"  # blog: 404600 km
    assert value_text(of(year2020, "lunar-declination")[0]) == "23.2° N"


def test_english_and_other_zone(eph, year2020):
    text = render(of(year2020, "eclipses"), eph, parse_zone("Europe/London"), "text", "en",
                  "Sky events 2020")
    assert "December 2020" in text and "14 Mon 16:14  Total solar eclipse" in text


def test_json_and_csv(eph, year2020):
    data = json.loads(render(year2020, eph, BEIJING, "json"))
    assert data["time_zone"] == "Asia/Shanghai" and len(data["events"]) == len(year2020)
    first = data["events"][1]
    assert first["label_en"] == "Moon at apogee" and first["unit"] == "km"
    rows = list(csv.DictReader(io.StringIO(render(year2020, eph, BEIJING, "csv"))))
    assert len(rows) == len(year2020) and rows[2]["kind"] == "first-quarter"
    assert rows[2]["utc"].startswith("2020-01-03T04:45")  # blog: 12:45 Beijing time


def test_ics_parses_with_icalendar(eph, year2020):
    text = render(year2020, eph, BEIJING, "ics", "zh", stamp=STAMP)
    assert "\r\n" in text and all(len(x.encode()) <= 75 for x in text.split("\r\n"))
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == len(year2020)
    assert len({str(e["UID"]) for e in events}) == len(events)
    timed = [e for e in events if isinstance(e.decoded("DTSTART"), dt.datetime)]
    assert len(timed) == len(year2020) - 12  # the twelve untimed Venus lines are all-day
    ecl = [e for e in events if str(e["SUMMARY"]) == "日全食"][0]
    assert ecl.decoded("DTSTART") == dt.datetime(2020, 12, 14, 16, 14, tzinfo=dt.UTC)
    venus = [e for e in events if str(e["SUMMARY"]).startswith("金星: ")][0]
    assert venus.decoded("DTSTART") == dt.date(2020, 1, 1)
    assert cal.errors == [] if hasattr(cal, "errors") else True


def test_ics_folding_and_escaping():
    from kexue.astro.format import _fold, _ics_escape

    line = "SUMMARY:" + "月球达月亮赤纬北点" * 5
    parts = _fold(line)
    assert len(parts) > 1 and all(len(p.encode()) <= 75 for p in parts)
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line  # unfolds to the original
    assert all(p.startswith(" ") for p in parts[1:])
    assert _ics_escape("a,b;c\\d") == "a\\,b\\;c\\\\d"
