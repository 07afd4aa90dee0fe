"""A DASH package against ISO/IEC 23009-1: the MPD's durations, templates, timelines and
declared values against the segments."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from lumiere.media.conformance.package import Package, Problem
from lumiere.media.isobmff import Fragment, TrackInfo

# mediaPresentationDuration vs the longest representation.
MPD_DURATION_SLACK_S = 0.5

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_TEMPLATE_VAR = re.compile(r"\$(RepresentationID|Number|Bandwidth|Time|)(?:%0(\d+)d)?\$")


def parse_iso_duration(text: str) -> float | None:
    """Seconds in an xs:duration limited to days and time (years/months are ambiguous)."""
    match = _ISO_DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def expand_template(template: str, values: dict[str, str | int]) -> str:
    """ISO/IEC 23009-1 5.3.9.4.4 identifier substitution ($$ is a literal $)."""

    def substitute(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if not name:
            return "$"
        value = values[name]
        return f"{int(value):0{int(width)}d}" if width else str(value)

    return _TEMPLATE_VAR.sub(substitute, template)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def check_dash(root: Path, mpd: str = "manifest.mpd", *, tolerance: float = 0.10) -> list[Problem]:
    """Every problem found in the DASH MPD under ``root``; [] means valid.

    ``tolerance`` bounds how far @bandwidth may fall below the measured average rate.
    """
    pkg = Package(root)
    if not (pkg.root / mpd).is_file():
        pkg.add(mpd, "missing-file", f"The MPD {mpd} does not exist.")
        return pkg.problems
    try:
        # Our own pipeline's output, read from local disk: no untrusted entity expansion.
        element = ET.parse(pkg.root / mpd).getroot()  # noqa: S314
    except (ET.ParseError, OSError) as e:
        pkg.add(mpd, "mpd-unparsable", f"The MPD is not well-formed XML: {e}.")
        return pkg.problems
    # ISO/IEC 23009-1 5.3.1.2: VOD is type="static" (the default when absent).
    if element.get("type", "static") != "static":
        pkg.add(mpd, "mpd-not-static", 'A VOD MPD must have type="static".')
    longest = 0.0
    for period in _children(element, "Period"):
        for adaptation in _children(period, "AdaptationSet"):
            for rep in _children(adaptation, "Representation"):
                if _inherited("mimeType", rep, adaptation) == "text/vtt":
                    _check_sidecar_text(pkg, mpd, rep)
                    continue
                seconds = _check_representation(pkg, mpd, adaptation, rep, tolerance)
                longest = max(longest, seconds)
    # ISO/IEC 23009-1 5.3.1.2: a static MPD without Period@duration needs
    # mediaPresentationDuration; it must match the media or the seek bar lies.
    declared = element.get("mediaPresentationDuration")
    seconds = parse_iso_duration(declared) if declared else None
    if declared is None:
        pkg.add(mpd, "mpd-missing-duration", "Add MPD@mediaPresentationDuration.")
    elif seconds is None:
        pkg.add(
            mpd,
            "mpd-bad-duration",
            f"mediaPresentationDuration {declared!r} is not an ISO 8601 duration such as PT6.000S.",
        )
    elif abs(seconds - longest) > MPD_DURATION_SLACK_S:
        pkg.add(
            mpd,
            "mpd-duration-mismatch",
            f"mediaPresentationDuration is {seconds:.3f} s "
            f"but the longest representation lasts {longest:.3f} s.",
        )
    return pkg.problems


def _check_sidecar_text(pkg: Package, mpd: str, rep: ET.Element) -> None:
    """A text track given as one whole WebVTT file (ISO/IEC 23009-1 5.3.9.1: a
    Representation with only a BaseURL is a single segment)."""
    base = _child(rep, "BaseURL")
    if base is None or not (base.text or "").strip():
        pkg.add(
            mpd, "dash-text-missing-url", f"Text Representation {rep.get('id')!r} needs a BaseURL."
        )
        return
    rel = pkg.resolve(mpd, base.text.strip(), mpd)
    if rel is not None:
        head = (pkg.root / rel).read_bytes()[:16].decode("utf-8", "replace")
        if not head.lstrip("\ufeff").startswith("WEBVTT"):
            pkg.add(mpd, "not-webvtt", f"{rel} is not a WebVTT file.")


def _inherited(name: str, *elements: ET.Element) -> str | None:
    """An attribute from the innermost element that has it (ISO/IEC 23009-1 5.3.7)."""
    return next((e.get(name) for e in elements if e.get(name) is not None), None)


def _check_representation(
    pkg: Package, mpd: str, adaptation: ET.Element, rep: ET.Element, tolerance: float
) -> float:
    """Check one Representation; return its duration in seconds."""
    rep_id = rep.get("id", "")
    label = f"Representation {rep_id!r}"
    bandwidth = rep.get("bandwidth", "")
    # ISO/IEC 23009-1 5.3.5.2: @bandwidth is mandatory and describes a real rate.
    if not bandwidth.isdigit() or int(bandwidth) <= 0:
        pkg.add(mpd, "dash-bad-bandwidth", f"{label} needs a positive @bandwidth.")
    # An Element with no children is falsy, so compare with None explicitly.
    template = _child(rep, "SegmentTemplate")
    if template is None:
        template = _child(adaptation, "SegmentTemplate")
    if template is None:
        pkg.add(mpd, "dash-missing-template", f"{label} has no SegmentTemplate.")
        return 0.0
    rate = int(bandwidth) if bandwidth.isdigit() else 0
    values: dict[str, str | int] = {"RepresentationID": rep_id, "Bandwidth": rate}
    init_rel = None
    if template.get("initialization"):
        init_uri = expand_template(template.get("initialization", ""), values)
        init_rel = pkg.resolve(mpd, init_uri, mpd)
    else:
        pkg.add(mpd, "dash-missing-init", f"{label} has no SegmentTemplate@initialization.")
    info = pkg.init(init_rel) if init_rel else None
    if info is not None:
        _check_dash_track(pkg, mpd, label, info, adaptation, rep)
    seconds, files = _check_timeline(pkg, mpd, label, template, values, info)
    if files is not None and init_rel is not None and seconds > 0 and rate > 0:
        # ISO/IEC 23009-1 5.3.5.2: @bandwidth is the rate of a constant-bit-rate channel
        # that plays the Representation after @minBufferTime; it cannot be below the
        # average rate, or ABR logic picks a Representation the network cannot carry.
        average = (pkg.size(init_rel) + sum(pkg.size(f) for f in files)) * 8 / seconds
        if rate < average * (1 - tolerance):
            pkg.add(
                mpd,
                "dash-bandwidth-too-low",
                f"{label} declares bandwidth={rate} but "
                f"its average rate is {math.ceil(average)} bit/s.",
            )
    return seconds


def _check_dash_track(
    pkg: Package,
    mpd: str,
    label: str,
    info: TrackInfo,
    adaptation: ET.Element,
    rep: ET.Element,
) -> None:
    # ISO/IEC 23009-1 5.3.7.2 / RFC 6381: @codecs names the exact sample entry.
    codecs = _inherited("codecs", rep, adaptation)
    if codecs is None or codecs.strip().lower() != info.codec.lower():
        pkg.add(
            mpd,
            "dash-codecs-mismatch",
            f"{label} declares codecs={codecs!r} but its init segment is {info.codec!r}.",
        )
    if info.width is None:
        return
    width, height = _inherited("width", rep, adaptation), _inherited("height", rep, adaptation)
    # DASH-IF IOP 3.2.4: video Representations carry @width and @height.
    if width is None or height is None:
        pkg.add(mpd, "dash-missing-dimensions", f"{label} needs @width and @height.")
    elif (width, height) != (str(info.width), str(info.height)):
        pkg.add(
            mpd,
            "dash-resolution-mismatch",
            f"{label} declares {width}x{height} but the video is {info.width}x{info.height}.",
        )


def _check_timeline(
    pkg: Package,
    mpd: str,
    label: str,
    template: ET.Element,
    values: dict[str, str | int],
    info: TrackInfo | None,
) -> tuple[float, list[str] | None]:
    """Check every timeline entry; return (duration in s, segment files or None if any
    is missing)."""
    timescale = int(template.get("timescale", "1"))
    number = int(template.get("startNumber", "1"))  # ISO/IEC 23009-1 5.3.9.5.3 default
    timeline = _child(template, "SegmentTimeline")
    media = template.get("media")
    if timeline is None or media is None:
        pkg.add(
            mpd,
            "dash-missing-timeline",
            f"{label} needs SegmentTemplate@media and a SegmentTimeline.",
        )
        return 0.0, None
    if info is not None and info.timescale != timescale:
        pkg.add(
            mpd,
            "dash-timescale-mismatch",
            f"{label} uses timescale {timescale} but its "
            f"track's is {info.timescale}; timeline values would be misread.",
        )
        info = None  # t/d comparisons below would all fail for the same reason
    total, t = 0, 0
    files: list[str] | None = []
    for s in _children(timeline, "S"):
        # ISO/IEC 23009-1 5.3.9.6: S@t defaults to the previous end; @r repeats.
        t = int(s.get("t", t))
        d = int(s.get("d", "0"))
        for _ in range(int(s.get("r", "0")) + 1):
            uri = expand_template(media, {**values, "Number": number, "Time": t})
            rel = pkg.resolve(mpd, uri, mpd)
            frag = pkg.fragment(rel) if rel else None
            if rel is None:
                files = None
            elif files is not None:
                files.append(rel)
            if frag is not None and info is not None:
                _compare_segment(pkg, mpd, label, rel or uri, t, d, frag)
            t, total, number = t + d, total + d, number + 1
    return (total / timescale if timescale else 0.0), files


def _compare_segment(
    pkg: Package, mpd: str, label: str, rel: str, t: int, d: int, frag: Fragment
) -> None:
    # ISO/IEC 23009-1 5.3.9.6 / DASH-IF IOP 3.2.7: S@t is the segment's earliest time and
    # must equal its tfdt, S@d its duration; otherwise seeking requests the wrong file.
    if t != frag.base_decode_time:
        pkg.add(
            mpd,
            "dash-timeline-time",
            f"{label}: S@t={t} for {rel} but its tfdt is {frag.base_decode_time}.",
        )
    if d != frag.duration:
        pkg.add(
            mpd,
            "dash-timeline-duration",
            f"{label}: S@d={d} for {rel} but the segment lasts {frag.duration}.",
        )
