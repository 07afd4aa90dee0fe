"""Check a published HLS/DASH package against RFC 8216, Apple's HLS authoring spec and
ISO/IEC 23009-1, from the files alone.

Players trust manifests blindly: an understated BANDWIDTH stalls playback, a CODECS string
naming the wrong profile makes a device refuse the stream, unaligned renditions glitch on
every switch. So every declared value is compared with what the segments actually hold
(via :mod:`lumiere.media.isobmff`), not with what the encoder was asked for.

Pure Python and read-only: safe to run in a Lambda after packaging or in unit tests.
Apple's spec is renumbered between revisions, so it is cited by section title.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from lumiere.media.isobmff import (
    BoxError,
    Fragment,
    TrackInfo,
    read_fragment_file,
    read_init_file,
)

# EXTINF must match the fragment's own duration; a frame at 24 fps is ~42 ms.
TIMING_SLACK_S = 0.050
# DASH: mediaPresentationDuration vs the longest representation.
MPD_DURATION_SLACK_S = 0.5


@dataclass(frozen=True)
class Problem:
    where: str  # file (relative to root) the problem is in
    rule: str  # short stable id, e.g. "bandwidth-too-low"
    message: str  # a sentence a person can act on


# ---------------------------------------------------------------------------------------
# Shared plumbing


class _Package:
    """The package root plus caches, so each MP4 file is parsed at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.problems: list[Problem] = []
        self._inits: dict[str, TrackInfo | None] = {}
        self._fragments: dict[str, Fragment | None] = {}

    def add(self, where: str, rule: str, message: str) -> None:
        self.problems.append(Problem(where, rule, message))

    def resolve(self, base: str, uri: str, where: str) -> str | None:
        """The root-relative path of ``uri`` (relative to file ``base``), or None after
        reporting why it cannot be served from this package."""
        # Our packages are self-contained: an absolute or parent-escaping URI either
        # leaks another asset or breaks when the package moves (RFC 3986 5.2 resolution
        # against the playlist URI; RFC 8216 4.1 allows relative URIs for this).
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc or uri.startswith(("/", "\\")) or "\\" in uri:
            self.add(where, "unsafe-uri", f"URI {uri!r} must be relative to the package.")
            return None
        if ".." in PurePosixPath(parts.path).parts:
            self.add(where, "unsafe-uri", f"URI {uri!r} must stay inside the package.")
            return None
        rel = str(PurePosixPath(base).parent / parts.path)
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):  # e.g. a symlink pointing out
            self.add(where, "unsafe-uri", f"URI {uri!r} resolves outside the package.")
            return None
        if not path.is_file():
            self.add(where, "missing-file", f"{rel} is referenced but does not exist.")
            return None
        return rel

    def size(self, rel: str) -> int:
        return (self.root / rel).stat().st_size

    def init(self, rel: str) -> TrackInfo | None:
        if rel not in self._inits:
            try:
                self._inits[rel] = read_init_file(self.root / rel)
            except (BoxError, IndexError, OSError) as e:
                self.add(rel, "bad-mp4", f"Cannot read the init segment: {e}.")
                self._inits[rel] = None
        return self._inits[rel]

    def fragment(self, rel: str) -> Fragment | None:
        if rel not in self._fragments:
            try:
                self._fragments[rel] = read_fragment_file(self.root / rel)
            except (BoxError, IndexError, OSError) as e:
                self.add(rel, "bad-mp4", f"Cannot read the media segment: {e}.")
                self._fragments[rel] = None
        return self._fragments[rel]


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^,\r\n]*)')


def parse_attributes(text: str) -> dict[str, str]:
    """An RFC 8216 4.2 attribute list, quotes removed."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTRIBUTE.findall(text)}


def _split_tag(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name, value


# ---------------------------------------------------------------------------------------
# Media playlists


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


def _read_lines(pkg: _Package, rel: str) -> list[str] | None:
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


def parse_media_playlist(pkg: _Package, rel: str) -> MediaPlaylist | None:
    lines = _read_lines(pkg, rel)
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
        name, value = _split_tag(line)
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


def check_media_playlist(pkg: _Package, pl: MediaPlaylist) -> None:
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


def _check_version(pkg: _Package, pl: MediaPlaylist) -> None:
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


def _check_segment(pkg: _Package, pl: MediaPlaylist, seg: Segment, info: TrackInfo | None) -> None:
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


# ---------------------------------------------------------------------------------------
# Multivariant (master) playlist


@dataclass
class Variant:
    attrs: dict[str, str]
    uri: str
    iframe: bool = False


@dataclass
class Master:
    rel: str
    variants: list[Variant] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)


def parse_master(pkg: _Package, rel: str) -> Master | None:
    lines = _read_lines(pkg, rel)
    if lines is None:
        return None
    master = Master(rel)
    pending: dict[str, str] | None = None
    for line in lines:
        if not line.startswith("#"):
            if pending is not None:
                master.variants.append(Variant(pending, line))
                pending = None
            continue
        name, value = _split_tag(line)
        if name == "#EXT-X-STREAM-INF":
            pending = parse_attributes(value)
        elif name == "#EXT-X-I-FRAME-STREAM-INF":
            attrs = parse_attributes(value)
            master.variants.append(Variant(attrs, attrs.get("URI", ""), iframe=True))
        elif name == "#EXT-X-MEDIA":
            master.media.append(parse_attributes(value))
    return master


@dataclass
class Rendition:
    """A media playlist together with what its init segment says."""

    playlist: MediaPlaylist
    info: TrackInfo | None

    @property
    def is_video(self) -> bool:
        return self.info is not None and self.info.width is not None


def _load_rendition(
    pkg: _Package, cache: dict[str, Rendition | None], rel: str
) -> Rendition | None:
    if rel not in cache:
        pl = parse_media_playlist(pkg, rel)
        if pl is None:
            cache[rel] = None
        else:
            check_media_playlist(pkg, pl)
            cache[rel] = Rendition(pl, pkg.init(pl.map_path) if pl.map_path else None)
    return cache[rel]


def check_hls(root: Path, master: str = "master.m3u8", *, tolerance: float = 0.10) -> list[Problem]:
    """Every problem found in the HLS package under ``root``; [] means valid."""
    pkg = _Package(root)
    if not (pkg.root / master).is_file():
        pkg.add(master, "missing-file", f"The multivariant playlist {master} does not exist.")
        return pkg.problems
    parsed = parse_master(pkg, master)
    if parsed is None:
        return pkg.problems
    renditions: dict[str, Rendition | None] = {}
    groups = _check_media_tags(pkg, parsed, renditions)
    subtitle_groups = _check_subtitles(pkg, parsed)
    videos: list[Rendition] = []
    for variant in parsed.variants:
        rendition = _check_variant(pkg, parsed, variant, groups, renditions, tolerance)
        if rendition is not None and rendition.is_video and not variant.iframe:
            videos.append(rendition)
        # RFC 8216 4.3.4.2: SUBTITLES MUST match the GROUP-ID of a TYPE=SUBTITLES tag.
        group = variant.attrs.get("SUBTITLES")
        if group is not None and group not in subtitle_groups:
            pkg.add(
                parsed.rel,
                "unknown-subtitle-group",
                f"{variant.uri!r} names subtitle group {group!r}, but no EXT-X-MEDIA "
                "TYPE=SUBTITLES defines it.",
            )
    _check_alignment(pkg, videos)
    return pkg.problems


def _check_media_tags(
    pkg: _Package, master: Master, renditions: dict[str, Rendition | None]
) -> dict[str, list[Rendition | None]]:
    """Validate EXT-X-MEDIA tags; return audio groups -> their loaded renditions."""
    where = master.rel
    groups: dict[str, list[Rendition | None]] = {}
    defaults: dict[str, int] = {}
    for media in master.media:
        group = media.get("GROUP-ID", "")
        # RFC 8216 4.3.4.1: NAME is REQUIRED.
        if not media.get("NAME"):
            pkg.add(where, "media-missing-name", f"EXT-X-MEDIA in group {group!r} needs NAME.")
        # Apple "Audio"/"Subtitles": renditions SHOULD carry LANGUAGE so players can honour
        # the user's language preference. Only a rendition of undetermined language (our
        # pipeline names it "und") may omit it, since any tag would then be a lie.
        if not media.get("LANGUAGE") and media.get("NAME", "").lower() != "und":
            pkg.add(
                where,
                "media-missing-language",
                f"EXT-X-MEDIA {media.get('NAME', '')!r} needs a LANGUAGE (RFC 5646 tag).",
            )
        if media.get("TYPE") != "AUDIO":
            continue
        defaults[group] = defaults.get(group, 0) + (media.get("DEFAULT") == "YES")
        rendition = None
        if "URI" in media:
            rel = pkg.resolve(where, media["URI"], where)
            rendition = _load_rendition(pkg, renditions, rel) if rel else None
        groups.setdefault(group, []).append(rendition)
    # RFC 8216 4.3.4.1.1: at most one DEFAULT=YES per group; Apple "Audio": exactly one,
    # otherwise the player's initial choice is undefined.
    for group, count in defaults.items():
        if count != 1:
            pkg.add(
                where,
                "audio-default-count",
                f"Audio group {group!r} has {count} DEFAULT=YES renditions; it needs exactly one.",
            )
    return groups


def _check_subtitles(pkg: _Package, master: Master) -> set[str]:
    """Validate TYPE=SUBTITLES renditions (WebVTT segments); return their groups."""
    groups: set[str] = set()
    for media in master.media:
        if media.get("TYPE") != "SUBTITLES":
            continue
        groups.add(media.get("GROUP-ID", ""))
        # RFC 8216 4.3.4.1: URI is REQUIRED for TYPE=SUBTITLES.
        rel = pkg.resolve(master.rel, media["URI"], master.rel) if "URI" in media else None
        if rel is None:
            pkg.add(master.rel, "subtitles-missing-uri", "A subtitle rendition needs a URI.")
            continue
        pl = parse_media_playlist(pkg, rel)
        if pl is None:
            continue
        if pl.target_duration is None:
            pkg.add(rel, "missing-targetduration", "Add #EXT-X-TARGETDURATION.")
        if not pl.endlist or pl.playlist_type != "VOD":
            pkg.add(rel, "not-vod", "A finished subtitle playlist needs VOD type and ENDLIST.")
        for seg in pl.segments:
            if seg.path is None:
                continue
            if pl.target_duration is not None and round(seg.duration) > pl.target_duration:
                pkg.add(rel, "extinf-exceeds-target", f"{seg.uri} is longer than the target.")
            head = (pkg.root / seg.path).read_bytes()[:16].decode("utf-8", "replace")
            # WebVTT 4.1: the file starts with an optional BOM, then "WEBVTT".
            if not head.lstrip("\ufeff").startswith("WEBVTT"):
                pkg.add(rel, "not-webvtt", f"{seg.uri} is not a WebVTT file.")
    return groups


def _check_variant(
    pkg: _Package,
    master: Master,
    variant: Variant,
    groups: dict[str, list[Rendition | None]],
    renditions: dict[str, Rendition | None],
    tolerance: float,
) -> Rendition | None:
    where, attrs = master.rel, variant.attrs
    tag = "EXT-X-I-FRAME-STREAM-INF" if variant.iframe else "EXT-X-STREAM-INF"
    label = f"{tag} {variant.uri!r}"
    # RFC 8216 4.3.4.2: BANDWIDTH is REQUIRED; Apple "Playlists": CODECS MUST be present.
    for attr, rule in (("BANDWIDTH", "missing-bandwidth"), ("CODECS", "missing-codecs")):
        if attr not in attrs:
            pkg.add(where, rule, f"{label} needs {attr}.")
    if not variant.uri:
        pkg.add(where, "missing-uri", f"{tag} has no URI.")
        return None
    audio: list[Rendition | None] = []
    group = attrs.get("AUDIO")
    # RFC 8216 4.3.4.2: AUDIO MUST match the GROUP-ID of an EXT-X-MEDIA TYPE=AUDIO tag.
    if group is not None and not variant.iframe:
        if group in groups:
            audio = groups[group]
        else:
            pkg.add(
                where,
                "unknown-audio-group",
                f"{label} names audio group {group!r}, but no EXT-X-MEDIA TYPE=AUDIO defines it.",
            )
    rel = pkg.resolve(where, variant.uri, where)
    rendition = _load_rendition(pkg, renditions, rel) if rel else None
    if rendition is None:
        return None
    # Knowing every track lets us demand an exact CODECS list and measure the total rate;
    # otherwise only what we could read is checked, to avoid knock-on reports.
    known = (group is None or group in groups) and all(a is not None for a in audio)
    _check_codecs(
        pkg,
        where,
        label,
        attrs,
        rendition,
        [a for a in audio if a],
        exact=known,
        iframe=variant.iframe,
    )
    if variant.iframe:
        if not rendition.playlist.iframes_only:
            pkg.add(
                rendition.playlist.rel,
                "missing-iframes-only",
                "An I-frame playlist must contain #EXT-X-I-FRAMES-ONLY.",
            )
        _check_byteranges(pkg, rendition)
    complete = known and rendition.playlist.complete
    complete &= all(a.playlist.complete for a in audio if a is not None)
    if complete:
        peak, average = _measure(pkg, rendition, [a for a in audio if a], variant.iframe)
        _check_bandwidth(pkg, where, label, attrs, peak, average, tolerance)
    return rendition


def _check_codecs(
    pkg: _Package,
    where: str,
    label: str,
    attrs: dict[str, str],
    rendition: Rendition,
    audio: list[Rendition],
    *,
    exact: bool,
    iframe: bool,
) -> None:
    info = rendition.info
    if info is None:
        return
    # RFC 8216 4.3.4.2: CODECS lists every media format in the variant (including its
    # audio group); RFC 6381 hex digits are case-insensitive.
    declared = {c.strip().lower() for c in attrs.get("CODECS", "").split(",") if c.strip()}
    actual = {info.codec.lower()} | {a.info.codec.lower() for a in audio if a.info}
    missing = sorted(actual - declared)
    extra = sorted(declared - actual) if exact and all(a.info for a in audio) else []
    if "CODECS" in attrs and (missing or extra):
        pkg.add(
            where,
            "codecs-mismatch",
            f"{label} declares CODECS={attrs['CODECS']!r} but the media is "
            f"{','.join(sorted(actual))!r} (missing {missing}, not present {extra}).",
        )
    if info.width is None:
        return
    # Apple "Playlists": video variants MUST have RESOLUTION (and FRAME-RATE, except for
    # I-frame variants); it must describe the coded picture or players pick wrongly.
    resolution = attrs.get("RESOLUTION")
    if resolution is None:
        pkg.add(where, "missing-resolution", f"{label} needs RESOLUTION.")
    elif resolution != f"{info.width}x{info.height}":
        pkg.add(
            where,
            "resolution-mismatch",
            f"{label} declares RESOLUTION={resolution} but the video is "
            f"{info.width}x{info.height}.",
        )
    if "FRAME-RATE" not in attrs and not iframe:
        pkg.add(where, "missing-frame-rate", f"{label} needs FRAME-RATE.")


def _rates(pkg: _Package, rendition: Rendition, iframe: bool) -> tuple[float, float]:
    """(peak segment bit rate, average bit rate) of one media playlist."""
    pl = rendition.playlist
    peak = 0.0
    total = pkg.size(pl.map_path) if pl.map_path and not iframe else 0
    for seg in pl.segments:
        assert seg.path is not None  # only called on complete playlists
        size = seg.byterange[0] if iframe and seg.byterange else pkg.size(seg.path)
        total += size
        if seg.duration > 0:
            peak = max(peak, size * 8 / seg.duration)
    return peak, total * 8 / pl.duration if pl.duration > 0 else 0.0


def _measure(
    pkg: _Package, rendition: Rendition, audio: list[Rendition], iframe: bool
) -> tuple[float, float]:
    # RFC 8216 4.3.4.2: BANDWIDTH is the peak segment bit rate of everything the client
    # may fetch for this variant, so a player chooses the heaviest audio rendition at
    # worst; the Apple appendix "Declared versus measured values" counts all segments.
    peak, average = _rates(pkg, rendition, iframe)
    if audio:
        audio_rates = [_rates(pkg, a, False) for a in audio]
        if any(a.playlist.rel == rendition.playlist.rel for a in audio):
            # An audio-only variant that is itself a rendition of its group: the player
            # plays it or one alternative, never both.
            return max(p for p, _ in audio_rates), max(a for _, a in audio_rates)
        peak += max(p for p, _ in audio_rates)
        average += max(a for _, a in audio_rates)
    return peak, average


def _check_bandwidth(
    pkg: _Package,
    where: str,
    label: str,
    attrs: dict[str, str],
    peak: float,
    average: float,
    tolerance: float,
) -> None:
    declared = _int_attr(attrs, "BANDWIDTH")
    # RFC 8216 4.3.4.2: BANDWIDTH MUST NOT be below the peak segment bit rate; Apple
    # "Bit rates": the measured peak MUST be within 10% of BANDWIDTH.
    if declared is not None:
        if declared < math.floor(peak):
            pkg.add(
                where,
                "bandwidth-too-low",
                f"{label} declares BANDWIDTH={declared} but "
                f"the measured peak is {math.ceil(peak)} bit/s; players will stall.",
            )
        elif declared > peak * (1 + tolerance):
            pkg.add(
                where,
                "bandwidth-too-high",
                f"{label} declares BANDWIDTH={declared}, more "
                f"than {tolerance:.0%} above the measured peak {math.ceil(peak)} bit/s.",
            )
    # Apple "Bit rates": measured average MUST be within 10% of AVERAGE-BANDWIDTH.
    declared_avg = _int_attr(attrs, "AVERAGE-BANDWIDTH")
    if declared_avg is not None and abs(declared_avg - average) > average * tolerance:
        pkg.add(
            where,
            "average-bandwidth-mismatch",
            f"{label} declares AVERAGE-BANDWIDTH="
            f"{declared_avg} but the measured average is {math.ceil(average)} bit/s.",
        )


def _int_attr(attrs: dict[str, str], name: str) -> int | None:
    value = attrs.get(name)
    return int(value) if value is not None and value.isdigit() else None


def _check_byteranges(pkg: _Package, rendition: Rendition) -> None:
    pl = rendition.playlist
    for seg in pl.segments:
        if seg.byterange is None:
            pkg.add(
                pl.rel,
                "missing-byterange",
                f"I-frame entry {seg.uri} needs #EXT-X-BYTERANGE naming its keyframe.",
            )
            continue
        if seg.path is None:
            continue
        length, offset = seg.byterange
        frag = pkg.fragment(seg.path)
        # The range starts at the moof (offset 0) because the keyframe cannot be decoded
        # without it (RFC 8216 4.3.3.6); it must cover the whole first sample, and cannot
        # run past the file.
        if offset != 0:
            pkg.add(
                pl.rel,
                "byterange-offset",
                f"BYTERANGE for {seg.uri} starts at {offset}; it must start at 0.",
            )
        if frag is not None and length < frag.first_sample_end:
            pkg.add(
                pl.rel,
                "byterange-too-short",
                f"BYTERANGE for {seg.uri} is {length} "
                f"bytes but the keyframe ends at byte {frag.first_sample_end}.",
            )
        if offset + length > pkg.size(seg.path):
            pkg.add(
                pl.rel,
                "byterange-too-long",
                f"BYTERANGE for {seg.uri} runs past the end of the {pkg.size(seg.path)}-byte file.",
            )


def _check_alignment(pkg: _Package, videos: list[Rendition]) -> None:
    # RFC 8216 6.2.4 (matching content MUST have matching timestamps) / Apple "Media
    # Segmentation": video renditions MUST be segment-aligned so a switch never repeats
    # or skips media.
    if len(videos) < 2:
        return
    reference = videos[0].playlist
    ref_bounds = _boundaries(reference)
    for other in videos[1:]:
        pl = other.playlist
        bounds = _boundaries(pl)
        if len(bounds) != len(ref_bounds):
            pkg.add(
                pl.rel,
                "renditions-unaligned",
                f"{pl.rel} has {len(pl.segments)} segments "
                f"but {reference.rel} has {len(reference.segments)}.",
            )
            continue
        for i, (a, b) in enumerate(zip(ref_bounds, bounds, strict=True)):
            if abs(a - b) > TIMING_SLACK_S:
                pkg.add(
                    pl.rel,
                    "renditions-unaligned",
                    f"Segment {i} of {pl.rel} ends at "
                    f"{b:.3f} s but in {reference.rel} at {a:.3f} s.",
                )
                break


def _boundaries(pl: MediaPlaylist) -> list[float]:
    ends, t = [], 0.0
    for seg in pl.segments:
        t += seg.duration
        ends.append(t)
    return ends


# ---------------------------------------------------------------------------------------
# DASH

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
    pkg = _Package(root)
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


def _check_sidecar_text(pkg: _Package, mpd: str, rep: ET.Element) -> None:
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
    pkg: _Package, mpd: str, adaptation: ET.Element, rep: ET.Element, tolerance: float
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
    pkg: _Package,
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
    pkg: _Package,
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
    pkg: _Package, mpd: str, label: str, rel: str, t: int, d: int, frag: Fragment
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
