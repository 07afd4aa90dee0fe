"""The HLS multivariant (master) playlist, from measured tracks.

The master is the last object published for an asset, so it only ever points at
renditions that are already complete. Values follow RFC 8216 and Apple's HLS authoring
specification: BANDWIDTH is the peak segment bit rate of the video plus the largest
audio rendition it can be played with; CODECS are read from the init segments.
"""

from __future__ import annotations

from collections.abc import Sequence

from lumiere.media.packaging import PackagedTrack
from lumiere.media.subtitles import SUBTITLE_GROUP, SubtitleTrack

AUDIO_GROUP = "aud"


def _quoted(value: str) -> str:
    return '"' + value.replace('"', "'") + '"'


def _media_line(track: PackagedTrack) -> str:
    attrs = [
        "TYPE=AUDIO",
        f"GROUP-ID={_quoted(AUDIO_GROUP)}",
        f"NAME={_quoted(track.name or track.dirname)}",
    ]
    # "und" (undetermined) is itself a valid tag, and players sort and label by it.
    attrs.append(f"LANGUAGE={_quoted(track.language or 'und')}")
    attrs.append(f"DEFAULT={'YES' if track.default else 'NO'}")
    attrs.append("AUTOSELECT=YES")
    if track.channels:
        attrs.append(f"CHANNELS={_quoted(str(track.channels))}")
    attrs.append(f"URI={_quoted(track.playlist_uri)}")
    return "#EXT-X-MEDIA:" + ",".join(attrs)


def _subtitle_line(track: SubtitleTrack) -> str:
    # Machine captions are offered, never forced on: DEFAULT=NO, but AUTOSELECT lets a
    # player pick them when the viewer's settings ask for captions in that language.
    attrs = [
        "TYPE=SUBTITLES",
        f"GROUP-ID={_quoted(SUBTITLE_GROUP)}",
        f"NAME={_quoted(track.name)}",
        f"LANGUAGE={_quoted(track.language)}",
        "DEFAULT=NO",
        "AUTOSELECT=YES",
        "FORCED=NO",
        f"URI={_quoted(track.playlist)}",
    ]
    return "#EXT-X-MEDIA:" + ",".join(attrs)


def build_master_playlist(
    video: Sequence[PackagedTrack],
    audio: Sequence[PackagedTrack],
    subtitles: Sequence[SubtitleTrack] = (),
    *,
    iframes: bool = True,
) -> str:
    """Video variants highest first, each referring to the audio group (and the subtitle
    group, when there are captions); an audio-only asset gets one variant (the default
    track) with the others as alternatives. ``iframes=False`` leaves the I-frame
    playlists out (they cannot address whole-encrypted segments)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    audio = sorted(audio, key=lambda t: not t.default)
    lines += [_media_line(t) for t in audio]
    lines += [_subtitle_line(t) for t in subtitles]
    audio_peak = max((t.peak_bps for t in audio), default=0)
    audio_avg = max((t.average_bps for t in audio), default=0)
    audio_codecs = sorted({t.codec for t in audio})
    group = f",AUDIO={_quoted(AUDIO_GROUP)}" if audio else ""
    if subtitles:
        group += f",SUBTITLES={_quoted(SUBTITLE_GROUP)}"
    for v in sorted(video, key=lambda t: t.peak_bps, reverse=True):
        attrs = [
            f"BANDWIDTH={v.peak_bps + audio_peak}",
            f"AVERAGE-BANDWIDTH={v.average_bps + audio_avg}",
            f"CODECS={_quoted(','.join([v.codec, *audio_codecs]))}",
            f"RESOLUTION={v.width}x{v.height}",
        ]
        if v.frame_rate:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs) + group, v.playlist_uri]
    if not video and audio:
        default = audio[0]
        attrs = [
            f"BANDWIDTH={audio_peak}",
            f"AVERAGE-BANDWIDTH={audio_avg}",
            f"CODECS={_quoted(','.join(audio_codecs))}",
        ]
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs) + group, default.playlist_uri]
    for v in sorted(video, key=lambda t: t.peak_bps, reverse=True):
        if v.iframe_peak_bps and iframes:
            attrs = [
                f"BANDWIDTH={v.iframe_peak_bps}",
                f"AVERAGE-BANDWIDTH={v.iframe_average_bps or v.iframe_peak_bps}",
                f"CODECS={_quoted(v.codec)}",
                f"RESOLUTION={v.width}x{v.height}",
                f"URI={_quoted(v.iframe_uri)}",
            ]
            lines.append("#EXT-X-I-FRAME-STREAM-INF:" + ",".join(attrs))
    return "\n".join(lines) + "\n"
