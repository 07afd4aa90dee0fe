"""An HLS package from its multivariant playlist: every rendition's declared CODECS,
BANDWIDTH, RESOLUTION and byte ranges against its segments, and the renditions aligned."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from lumiere.media.conformance.media_playlists import (
    MediaPlaylist,
    check_media_playlist,
    parse_media_playlist,
    read_lines,
)
from lumiere.media.conformance.package import (
    TIMING_SLACK_S,
    Package,
    Problem,
    parse_attributes,
    split_tag,
)
from lumiere.media.isobmff import TrackInfo


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


def parse_master(pkg: Package, rel: str) -> Master | None:
    lines = read_lines(pkg, rel)
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
        name, value = split_tag(line)
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


def _load_rendition(pkg: Package, cache: dict[str, Rendition | None], rel: str) -> Rendition | None:
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
    pkg = Package(root)
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
    pkg: Package, master: Master, renditions: dict[str, Rendition | None]
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


def _check_subtitles(pkg: Package, master: Master) -> set[str]:
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
    pkg: Package,
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
    pkg: Package,
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


def _rates(pkg: Package, rendition: Rendition, iframe: bool) -> tuple[float, float]:
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
    pkg: Package, rendition: Rendition, audio: list[Rendition], iframe: bool
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
    pkg: Package,
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


def _check_byteranges(pkg: Package, rendition: Rendition) -> None:
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


def _check_alignment(pkg: Package, videos: list[Rendition]) -> None:
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
