"""A DASH MPD over the same CMAF segments the HLS playlists use: one encode, two
manifests (ISO/IEC 23009-1, the live profile's SegmentTemplate + SegmentTimeline)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from fractions import Fraction

from lumiere.media.commands import INIT_SEGMENT
from lumiere.media.packaging import MEDIA_TEMPLATE, PackagedTrack
from lumiere.media.subtitles import SubtitleTrack

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
LIVE_PROFILE = "urn:mpeg:dash:profile:isoff-live:2011"
CHANNEL_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
ROLE_SCHEME = "urn:mpeg:dash:role:2011"


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def _frame_rate(rate: float) -> str:
    """Integer rates as such; NTSC rates (stored rounded, 29.97) as their exact n/1001."""
    for denominator in (1, 1001):
        numerator = round(rate * denominator)
        if abs(numerator / denominator - rate) < 0.002:
            return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"
    return str(Fraction(rate).limit_denominator(1001))


def _segment_template(parent: ET.Element, track: PackagedTrack) -> None:
    template = ET.SubElement(
        parent,
        "SegmentTemplate",
        timescale=str(track.timescale),
        initialization=f"{track.dirname}/{INIT_SEGMENT}",
        media=f"{track.dirname}/{MEDIA_TEMPLATE}",
        startNumber="0",
    )
    timeline = ET.SubElement(template, "SegmentTimeline")
    for t, d, r in track.timeline:
        attrs = {"t": str(t), "d": str(d)}
        if r:
            attrs["r"] = str(r)
        ET.SubElement(timeline, "S", attrs)


def build_mpd(
    video: Sequence[PackagedTrack],
    audio: Sequence[PackagedTrack],
    segment_seconds: float,
    subtitles: Sequence[SubtitleTrack] = (),
) -> str:
    duration = max((t.duration for t in [*video, *audio]), default=0.0)
    ET.register_namespace("", MPD_NS)
    mpd = ET.Element(
        "MPD",
        xmlns=MPD_NS,
        profiles=LIVE_PROFILE,
        type="static",
        mediaPresentationDuration=_iso_duration(duration),
        minBufferTime=_iso_duration(segment_seconds),
    )
    period = ET.SubElement(mpd, "Period", id="0", start="PT0S")
    next_id = 0
    if video:
        ordered = sorted(video, key=lambda t: t.peak_bps)
        aset = ET.SubElement(
            period,
            "AdaptationSet",
            id=str(next_id),
            contentType="video",
            mimeType="video/mp4",
            segmentAlignment="true",
            startWithSAP="1",
            maxWidth=str(max(t.width or 0 for t in video)),
            maxHeight=str(max(t.height or 0 for t in video)),
        )
        next_id += 1
        for t in ordered:
            attrs = {
                "id": t.dirname,
                "codecs": t.codec,
                "bandwidth": str(t.peak_bps),
                "width": str(t.width),
                "height": str(t.height),
                "sar": "1:1",
            }
            if t.frame_rate:
                attrs["frameRate"] = _frame_rate(t.frame_rate)
            _segment_template(ET.SubElement(aset, "Representation", attrs), t)
    for t in sorted(audio, key=lambda t: not t.default):
        aset = ET.SubElement(
            period,
            "AdaptationSet",
            id=str(next_id),
            contentType="audio",
            mimeType="audio/mp4",
            lang=t.language or "und",
            segmentAlignment="true",
            startWithSAP="1",
        )
        next_id += 1
        ET.SubElement(
            aset, "Role", schemeIdUri=ROLE_SCHEME, value="main" if t.default else "alternate"
        )
        rep = ET.SubElement(
            aset,
            "Representation",
            id=t.dirname,
            codecs=t.codec,
            bandwidth=str(t.peak_bps),
            audioSamplingRate=str(t.sample_rate or t.timescale),
        )
        if t.channels:
            ET.SubElement(
                rep, "AudioChannelConfiguration", schemeIdUri=CHANNEL_SCHEME, value=str(t.channels)
            )
        _segment_template(rep, t)
    for s in subtitles:
        # A sidecar WebVTT file, the form dash.js and Shaka read for text tracks.
        aset = ET.SubElement(
            period,
            "AdaptationSet",
            id=str(next_id),
            contentType="text",
            mimeType="text/vtt",
            lang=s.language,
        )
        next_id += 1
        ET.SubElement(aset, "Role", schemeIdUri=ROLE_SCHEME, value="subtitle")
        rep = ET.SubElement(aset, "Representation", id=f"subs-{s.language}", bandwidth="256")
        ET.SubElement(rep, "BaseURL").text = s.vtt
    ET.indent(mpd)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(mpd, encoding="unicode") + "\n"
