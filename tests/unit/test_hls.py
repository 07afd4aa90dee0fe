from pathlib import Path

import m3u8
import pytest
from lumiere.media.hls import (
    VariantEntry,
    VariantStats,
    avc1_codec,
    build_master_playlist,
    measure_variant,
)


@pytest.mark.parametrize(
    ("profile", "level", "expected"),
    [
        ("high", "4.1", "avc1.640029"),
        ("main", "3.1", "avc1.4D401F"),
        ("baseline", "3", "avc1.42E01E"),
    ],
)
def test_avc1_codec_strings(profile: str, level: str, expected: str) -> None:
    assert avc1_codec(profile, level) == expected


def test_measure_variant_uses_peak_segment_rate(tmp_path: Path) -> None:
    (tmp_path / "init.mp4").write_bytes(b"i" * 100)
    (tmp_path / "seg_00000.m4s").write_bytes(b"a" * 4000)  # 4 s -> 8000 bit/s
    (tmp_path / "seg_00001.m4s").write_bytes(b"b" * 3000)  # 1 s -> 24000 bit/s (peak)
    (tmp_path / "index.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg_00000.m4s\n#EXTINF:1.0,\nseg_00001.m4s\n'
        "#EXT-X-ENDLIST\n"
    )
    stats = measure_variant(tmp_path / "index.m3u8")
    assert stats == VariantStats(
        segment_count=2, duration=5.0, peak_bps=24000, average_bps=11360, total_bytes=7100
    )


def test_master_lists_highest_first_with_all_attributes() -> None:
    low = VariantEntry(
        "240p/index.m3u8",
        VariantStats(2, 8.0, 400_000, 350_000, 1),
        ("avc1.640029", "mp4a.40.2"),
        (426, 240),
        25.0,
    )
    high = VariantEntry(
        "360p/index.m3u8",
        VariantStats(2, 8.0, 900_000, 800_000, 1),
        ("avc1.640029", "mp4a.40.2"),
        (640, 360),
        25.0,
    )
    text = build_master_playlist([low, high])
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.640029,mp4a.40.2",'
        "RESOLUTION=640x360,FRAME-RATE=25.000\n360p/index.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=350000,CODECS="avc1.640029,mp4a.40.2",'
        "RESOLUTION=426x240,FRAME-RATE=25.000\n240p/index.m3u8\n"
    )
    parsed = m3u8.loads(text)
    assert parsed.is_variant
    assert [p.stream_info.bandwidth for p in parsed.playlists] == [900000, 400000]


def test_audio_only_master_has_no_resolution() -> None:
    text = build_master_playlist(
        [
            VariantEntry(
                "audio/index.m3u8", VariantStats(1, 3.0, 130_000, 128_000, 1), ("mp4a.40.2",)
            )
        ]
    )
    assert "RESOLUTION" not in text
    assert "FRAME-RATE" not in text
    assert 'CODECS="mp4a.40.2"' in text
