"""The HLS/DASH conformance checker, against a real (tiny) package built with the pinned
ffmpeg, then broken one rule at a time."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import m3u8
import pytest
from lumiere.media.conformance import (
    Problem,
    check_dash,
    check_hls,
    expand_template,
    parse_attributes,
    parse_iso_duration,
)
from lumiere.media.dash import build_mpd
from lumiere.media.hls import build_master_playlist
from lumiere.media.isobmff import read_fragment_file, read_init_file
from lumiere.media.subtitles import SubtitleTrack, build_subtitle_playlist, with_timestamp_map
from lumiere.media.tools import find_binaries

CLIP_S = 6
VIDEOS = {"v_180p": ("320x180", "250k"), "v_90p": ("160x90", "80k")}
AUDIOS = {"a_eng": (440, "64k"), "a_spa": (660, "48k")}
MPD_NS = "urn:mpeg:dash:schema:mpd:2011"


@dataclass(frozen=True)
class Audio:
    dir: str
    name: str
    language: str
    default: bool


AUDIO_GROUP = (Audio("a_eng", "English", "en", True), Audio("a_spa", "Español", "es", False))


def _hls_output(out: Path, keyframe_expr: str | None = "gte(t,n_forced*2)") -> list[str]:
    """ffmpeg output options writing one fMP4 VOD rendition the way the pipeline does."""
    out.mkdir(parents=True, exist_ok=True)  # ffmpeg's hls muxer will not create it
    keys = ["-force_key_frames", f"expr:{keyframe_expr}", "-sc_threshold", "0"]
    return [
        *(keys if keyframe_expr else []),
        "-f", "hls",
        "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(out / "seg_%05d.m4s"),
        "-hls_playlist_type", "vod",
        "-hls_time", "2",
        str(out / "index.m3u8"),
    ]  # fmt: skip


def _video_output(
    root: Path, name: str, keyframe_expr: str | None = "gte(t,n_forced*2)", *extra: str
) -> list[str]:
    size, rate = VIDEOS[name]
    codec = ["-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", rate]
    return [*codec, "-s", size, "-an", *extra, *_hls_output(root / name, keyframe_expr)]


def _run_ffmpeg(inputs: list[str], outputs: list[str]) -> None:
    ffmpeg = str(find_binaries().ffmpeg)
    argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *inputs, *outputs]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def _video_input() -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=30:duration={CLIP_S}"]


# -- writing the manifests the pipeline would, from true values -------------------------


def _rates(playlist: Path, *, iframes: bool = False) -> tuple[float, float]:
    """(peak segment bit rate, average bit rate incl. init) measured with m3u8."""
    pl = m3u8.load(str(playlist))
    base = playlist.parent
    total = 0 if iframes else (base / pl.segment_map[0].uri).stat().st_size
    peak = 0.0
    for seg in pl.segments:
        size = int(seg.byterange.split("@")[0]) if iframes else (base / seg.uri).stat().st_size
        total += size
        peak = max(peak, size * 8 / seg.duration)
    return peak, total * 8 / sum(s.duration for s in pl.segments)


def write_iframes(root: Path, name: str) -> None:
    info = read_init_file(root / name / "init.mp4")
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2"]
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-I-FRAMES-ONLY", '#EXT-X-MAP:URI="init.mp4"']
    durations = []
    for seg in sorted((root / name).glob("seg_*.m4s")):
        frag = read_fragment_file(seg)
        durations.append(frag.duration / info.timescale)
        lines += [f"#EXTINF:{durations[-1]:.6f},", f"#EXT-X-BYTERANGE:{frag.first_sample_end}@0"]
        lines.append(seg.name)
    lines[2] = f"#EXT-X-TARGETDURATION:{max(round(d) for d in durations)}"
    (root / name / "iframes.m3u8").write_text("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n")


def write_master(root: Path, videos: list[str], audio: tuple[Audio, ...] = AUDIO_GROUP) -> None:
    audio_rates = [_rates(root / a.dir / "index.m3u8") for a in audio]
    audio_codec = read_init_file(root / audio[0].dir / "init.mp4").codec
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for a in audio:
        default = "YES" if a.default else "NO"
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="{a.name}",LANGUAGE="{a.language}",'
            f'DEFAULT={default},AUTOSELECT=YES,CHANNELS="2",URI="{a.dir}/index.m3u8"'
        )
    iframe_lines = []
    for name in videos:
        info = read_init_file(root / name / "init.mp4")
        peak, average = _rates(root / name / "index.m3u8")
        peak += max(p for p, _ in audio_rates)
        average += max(a for _, a in audio_rates)
        resolution = f"{info.width}x{info.height}"
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={math.ceil(peak)},AVERAGE-BANDWIDTH="
            f'{math.ceil(average)},CODECS="{info.codec},{audio_codec}",'
            f'RESOLUTION={resolution},FRAME-RATE=30.000,AUDIO="aud"'
        )
        lines.append(f"{name}/index.m3u8")
        iframe_peak, _ = _rates(root / name / "iframes.m3u8", iframes=True)
        iframe_lines.append(
            f'#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={math.ceil(iframe_peak)},CODECS="{info.codec}",'
            f'RESOLUTION={resolution},URI="{name}/iframes.m3u8"'
        )
    (root / "master.m3u8").write_text("\n".join(lines + iframe_lines) + "\n")


def write_audio_master(root: Path) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for a in AUDIO_GROUP:
        codec = read_init_file(root / a.dir / "init.mp4").codec
        peak, average = _rates(root / a.dir / "index.m3u8")
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={math.ceil(peak)},"
            f'AVERAGE-BANDWIDTH={math.ceil(average)},CODECS="{codec}"'
        )
        lines.append(f"{a.dir}/index.m3u8")
    (root / "audio.m3u8").write_text("\n".join(lines) + "\n")


def _timeline(directory: Path) -> tuple[list[str], int]:
    """SegmentTimeline <S> elements (runs folded into @r) and the total duration."""
    entries: list[list[int]] = []  # [t, d, r]
    for seg in sorted(directory.glob("seg_*.m4s")):
        frag = read_fragment_file(seg)
        last = entries[-1] if entries else None
        if (
            last
            and last[1] == frag.duration
            and last[0] + last[1] * (last[2] + 1) == (frag.base_decode_time)
        ):
            last[2] += 1
        else:
            entries.append([frag.base_decode_time, frag.duration, 0])
    elements = [f'<S t="{t}" d="{d}"' + (f' r="{r}"/>' if r else "/>") for t, d, r in entries]
    return elements, sum(d * (r + 1) for _, d, r in entries)


def write_mpd(root: Path) -> None:
    sets: dict[str, list[str]] = {"video": [], "audio": []}
    longest = 0.0
    for name in [*VIDEOS, *AUDIOS]:
        info = read_init_file(root / name / "init.mp4")
        elements, total = _timeline(root / name)
        longest = max(longest, total / info.timescale)
        peak, _ = _rates(root / name / "index.m3u8")
        size = f' width="{info.width}" height="{info.height}"' if info.width else ""
        kind = "video" if info.width else "audio"
        sets[kind].append(
            f'<Representation id="{name}" codecs="{info.codec}" bandwidth="{math.ceil(peak)}"'
            f'{size}><SegmentTemplate timescale="{info.timescale}" startNumber="0" '
            'initialization="$RepresentationID$/init.mp4" '
            'media="$RepresentationID$/seg_$Number%05d$.m4s"><SegmentTimeline>'
            + "".join(elements)
            + "</SegmentTimeline></SegmentTemplate></Representation>"
        )
    body = "".join(
        f'<AdaptationSet contentType="{kind}" mimeType="{kind}/mp4" segmentAlignment="true">'
        + "".join(reps)
        + "</AdaptationSet>"
        for kind, reps in sets.items()
    )
    (root / "manifest.mpd").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<MPD xmlns="{MPD_NS}" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S" '
        f'mediaPresentationDuration="PT{longest:.3f}S"><Period id="0">{body}</Period></MPD>\n'
    )


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("package")
    inputs = _video_input()
    outputs: list[str] = []
    for name in VIDEOS:
        outputs += _video_output(root, name)
    for i, (name, (freq, rate)) in enumerate(AUDIOS.items(), start=1):
        inputs += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:sample_rate=48000:duration={CLIP_S}",
        ]
        audio = ["-map", f"{i}:a", "-c:a", "aac", "-b:a", rate, "-ac", "2"]
        outputs += [*audio, *_hls_output(root / name, keyframe_expr=None)]
    _run_ffmpeg(inputs, outputs)
    for name in VIDEOS:
        write_iframes(root, name)
    write_master(root, list(VIDEOS))
    write_audio_master(root)
    write_mpd(root)
    return root


@pytest.fixture
def pkg(built: Path, tmp_path: Path) -> Path:
    """A private copy of the valid package, for a test to break."""
    return Path(shutil.copytree(built, tmp_path / "pkg"))


def rules(problems: list[Problem]) -> set[str]:
    return {p.rule for p in problems}


def edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text()
    after = change(before)
    assert after != before, f"the edit did not change {path.name}"  # keeps tests honest
    path.write_text(after)


def sub_first(pattern: str, repl: str | Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, repl, text, count=1, flags=re.MULTILINE)


def scale_bandwidth(factor: float) -> Callable[[str], str]:
    return sub_first(r"(?<=[:,])BANDWIDTH=(\d+)", lambda m: f"BANDWIDTH={int(int(m[1]) * factor)}")


# -- the valid package ------------------------------------------------------------------


def test_valid_package_has_no_problems(built: Path) -> None:
    assert check_hls(built) == []
    assert check_dash(built) == []


def test_valid_audio_only_master_has_no_problems(built: Path) -> None:
    assert check_hls(built, "audio.m3u8") == []


def test_problems_name_the_file_to_fix(pkg: Path) -> None:
    edit(pkg / "v_90p" / "index.m3u8", lambda t: t.replace("#EXT-X-ENDLIST\n", ""))
    assert check_hls(pkg) == [
        Problem("v_90p/index.m3u8", "missing-endlist", "Add #EXT-X-ENDLIST after the last segment.")
    ]


# -- one broken rule at a time ----------------------------------------------------------

HLS_BREAKAGES = {
    "codecs-mismatch": (
        "master.m3u8", sub_first(r'CODECS="[^"]*"', 'CODECS="avc1.640028,mp4a.40.2"')
    ),
    "bandwidth-too-low": ("master.m3u8", scale_bandwidth(0.7)),
    "bandwidth-too-high": ("master.m3u8", scale_bandwidth(1.3)),
    "average-bandwidth-mismatch": (
        "master.m3u8",
        sub_first(r"AVERAGE-BANDWIDTH=(\d+)", lambda m: f"AVERAGE-BANDWIDTH={int(m[1]) // 2}"),
    ),
    "resolution-mismatch": ("master.m3u8", sub_first(r"RESOLUTION=320x180", "RESOLUTION=320x240")),
    "missing-codecs": ("master.m3u8", sub_first(r',CODECS="[^"]*"', "")),
    "missing-frame-rate": ("master.m3u8", sub_first(r",FRAME-RATE=[\d.]+", "")),
    "missing-extm3u": ("v_180p/index.m3u8", sub_first(r"\A#EXTM3U\n", "")),
    "missing-endlist": ("v_180p/index.m3u8", sub_first(r"^#EXT-X-ENDLIST\n", "")),
    "not-vod": ("v_180p/index.m3u8", sub_first(r"^#EXT-X-PLAYLIST-TYPE:VOD\n", "")),
    "extinf-exceeds-target": (
        "v_180p/index.m3u8", sub_first(r"TARGETDURATION:2$", "TARGETDURATION:1")
    ),
    "missing-map": ("v_180p/index.m3u8", sub_first(r"^#EXT-X-MAP:.*\n", "")),
    "version-too-low": ("v_180p/index.m3u8", sub_first(r"VERSION:7$", "VERSION:4")),
    "extinf-mismatch": ("a_eng/index.m3u8", sub_first(r"EXTINF:2\.005333", "EXTINF:2.105333")),
    "unsafe-uri": ("master.m3u8", sub_first(r"^v_180p/index\.m3u8$", "../pkg/v_180p/index.m3u8")),
    "audio-default-count": ("master.m3u8", sub_first(r"DEFAULT=NO", "DEFAULT=YES")),
    "unknown-audio-group": ("master.m3u8", sub_first(r'AUDIO="aud"', 'AUDIO="nope"')),
    "media-missing-language": ("master.m3u8", sub_first(r'LANGUAGE="es",', "")),
    "byterange-too-short": (
        "v_180p/iframes.m3u8",
        sub_first(r"BYTERANGE:(\d+)@0", lambda m: f"BYTERANGE:{int(m[1]) - 1}@0"),
    ),
    "missing-iframes-only": ("v_90p/iframes.m3u8", sub_first(r"^#EXT-X-I-FRAMES-ONLY\n", "")),
}  # fmt: skip


@pytest.mark.parametrize(("rule", "breakage"), HLS_BREAKAGES.items(), ids=HLS_BREAKAGES)
def test_hls_rule_is_reported(
    pkg: Path, rule: str, breakage: tuple[str, Callable[[str], str]]
) -> None:
    file, change = breakage
    edit(pkg / file, change)
    assert rules(check_hls(pkg)) == {rule}


def test_missing_segment_is_reported_by_both_checkers(pkg: Path) -> None:
    (pkg / "v_90p" / "seg_00001.m4s").unlink()
    hls = check_hls(pkg)
    assert rules(hls) == {"missing-file"}
    # Both the media playlist and the I-frame playlist name the file.
    assert {p.where for p in hls} == {"v_90p/index.m3u8", "v_90p/iframes.m3u8"}
    assert rules(check_dash(pkg)) == {"missing-file"}


def test_segment_not_starting_with_keyframe_is_reported(pkg: Path) -> None:
    # Keyframes every 3 s but cut every 2 s regardless (split_by_time): the segment at
    # 2 s starts mid-GOP, so a player switching there shows garbage.
    gop = ("-g", "90", "-keyint_min", "90", "-hls_flags", "split_by_time")
    shutil.rmtree(pkg / "v_90p")
    _run_ffmpeg(_video_input(), _video_output(pkg, "v_90p", None, *gop))
    write_iframes(pkg, "v_90p")
    write_master(pkg, list(VIDEOS))
    problems = check_hls(pkg)
    assert rules(problems) == {"segment-not-sync"}
    assert {p.where for p in problems} == {"v_90p/seg_00001.m4s", "v_90p/seg_00002.m4s"}


def test_unaligned_renditions_are_reported(pkg: Path) -> None:
    # Keyframes at 0, 1, 3, 5 s: segments of 3, 2, 1 s against 2, 2, 2 s. Each playlist
    # is valid on its own, and the master is rewritten with its true values.
    shutil.rmtree(pkg / "v_90p")
    _run_ffmpeg(_video_input(), _video_output(pkg, "v_90p", "gte(t,n_forced*2+1)"))
    write_iframes(pkg, "v_90p")
    write_master(pkg, list(VIDEOS))
    problems = check_hls(pkg)
    assert rules(problems) == {"renditions-unaligned"}
    assert problems[0].where == "v_90p/index.m3u8"


def _edit_mpd(pkg: Path, change: Callable[[ET.Element], None]) -> None:
    ET.register_namespace("", MPD_NS)
    tree = ET.parse(pkg / "manifest.mpd")  # noqa: S314 - the test's own file
    change(tree.getroot())
    tree.write(pkg / "manifest.mpd", xml_declaration=True, encoding="utf-8")


def _representation(mpd: ET.Element, rep_id: str) -> ET.Element:
    found = mpd.find(f".//{{{MPD_NS}}}Representation[@id='{rep_id}']")
    assert found is not None
    return found


def _last_s(mpd: ET.Element, rep_id: str) -> ET.Element:
    return _representation(mpd, rep_id).findall(f".//{{{MPD_NS}}}S")[-1]


def _lengthen_tail(mpd: ET.Element) -> None:
    s = _last_s(mpd, "a_eng")
    s.set("d", str(int(s.get("d", "0")) + 1))


def _shift_tail(mpd: ET.Element) -> None:
    s = _last_s(mpd, "a_eng")
    s.set("t", str(int(s.get("t", "0")) + 1))


DASH_BREAKAGES: dict[str, Callable[[ET.Element], None]] = {
    "dash-timeline-duration": _lengthen_tail,
    "dash-timeline-time": _shift_tail,
    "dash-codecs-mismatch": lambda mpd: _representation(mpd, "v_180p").set("codecs", "avc1.640028"),
    "dash-resolution-mismatch": lambda mpd: _representation(mpd, "v_90p").set("width", "170"),
    "dash-bandwidth-too-low": lambda mpd: _representation(mpd, "v_90p").set("bandwidth", "1000"),
    "dash-bad-bandwidth": lambda mpd: _representation(mpd, "a_spa").set("bandwidth", "0"),
    "mpd-duration-mismatch": lambda mpd: mpd.set("mediaPresentationDuration", "PT9S"),
    "mpd-bad-duration": lambda mpd: mpd.set("mediaPresentationDuration", "6 seconds"),
    "mpd-not-static": lambda mpd: mpd.set("type", "dynamic"),
}  # fmt: skip


@pytest.mark.parametrize(("rule", "change"), DASH_BREAKAGES.items(), ids=DASH_BREAKAGES)
def test_dash_rule_is_reported(pkg: Path, rule: str, change: Callable[[ET.Element], None]) -> None:
    _edit_mpd(pkg, change)
    assert rules(check_dash(pkg)) == {rule}


def test_dash_missing_init_and_bad_xml(pkg: Path) -> None:
    (pkg / "a_spa" / "init.mp4").unlink()
    assert rules(check_dash(pkg)) == {"missing-file"}
    (pkg / "manifest.mpd").write_text("<MPD")
    assert rules(check_dash(pkg)) == {"mpd-unparsable"}


# -- helpers ----------------------------------------------------------------------------


def test_parse_attributes_keeps_commas_inside_quotes() -> None:
    attrs = parse_attributes('BANDWIDTH=1000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=320x180')
    assert attrs == {
        "BANDWIDTH": "1000",
        "CODECS": "avc1.64001e,mp4a.40.2",
        "RESOLUTION": "320x180",
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT6.000S", 6.0), ("PT1H2M3.5S", 3723.5), ("P1DT1S", 86401.0), ("PT", None), ("6", None)],
)
def test_parse_iso_duration(text: str, seconds: float | None) -> None:
    assert parse_iso_duration(text) == seconds


def test_expand_template() -> None:
    template = "$RepresentationID$/seg_$Number%05d$_$Time$$$.m4s"
    assert expand_template(template, {"RepresentationID": "v", "Number": 7, "Time": 90}) == (
        "v/seg_00007_90$.m4s"
    )


# -- captions: a subtitle rendition and a DASH text track ---------------------------------


def _add_captions(pkg: Path, vtt: str = "WEBVTT\n\n00:00.500 --> 00:02.000\nHello.\n") -> None:
    """Captions as the pipeline publishes them (media/subtitles.py), named by the master
    and by the MPD."""
    track = SubtitleTrack("en", "English (automatic)", "captions/en.vtt", "captions/en.m3u8")
    (pkg / "captions").mkdir()
    (pkg / "captions" / "en.vtt").write_text(with_timestamp_map(vtt))
    (pkg / "captions" / "en.m3u8").write_text(build_subtitle_playlist(track, CLIP_S, "en.vtt"))
    lines = (pkg / "master.m3u8").read_text().splitlines()
    media = build_master_playlist([], [], [track]).splitlines()[3]
    assert media.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")
    lines.insert(3, media)
    lines = [
        line + ',SUBTITLES="subs"' if line.startswith("#EXT-X-STREAM-INF") else line
        for line in lines
    ]
    (pkg / "master.m3u8").write_text("\n".join(lines) + "\n")

    def add_text(mpd: ET.Element) -> None:
        ours = ET.fromstring(build_mpd([], [], 2.0, [track]))  # noqa: S314 - built here
        period = mpd.find(f"{{{MPD_NS}}}Period")
        assert period is not None
        period.extend(ours.findall(f".//{{{MPD_NS}}}AdaptationSet"))

    _edit_mpd(pkg, add_text)


def test_captions_as_published_are_valid(pkg: Path) -> None:
    _add_captions(pkg)
    assert check_hls(pkg) == []
    assert check_dash(pkg) == []


SUBTITLE_BREAKAGES = {
    "unknown-subtitle-group": ("master.m3u8", sub_first(r'SUBTITLES="subs"', 'SUBTITLES="cc"')),
    "missing-file": ("master.m3u8", sub_first(r"captions/en\.m3u8", "captions/fr.m3u8")),
    "not-vod": ("captions/en.m3u8", sub_first(r"^#EXT-X-ENDLIST\n", "")),
    "extinf-exceeds-target": (
        "captions/en.m3u8", sub_first(r"TARGETDURATION:\d+", "TARGETDURATION:1")
    ),
    "not-webvtt": ("captions/en.vtt", sub_first(r"\AWEBVTT", "1\n00:00.500 --> 00:02.000")),
}  # fmt: skip


@pytest.mark.parametrize(("rule", "breakage"), SUBTITLE_BREAKAGES.items(), ids=SUBTITLE_BREAKAGES)
def test_subtitle_rule_is_reported(
    pkg: Path, rule: str, breakage: tuple[str, Callable[[str], str]]
) -> None:
    _add_captions(pkg)
    file, change = breakage
    edit(pkg / file, change)
    assert rule in rules(check_hls(pkg) + check_dash(pkg))


def test_dash_text_track_must_be_webvtt(pkg: Path) -> None:
    _add_captions(pkg)
    (pkg / "captions" / "en.vtt").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert "not-webvtt" in rules(check_dash(pkg))
