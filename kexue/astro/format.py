"""Output formats: the blog's Chinese text layout, English text, JSON, CSV and iCalendar.

Text (archive 7144's layout): a title, the header ``月　日　星期　时刻　天象``, one section per
month headed ``一月`` … ``十二月``, and one line per event::

    DD\\u00a0\\u3000W\\u3000HH:MM:00\\u3000事件: 数值

with ``W`` the weekday as a Chinese numeral (``日`` = Sunday), minute precision (seconds always
``00``, as in the blog), and the time left empty for the untimed Venus line
(``01 　三　　金星: 34.6° E``). Values: distances in km rounded to 100 km, AU to 4 decimals,
degrees to 0.1° with a trailing ``.0`` dropped (``1° S``, ``38° E``), ``ZHR = 120``.
The blog's scraped text sometimes has U+00A0 inside values; that is an artefact and is not
reproduced. English text has the same structure with English labels and ``HH:MM``.

iCalendar (RFC 5545): one ``VEVENT`` per event with a UTC ``DTSTART`` (an all-day
``DTSTART;VALUE=DATE`` for an untimed line), a stable ``UID``, CRLF line ends, lines folded at
75 octets and text escaped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from kexue.astro.calendar import local_day, utc_minute
from kexue.astro.ephemeris import Ephemeris
from kexue.astro.events import Event
from kexue.astro.showers import SHOWERS

__all__ = ["FORMATS", "label", "render", "value_text"]

FORMATS = ("text", "json", "csv", "ics")

NAMES = {
    "zh": {"sun": "太阳", "moon": "月", "earth": "地球", "mercury": "水星", "venus": "金星",
           "mars": "火星", "jupiter": "木星", "saturn": "土星", "uranus": "天王星",
           "neptune": "海王星", "antares": "心宿二", "aldebaran": "毕宿五", "pollux": "北河三",
           "spica": "角宿一", "regulus": "轩辕十四", "pleiades": "昴星团", "beehive": "蜂巢星团"},
    "en": {"sun": "Sun", "moon": "Moon", "earth": "Earth", "mercury": "Mercury",
           "venus": "Venus", "mars": "Mars", "jupiter": "Jupiter", "saturn": "Saturn",
           "uranus": "Uranus", "neptune": "Neptune", "antares": "Antares",
           "aldebaran": "Aldebaran", "pollux": "Pollux", "spica": "Spica", "regulus": "Regulus",
           "pleiades": "the Pleiades", "beehive": "the Beehive cluster"},
}
FIXED = {
    "new-moon": ("新月", "New Moon"),
    "first-quarter": ("上弦月", "First Quarter Moon"),
    "full-moon": ("满月", "Full Moon"),
    "last-quarter": ("下弦月", "Last Quarter Moon"),
    "perigee": ("月球过近地点", "Moon at perigee"),
    "apogee": ("月球过远地点", "Moon at apogee"),
    "ascending-node": ("月球过升交点", "Moon at ascending node"),
    "descending-node": ("月球过降交点", "Moon at descending node"),
    "north-declination": ("月球达月亮赤纬北点", "Moon at extreme north declination"),
    "south-declination": ("月球达月亮赤纬南点", "Moon at extreme south declination"),
    "penumbral-lunar-eclipse": ("半影月食", "Penumbral lunar eclipse"),
    "partial-lunar-eclipse": ("月偏食", "Partial lunar eclipse"),
    "total-lunar-eclipse": ("月全食", "Total lunar eclipse"),
    "partial-solar-eclipse": ("日偏食", "Partial solar eclipse"),
    "annular-solar-eclipse": ("日环食", "Annular solar eclipse"),
    "total-solar-eclipse": ("日全食", "Total solar eclipse"),
    "hybrid-solar-eclipse": ("日全环食", "Hybrid solar eclipse"),
    "march-equinox": ("春分", "March equinox"),
    "june-solstice": ("夏至", "June solstice"),
    "september-equinox": ("秋分", "September equinox"),
    "december-solstice": ("冬至", "December solstice"),
    "perihelion": ("地球过近日点", "Earth at perihelion"),
    "aphelion": ("地球过远日点", "Earth at aphelion"),
}
PATTERNS = {
    "greatest-elongation": ("{0}大距", "{0} at greatest elongation"),
    "inferior-conjunction": ("{0}下合", "{0} at inferior conjunction"),
    "superior-conjunction": ("{0}上合", "{0} at superior conjunction"),
    "opposition": ("{0}冲日", "{0} at opposition"),
    "solar-conjunction": ("{0}合日", "{0} in conjunction with the Sun"),
    "moon-conjunction": ("{0}合月", "Moon–{0} conjunction"),
    "appulse": ("{0}合{1}", "{0}–{1} conjunction"),
    "venus-elongation": ("{0}", "{0} elongation"),
}
MONTHS = {"zh": ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月",
                 "十一月", "十二月"],
          "en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"]}
WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
SHOWER_NAMES = {s.key: (s.zh, s.en) for s in SHOWERS}


def label(event: Event, lang: str = "zh") -> str:
    """The event's name in ``lang`` ("zh" or "en")."""
    k = 0 if lang == "zh" else 1
    if event.kind in FIXED:
        return FIXED[event.kind][k]
    if event.kind == "meteor-shower":
        return SHOWER_NAMES[event.bodies[0]][k]
    names = [NAMES[lang][b] for b in event.bodies]
    if lang == "en":
        names = [n[0].upper() + n[1:] for n in names]
    return PATTERNS[event.kind][k].format(*names)


def _trim(x: float, digits: int = 1) -> str:
    text = f"{round(x, digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def value_text(event: Event) -> str:
    """The value as the blog prints it, or "" when the event has none."""
    if event.value is None:
        return ""
    if event.unit == "km":
        return f"{int(round(event.value / 100.0)) * 100} km"
    if event.unit == "AU":
        return f"{event.value:.4f} AU"
    if event.unit == "ZHR":
        return f"ZHR = {int(event.value)}"
    text = _trim(event.value) + "°"
    return f"{text} {event.direction}" if event.direction else text


def _rows(events: list[Event], eph: Ephemeris, zone: dt.tzinfo, lang: str):
    for e in events:
        yield e, local_day(e, eph, zone), label(e, lang), value_text(e)


def _zone_name(zone: dt.tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def _text(events, eph, zone, lang, title) -> str:
    lines = []
    zname = _zone_name(zone)
    if lang == "zh":
        where = "北京时间" if zname == "Asia/Shanghai" else f"时区 {zname}"
        head = f"{title}（{where}）" if title else f"（{where}）"
        lines += [head, "", "月　日　星期　时刻　天象"]
    else:
        lines += [f"{title} (times in {zname})" if title else f"(times in {zname})", "",
                  "Day Weekday Time  Event"]
    month = None
    for e, when, name, value in _rows(events, eph, zone, lang):
        if (when.year, when.month) != month:
            month = (when.year, when.month)
            head = MONTHS[lang][when.month - 1]
            lines += ["", head if lang == "zh" else f"{head} {when.year}"]
        text = f"{name}: {value}" if value else name
        wd = WEEKDAYS[lang][when.weekday()]
        if lang == "zh":
            clock = when.strftime("%H:%M:00") if e.timed else ""
            lines.append(f"{when.day:02d}\u00a0\u3000{wd}\u3000{clock}\u3000{text}")
        else:
            clock = when.strftime("%H:%M") if e.timed else "     "
            lines.append(f"{when.day:02d} {wd} {clock}  {text}")
    if not events:
        lines += ["", "（无）" if lang == "zh" else "(no events)"]
    return "\n".join(lines) + "\n"


def _record(e: Event, eph: Ephemeris, when: dt.datetime, name_zh: str, name_en: str,
            value: str) -> dict:
    return {
        "local": when.isoformat() if e.timed else when.date().isoformat(),
        "utc": eph.utc(e.jd).strftime("%Y-%m-%dT%H:%M:%SZ") if e.timed else None,
        "tt_jd": round(e.jd, 6) if e.timed else None,
        "timed": e.timed,
        "category": e.category,
        "kind": e.kind,
        "bodies": list(e.bodies),
        "label_zh": name_zh,
        "label_en": name_en,
        "value": None if e.value is None else round(e.value, 6),
        "unit": e.unit or None,
        "direction": e.direction or None,
        "value_text": value or None,
        **({"details": e.extra} if e.extra and e.timed else {}),
    }


def _json(events, eph, zone) -> str:
    out = [_record(e, eph, when, label(e, "zh"), label(e, "en"), value)
           for e, when, _, value in _rows(events, eph, zone, "zh")]
    return json.dumps({"time_zone": _zone_name(zone), "events": out}, ensure_ascii=False,
                      indent=1) + "\n"


def _csv(events, eph, zone) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", "time", "time_zone", "utc", "category", "kind", "label_zh", "label_en",
                "value", "unit", "direction"])
    for e, when, _, _ in _rows(events, eph, zone, "zh"):
        w.writerow([when.date().isoformat(), when.strftime("%H:%M") if e.timed else "",
                    _zone_name(zone),
                    eph.utc(e.jd).strftime("%Y-%m-%dT%H:%M:%SZ") if e.timed else "",
                    e.category, e.kind, label(e, "zh"), label(e, "en"),
                    "" if e.value is None else round(e.value, 6), e.unit, e.direction])
    return buf.getvalue()


def _ics_escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _fold(line: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets continue on lines starting with a space."""
    out, cur, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > (75 if not out else 74):
            out.append(cur)
            cur, size = "", 0
        cur += ch
        size += n
    out.append(cur)
    return [out[0], *(" " + part for part in out[1:])]


def _ics(events, eph, zone, lang, stamp: dt.datetime) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kexue//kexue sky//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "X-WR-CALNAME:" + ("天象" if lang == "zh" else "Sky events")]
    stamp_text = stamp.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for e, when, name, value in _rows(events, eph, zone, lang):
        summary = f"{name}: {value}" if value else name
        utc = utc_minute(e, eph)
        uid_time = utc.strftime("%Y%m%dT%H%MZ") if e.timed else when.strftime("%Y%m%d")
        uid = f"{e.kind}-{'-'.join(e.bodies)}-{uid_time}@kexue-sky"
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp_text}"]
        if e.timed:
            lines.append("DTSTART:" + utc.strftime("%Y%m%dT%H%M00Z"))
        else:
            day = when.date()
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                      f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}"]
        lines += [f"SUMMARY:{_ics_escape(summary)}", f"CATEGORIES:{_ics_escape(e.category)}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


def render(events: list[Event], eph: Ephemeris, zone: dt.tzinfo, fmt: str = "text",
           lang: str = "zh", title: str = "", stamp: dt.datetime | None = None) -> str:
    """The events as ``fmt`` ("text", "json", "csv" or "ics") in ``zone``; ``lang`` ("zh" or
    "en") applies to text and iCalendar; ``stamp`` is the iCalendar DTSTAMP (default: now)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r}; valid: zh, en")
    if fmt == "text":
        return _text(events, eph, zone, lang, title)
    if fmt == "json":
        return _json(events, eph, zone)
    if fmt == "csv":
        return _csv(events, eph, zone)
    if fmt == "ics":
        return _ics(events, eph, zone, lang, stamp or dt.datetime.now(dt.UTC))
    raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
