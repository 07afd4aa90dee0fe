"""Read the few ISO BMFF (MP4/CMAF) facts manifests need, straight from the encoded files.

Manifests must describe what was written, not what was asked for: the CODECS string
comes from the sample entry's configuration record, segment timing and the keyframe
byte range from each fragment's ``moof``. Only the boxes we need are parsed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf", b"mvex", b"edts"}
_VISUAL_ENTRY_HEADER = 78  # ISO/IEC 14496-12 VisualSampleEntry fields before child boxes
_AUDIO_ENTRY_HEADER = 28  # AudioSampleEntry fields before child boxes
_NON_SYNC_SAMPLE = 0x00010000


class BoxError(ValueError):
    """The bytes are not the fragmented MP4 we expected."""


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int  # offset of the box header in the buffer
    payload: int  # offset of the payload
    end: int

    def children(self, data: bytes) -> Iterator[Box]:
        return iter_boxes(data, self.payload, self.end)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise BoxError("truncated large box header")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BoxError(f"box {kind!r} at {pos} overruns its parent")
        yield Box(kind, pos, pos + header, pos + size)
        pos += size


def find(data: bytes, path: str, start: int = 0, end: int | None = None) -> Box | None:
    """The first box along a slash-separated path such as ``moov/trak/mdia/mdhd``."""
    head, _, rest = path.partition("/")
    for box in iter_boxes(data, start, end):
        if box.type == head.encode():
            if not rest:
                return box
            if box.type in _CONTAINERS:
                found = find(data, rest, box.payload, box.end)
                if found is not None:
                    return found
    return None


@dataclass(frozen=True)
class TrackInfo:
    codec: str  # RFC 6381 string, e.g. avc1.640028 or mp4a.40.2
    timescale: int
    width: int | None = None
    height: int | None = None


def read_init(data: bytes) -> TrackInfo:
    """Codec string and timescale of the single track in a CMAF init segment."""
    mdhd = find(data, "moov/trak/mdia/mdhd")
    stsd = find(data, "moov/trak/mdia/minf/stbl/stsd")
    if mdhd is None or stsd is None:
        raise BoxError("init segment has no track description")
    version = data[mdhd.payload]
    (timescale,) = struct.unpack_from(">I", data, mdhd.payload + (20 if version == 1 else 12))
    entry = next(iter_boxes(data, stsd.payload + 8, stsd.end), None)  # skip version+count
    if entry is None:
        raise BoxError("stsd has no sample entry")
    fourcc = entry.type.decode("latin-1")
    if fourcc in ("mp4a",):
        children = iter_boxes(data, entry.payload + _AUDIO_ENTRY_HEADER, entry.end)
        return TrackInfo(codec=_mp4a_codec(data, children), timescale=timescale)
    width, height = struct.unpack_from(">HH", data, entry.payload + 24)
    children = {
        b.type: b for b in iter_boxes(data, entry.payload + _VISUAL_ENTRY_HEADER, entry.end)
    }
    if fourcc in ("avc1", "avc3") and b"avcC" in children:
        p = children[b"avcC"].payload
        codec = f"{fourcc}.{data[p + 1]:02x}{data[p + 2]:02x}{data[p + 3]:02x}"
    elif fourcc == "vp09" and b"vpcC" in children:
        p = children[b"vpcC"].payload + 4  # full box
        codec = f"vp09.{data[p]:02d}.{data[p + 1]:02d}.{data[p + 2] >> 4:02d}"
    elif fourcc == "av01" and b"av1C" in children:
        p = children[b"av1C"].payload
        profile, level = data[p + 1] >> 5, data[p + 1] & 0x1F
        tier = "H" if data[p + 2] & 0x80 else "M"
        high, twelve = data[p + 2] & 0x40, data[p + 2] & 0x20
        depth = 12 if high and twelve else 10 if high else 8
        codec = f"av01.{profile}.{level:02d}{tier}.{depth:02d}"
    else:
        raise BoxError(f"unsupported sample entry {fourcc!r}")
    return TrackInfo(codec=codec, timescale=timescale, width=width, height=height)


def _descriptor(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, payload offset, payload size) of an MPEG-4 descriptor."""
    tag, size, pos = data[pos], 0, pos + 1
    for _ in range(4):
        byte = data[pos]
        pos += 1
        size = (size << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return tag, pos, size


def _mp4a_codec(data: bytes, children: Iterator[Box]) -> str:
    esds = next((b for b in children if b.type == b"esds"), None)
    if esds is None:
        raise BoxError("mp4a without esds")
    tag, pos, _ = _descriptor(data, esds.payload + 4)
    if tag != 0x03:
        raise BoxError("esds without ES_Descriptor")
    flags = data[pos + 2]
    pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
    if flags & 0x40:
        pos += 1 + data[pos]
    tag, pos, _ = _descriptor(data, pos)
    if tag != 0x04:
        raise BoxError("esds without DecoderConfigDescriptor")
    object_type = data[pos]
    tag, dsi, _ = _descriptor(data, pos + 13)
    if tag != 0x05:
        return f"mp4a.{object_type:02x}"
    aot = data[dsi] >> 3
    if aot == 31:
        aot = 32 + (((data[dsi] & 0x07) << 3) | (data[dsi + 1] >> 5))
    return f"mp4a.{object_type:02x}.{aot}"


@dataclass(frozen=True)
class Fragment:
    """One media segment's timing and where its first sample ends."""

    base_decode_time: int
    duration: int  # in the track timescale
    sample_count: int
    starts_with_sync: bool
    # Bytes from the start of the segment file through the first sample: the moof plus
    # the keyframe, which is what an I-frame playlist's EXT-X-BYTERANGE names.
    first_sample_end: int


def read_fragment(data: bytes) -> Fragment:
    """Timing of a CMAF media segment (one or more moof+mdat pairs, one track)."""
    base: int | None = None
    duration = count = 0
    first_end: int | None = None
    starts_with_sync = False
    for moof in (b for b in iter_boxes(data) if b.type == b"moof"):
        traf = find(data, "traf", moof.payload, moof.end)
        if traf is None:
            raise BoxError("moof without traf")
        default_duration = default_size = default_flags = 0
        for box in traf.children(data):
            if box.type == b"tfhd":
                default_duration, default_size, default_flags = _tfhd(data, box)
            elif box.type == b"tfdt" and base is None:
                version = data[box.payload]
                fmt = ">Q" if version == 1 else ">I"
                (base,) = struct.unpack_from(fmt, data, box.payload + 4)
        for trun in (b for b in traf.children(data) if b.type == b"trun"):
            samples, data_offset, first_flags = _trun(
                data, trun, default_duration, default_size, default_flags
            )
            if first_end is None and samples:
                first_end = moof.start + data_offset + samples[0][1]
                starts_with_sync = not first_flags & _NON_SYNC_SAMPLE
            duration += sum(d for d, _ in samples)
            count += len(samples)
    if base is None or first_end is None:
        raise BoxError("segment has no timed samples")
    return Fragment(base, duration, count, starts_with_sync, first_end)


def _tfhd(data: bytes, box: Box) -> tuple[int, int, int]:
    flags = int.from_bytes(data[box.payload + 1 : box.payload + 4], "big")
    pos = box.payload + 8  # version/flags + track_ID
    values = {}
    for bit, name, width in (
        (0x01, "base", 8),
        (0x02, "desc", 4),
        (0x08, "duration", 4),
        (0x10, "size", 4),
        (0x20, "flags", 4),
    ):
        if flags & bit:
            values[name] = int.from_bytes(data[pos : pos + width], "big")
            pos += width
    return values.get("duration", 0), values.get("size", 0), values.get("flags", 0)


def _trun(
    data: bytes, box: Box, default_duration: int, default_size: int, default_flags: int
) -> tuple[list[tuple[int, int]], int, int]:
    flags = int.from_bytes(data[box.payload + 1 : box.payload + 4], "big")
    (sample_count,) = struct.unpack_from(">I", data, box.payload + 4)
    pos = box.payload + 8
    data_offset = 0
    if flags & 0x001:
        (data_offset,) = struct.unpack_from(">i", data, pos)
        pos += 4
    first_flags: int | None = None
    if flags & 0x004:
        (first_flags,) = struct.unpack_from(">I", data, pos)
        pos += 4
    samples: list[tuple[int, int]] = []
    for i in range(sample_count):
        duration, size, sample_flags = default_duration, default_size, default_flags
        if flags & 0x100:
            (duration,) = struct.unpack_from(">I", data, pos)
            pos += 4
        if flags & 0x200:
            (size,) = struct.unpack_from(">I", data, pos)
            pos += 4
        if flags & 0x400:
            (sample_flags,) = struct.unpack_from(">I", data, pos)
            pos += 4
        if flags & 0x800:
            pos += 4
        if i == 0 and first_flags is None:
            first_flags = sample_flags
        samples.append((duration, size))
    return samples, data_offset, first_flags or 0


def read_init_file(path: Path) -> TrackInfo:
    return read_init(path.read_bytes())


def read_fragment_file(path: Path) -> Fragment:
    return read_fragment(path.read_bytes())


def retime_fragment(data: bytes, *, decode_time_offset: int, sequence_number: int) -> bytes:
    """A media segment moved on a track's timeline: each ``tfdt`` baseMediaDecodeTime
    plus ``decode_time_offset``, each ``mfhd`` sequence_number set to ``sequence_number``.

    A chunk of a long video is encoded on its own local timeline from zero (so every
    chunk's init segment is identical); this puts its segments where they belong in the
    whole. A version 0 (32-bit) ``tfdt`` whose new value does not fit is rewritten as
    version 1 (64-bit): the enclosing ``traf`` and ``moof`` grow by 4 bytes, and so does
    each ``trun`` data_offset of that ``moof`` (offsets count from the ``moof``'s start
    to its ``mdat``'s samples, which now sit 4 bytes further on).
    """
    out = bytearray()
    for box in iter_boxes(data):
        if box.type == b"moof":
            out += _retime_moof(data, box, decode_time_offset, sequence_number)
        else:
            out += data[box.start : box.end]
    return bytes(out)


def _retime_moof(data: bytes, moof: Box, offset: int, sequence_number: int) -> bytes:
    grown = 0
    children = bytearray()
    trafs: list[tuple[int, int]] = []  # (position in children, length) of rebuilt trafs
    for box in moof.children(data):
        raw = bytearray(data[box.start : box.end])
        if box.type == b"mfhd":
            struct.pack_into(">I", raw, box.payload - box.start + 4, sequence_number)
        elif box.type == b"traf":
            raw = _retime_traf(data, box, offset)
            grown += len(raw) - (box.end - box.start)
            trafs.append((len(children), len(raw)))
        children += raw
    if grown:
        for at, _ in trafs:
            _shift_data_offsets(children, at, grown)
    header = moof.payload - moof.start
    if header != 8:
        raise BoxError("large-size moof boxes are not supported")
    return struct.pack(">I4s", 8 + len(children), b"moof") + bytes(children)


def _retime_traf(data: bytes, traf: Box, offset: int) -> bytearray:
    body = bytearray()
    for box in traf.children(data):
        if box.type != b"tfdt":
            body += data[box.start : box.end]
            continue
        version = data[box.payload]
        flags = data[box.payload + 1 : box.payload + 4]
        fmt = ">Q" if version == 1 else ">I"
        (base,) = struct.unpack_from(fmt, data, box.payload + 4)
        value = base + offset
        if value < 0:
            raise BoxError("a decode time cannot be negative")
        if version == 0 and value < 2**32:
            body += struct.pack(">I4sB3sI", 16, b"tfdt", 0, flags, value)
        else:
            body += struct.pack(">I4sB3sQ", 20, b"tfdt", 1, flags, value)
    return bytearray(struct.pack(">I4s", 8 + len(body), b"traf")) + body


def _shift_data_offsets(moof_children: bytearray, traf_at: int, grown: int) -> None:
    """Add ``grown`` to each trun data_offset of the traf at ``traf_at`` (in the moof's
    children): the mdat it points into moved by that much."""
    (size,) = struct.unpack_from(">I", moof_children, traf_at)
    buffer = bytes(moof_children)
    for box in iter_boxes(buffer, traf_at + 8, traf_at + size):
        if box.type != b"trun":
            continue
        flags = int.from_bytes(buffer[box.payload + 1 : box.payload + 4], "big")
        if flags & 0x001:
            at = box.payload + 8
            (value,) = struct.unpack_from(">i", moof_children, at)
            struct.pack_into(">i", moof_children, at, value + grown)
