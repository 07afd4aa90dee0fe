"""Moving a chunk's fragments onto the whole timeline (isobmff.retime_fragment) and
stitching chunk records (stitch.stitch), on hand-built fragments with the layouts that
need care: a 32-bit tfdt that overflows, two trafs' data offsets, large decode times."""

import struct

import pytest
from lumiere.media.isobmff import TrackInfo, find, iter_boxes, read_fragment, retime_fragment
from lumiere.media.packaging import (
    SegmentRecord,
    describe_track,
    iframe_playlist,
    media_playlist,
)
from lumiere.media.stitch import ChunkRecord, SeamError, stitch


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def traf(tfdt_version: int, base: int, sizes: list[int], duration: int) -> bytes:
    tfhd = box(b"tfhd", struct.pack(">I I", 0x020000, 1))  # default-base-is-moof
    fmt = ">B3sQ" if tfdt_version == 1 else ">B3sI"
    tfdt = box(b"tfdt", struct.pack(fmt, tfdt_version, b"\0\0\0", base))
    # data_offset + per-sample duration and size; the offset is patched by ``segment``
    trun = box(
        b"trun",
        struct.pack(">I I i", 0x000301, len(sizes), 0)
        + b"".join(struct.pack(">I I", duration, s) for s in sizes),
    )
    return box(b"traf", tfhd + tfdt + trun)


def segment(tfdt_version: int, base: int, samples: list[bytes], trafs: int = 1) -> bytes:
    """styp + moof (one or more trafs sharing the samples) + mdat, offsets correct."""
    sizes = [len(s) for s in samples]
    per = [traf(tfdt_version, base, sizes, 1001) for _ in range(trafs)]
    moof = box(b"moof", box(b"mfhd", struct.pack(">I I", 0, 1)) + b"".join(per))
    styp = box(b"styp", b"msdh\0\0\0\0msdhmsix")
    data = bytearray(styp + moof + box(b"mdat", b"".join(samples)))
    offset = len(moof) + 8  # from the moof's start to the first sample
    moof_at = len(styp)
    for b in iter_boxes(bytes(data), moof_at + 8, moof_at + len(moof)):
        if b.type == b"traf":
            trun = find(bytes(data), "trun", b.payload, b.end)
            assert trun is not None
            struct.pack_into(">i", data, trun.payload + 8, offset)
    return bytes(data)


def sample_at(data: bytes, first_sample_end: int, size: int) -> bytes:
    return data[first_sample_end - size : first_sample_end]


SAMPLES = [b"KEYFRAME" * 4, b"delta-1", b"delta-2"]


def test_a_version_1_tfdt_moves_in_place_and_the_sequence_number_is_set() -> None:
    data = segment(1, 0, SAMPLES)
    moved = retime_fragment(data, decode_time_offset=3596 * 1001, sequence_number=31)
    assert len(moved) == len(data)
    fragment = read_fragment(moved)
    assert fragment.base_decode_time == 3596 * 1001
    assert fragment.duration == 3 * 1001
    assert sample_at(moved, fragment.first_sample_end, len(SAMPLES[0])) == SAMPLES[0]
    mfhd = find(moved, "moof/mfhd")
    assert mfhd is not None
    assert struct.unpack_from(">I", moved, mfhd.payload + 4) == (31,)


def test_a_32_bit_tfdt_that_overflows_grows_to_64_bits_and_offsets_follow() -> None:
    """Version 0 holds 32 bits (39.7 hours at a 30 kHz timescale, 1.2 hours at 1 MHz).
    A value past that is rewritten as version 1: moof and traf grow by 4 bytes per traf,
    and every trun's data_offset (counted from the moof) moves with the samples."""
    for trafs in (1, 2):
        data = segment(0, 1000, SAMPLES, trafs=trafs)
        moved = retime_fragment(data, decode_time_offset=2**32, sequence_number=2)
        assert len(moved) == len(data) + 4 * trafs
        fragment = read_fragment(moved)
        assert fragment.base_decode_time == 2**32 + 1000
        assert sample_at(moved, fragment.first_sample_end, len(SAMPLES[0])) == SAMPLES[0]
        tfdt = find(moved, "moof/traf/tfdt")
        assert tfdt is not None
        assert moved[tfdt.payload] == 1
        # each traf's offset lands on the same first sample
        for b in iter_boxes(moved):
            if b.type == b"moof":
                for t in (c for c in b.children(moved) if c.type == b"traf"):
                    trun = find(moved, "trun", t.payload, t.end)
                    assert trun is not None
                    (offset,) = struct.unpack_from(">i", moved, trun.payload + 8)
                    start = b.start + offset
                    assert moved[start : start + len(SAMPLES[0])] == SAMPLES[0]


def test_a_32_bit_tfdt_that_still_fits_stays_32_bits() -> None:
    data = segment(0, 0, SAMPLES)
    moved = retime_fragment(data, decode_time_offset=120 * 15360, sequence_number=5)
    assert len(moved) == len(data)
    assert read_fragment(moved).base_decode_time == 120 * 15360


INIT = TrackInfo(codec="avc1.64001e", timescale=30000, width=426, height=240)


def chunk(
    index: int, first: int, starts: list[int], *, sha: str = "a", length: int = 120120
) -> ChunkRecord:
    segments = [
        SegmentRecord(
            uri=f"seg_{first + i:05d}.m4s",
            duration=length / 30000,
            start=start,
            length=length,
            bytes=10_000 + i,
            first_sample_end=2_000,
        )
        for i, start in enumerate(starts)
    ]
    return ChunkRecord(index, first, INIT, 800, sha, segments)


def test_stitching_orders_chunks_and_describes_one_continuous_rendition() -> None:
    d = 120120
    records = [
        chunk(1, 2, [2 * d, 3 * d]),
        chunk(0, 0, [0, d]),
        chunk(2, 4, [4 * d], length=60060),
    ]
    whole = stitch(records)
    assert [s.uri for s in whole.segments] == [f"seg_{n:05d}.m4s" for n in range(5)]
    track = describe_track("v_240p", whole.init, whole.init_bytes, whole.segments, kind="video")
    assert track.timeline == [[0, d, 3], [4 * d, 60060, 0]]
    assert track.segment_count == 5
    assert track.duration == pytest.approx((4 * d + 60060) / 30000, abs=1e-3)
    playlist = media_playlist(whole.segments)
    assert playlist.count("#EXT-X-MAP") == 1
    assert "#EXT-X-TARGETDURATION:4\n" in playlist
    assert playlist.index("seg_00001.m4s") < playlist.index("seg_00002.m4s")
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert iframe_playlist(whole.segments).count("#EXT-X-BYTERANGE:2000@0") == 5


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ([chunk(0, 0, [0]), chunk(2, 2, [240240])], "not 0..1"),
        ([chunk(0, 0, [0]), chunk(1, 1, [120120], sha="b")], "init segment differs"),
        ([chunk(0, 0, [0]), chunk(1, 2, [120120])], "expected 1"),
        ([chunk(0, 0, [0]), chunk(1, 1, [120120 + 1001])], "starts 1001 ticks"),
        ([chunk(0, 0, [0]), chunk(1, 1, [120120 - 1001])], "starts -1001 ticks"),
    ],
)
def test_chunks_that_would_not_play_as_one_are_refused(
    records: list[ChunkRecord], problem: str
) -> None:
    with pytest.raises(SeamError, match=problem):
        stitch(records)
