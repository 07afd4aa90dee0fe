"""HLS media playlists: parsed, and checked against RFC 8216 and the segments they name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lumiere.media.conformance.package import (
    TIMING_SLACK_S,
    Package,
    parse_attributes,
    split_tag,
)
from lumiere.media.isobmff import TrackInfo


@dataclass
class Segment:
    uri: str  # as written
    path: str | None  # root-relative, None when unusable
    duration: float
    byterange: tuple[int, int] | None = None  # (length, offset)


@dataclass
class MediaPlaylist:
    rel: str
    version: int | None = None
    target_duration: int | None = None
    playlist_type: str | None = None
    endlist: bool = False
    iframes_only: bool = False
    map_path: str | None = None
    has_map: bool = False
    segments: list[Segment] = field(default_factory=list)
    complete: bool = True  # every segment file exists, so measurements are meaningful

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


def _parse_byterange(value: str) -> tuple[int, int | None]:
    length, _, offset = value.partition("@")
    return int(length), int(offset) if offset else None


def read_lines(pkg: Package, rel: str) -> list[str] | None:
    try:
        text = (pkg.root / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        pkg.add(rel, "unreadable-playlist", f"Cannot read the playlist as UTF-8: {e}.")
        return None
    lines = [line.strip() for line in text.splitlines()]
    # RFC 8216 4.3.1.1: the first line of every playlist MUST be #EXTM3U.
    if not lines or lines[0] != "#EXTM3U":
        pkg.add(rel, "missing-extm3u", "The first line must be #EXTM3U.")
    return [line for line in lines if line]


def parse_media_playlist(pkg: Package, rel: str) -> MediaPlaylist | None:
    lines = read_lines(pkg, rel)
    if lines is None:
        return None
    pl = MediaPlaylist(rel)
    duration: float | None = None
    byterange: tuple[int, int] | None = None
    next_offset = 0
    for line in lines:
        if not line.startswith("#"):
            seg_path = pkg.resolve(rel, line, rel)
            pl.complete &= seg_path is not None
            pl.segments.append(Segment(line, seg_path, duration or 0.0, byterange))
            duration, byterange = None, None
            continue
        name, value = split_tag(line)
        if name == "#EXT-X-VERSION":
            pl.version = int(value) if value.isdigit() else None
        elif name == "#EXT-X-TARGETDURATION":
            pl.target_duration = int(value) if value.isdigit() else None
        elif name == "#EXT-X-PLAYLIST-TYPE":
            pl.playlist_type = value
        elif name == "#EXT-X-ENDLIST":
            pl.endlist = True
        elif name == "#EXT-X-I-FRAMES-ONLY":
            pl.iframes_only = True
        elif name == "#EXT-X-MAP":
            pl.has_map = True
            uri = parse_attributes(value).get("URI")
            pl.map_path = pkg.resolve(rel, uri, rel) if uri else None
        elif name == "#EXTINF":
            try:
                duration = float(value.split(",", 1)[0])
            except ValueError:
                pkg.add(rel, "bad-extinf", f"EXTINF {value!r} has no numeric duration.")
                duration = 0.0
        elif name == "#EXT-X-BYTERANGE":
            # RFC 8216 4.3.2.2: a missing offset continues from the previous sub-range.
            length, offset = _parse_byterange(value)
            byterange = (length, next_offset if offset is None else offset)
            next_offset = byterange[0] + byterange[1]
    return pl


def check_media_playlist(pkg: Package, pl: MediaPlaylist) -> None:
    rel = pl.rel
    # RFC 8216 4.3.3.1: EXT-X-TARGETDURATION is REQUIRED, and every EXTINF rounded to the
    # nearest integer MUST be <= it.
    if pl.target_duration is None:
        pkg.add(rel, "missing-targetduration", "Add #EXT-X-TARGETDURATION.")
    else:
        for seg in pl.segments:
            if math.floor(seg.duration + 0.5) > pl.target_duration:
                pkg.add(
                    rel,
                    "extinf-exceeds-target",
                    f"{seg.uri} lasts {seg.duration:.3f} s, more than the target duration "
                    f"{pl.target_duration} s; raise EXT-X-TARGETDURATION or re-segment.",
                )
    # RFC 8216 4.3.3.5 / Apple "Playlists" (VOD): VOD playlists declare their type so
    # players may cache them and seek freely.
    if pl.playlist_type != "VOD":
        pkg.add(rel, "not-vod", "Add #EXT-X-PLAYLIST-TYPE:VOD to the finished playlist.")
    # RFC 8216 4.3.3.4: without EXT-X-ENDLIST players treat the stream as live and poll.
    if not pl.endlist:
        pkg.add(rel, "missing-endlist", "Add #EXT-X-ENDLIST after the last segment.")
    # RFC 8216 3.3: fMP4 segments MUST be preceded by EXT-X-MAP naming the init section.
    if not pl.has_map:
        pkg.add(rel, "missing-map", 'fMP4 segments need #EXT-X-MAP:URI="init.mp4".')
    _check_version(pkg, pl)
    if pl.target_duration is not None and not pl.iframes_only:
        # Apple "Media Segmentation": segments other than the last SHOULD NOT be much
        # shorter than the target; a short one wastes a request and skews ABR estimates.
        for seg in pl.segments[:-1]:
            if seg.duration < pl.target_duration / 2:
                pkg.add(
                    rel,
                    "segment-too-short",
                    f"{seg.uri} lasts {seg.duration:.3f} s, under half the target duration.",
                )
    info = pkg.init(pl.map_path) if pl.map_path else None
    for seg in pl.segments:
        _check_segment(pkg, pl, seg, info)


def _check_version(pkg: Package, pl: MediaPlaylist) -> None:
    # RFC 8216 7: EXT-X-MAP needs version 6 (5 in I-frame playlists); I-FRAMES-ONLY and
    # EXT-X-BYTERANGE need version 4.
    needed = 1
    if pl.iframes_only or any(s.byterange for s in pl.segments):
        needed = 4
    if pl.has_map:
        needed = 5 if pl.iframes_only else 6
    if (pl.version or 1) < needed:
        pkg.add(
            pl.rel,
            "version-too-low",
            f"#EXT-X-VERSION is {pl.version or 1} but the tags used need {needed}.",
        )


def _check_segment(pkg: Package, pl: MediaPlaylist, seg: Segment, info: TrackInfo | None) -> None:
    if seg.path is None:
        return
    frag = pkg.fragment(seg.path)
    if frag is None:
        return
    # RFC 8216 4.3.5.1 (EXT-X-INDEPENDENT-SEGMENTS) / Apple "Media Segmentation": each
    # segment MUST start with a sync sample (IDR) so a player can join or switch there.
    if not frag.starts_with_sync and not pl.iframes_only:
        pkg.add(seg.path, "segment-not-sync", "The segment does not start with a keyframe.")
    if info is not None and info.timescale:
        actual = frag.duration / info.timescale
        # RFC 8216 4.3.2.1: EXTINF is the segment's duration; players build the seek
        # timeline from it, so it must match the samples.
        if abs(actual - seg.duration) > TIMING_SLACK_S:
            pkg.add(
                pl.rel,
                "extinf-mismatch",
                f"EXTINF for {seg.uri} says {seg.duration:.3f} s but its samples last "
                f"{actual:.3f} s.",
            )
