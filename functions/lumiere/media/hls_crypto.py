"""HLS AES-128 (RFC 8216 section 5.2): whole media segments encrypted with AES-128-CBC and
PKCS7 padding, the IV of each being its media sequence number as a 128-bit big-endian
integer, because the key tag gives no IV attribute.

Our media playlists start at EXT-X-MEDIA-SEQUENCE 0 and name segment n ``seg_{n:05d}.m4s``
(ffmpeg's numbering, kept global by the chunk stitcher), so a segment's sequence number
can be read from its name; ``add_key_tag`` checks that the playlist agrees before it
declares the method. The init segment (EXT-X-MAP) stays clear: the key tag is placed after
it, and a key applies only to the segments and maps that follow it.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 16
METHOD = "AES-128"
SEGMENT_NAME = re.compile(r"^seg_(\d+)\.m4s$")


class PlaylistMismatch(ValueError):
    """A playlist whose segments' positions are not their numbers: the implicit IVs a
    player would use would not be the ones the segments were encrypted with."""


def sequence_iv(sequence: int) -> bytes:
    return sequence.to_bytes(16, "big")


def segment_sequence(name: str) -> int:
    match = SEGMENT_NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a media segment name (seg_NNNNN.m4s)")
    return int(match.group(1))


def _cipher(key: bytes, sequence: int, iv: bytes | None = None) -> Cipher[modes.CBC]:
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-128 key is {KEY_BYTES} bytes, not {len(key)}")
    return Cipher(algorithms.AES(key), modes.CBC(iv or sequence_iv(sequence)))


def encrypt_segment(data: bytes, key: bytes, sequence: int) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = _cipher(key, sequence).encryptor()
    padded = padder.update(data) + padder.finalize()
    return encryptor.update(padded) + encryptor.finalize()


def decrypt_segment(data: bytes, key: bytes, sequence: int, iv: bytes | None = None) -> bytes:
    """``iv`` when the key tag gives one (not ours: MediaConvert's may); else the
    segment's sequence number, as a player would use."""
    decryptor = _cipher(key, sequence, iv).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(data) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()


def encrypted_size(clear_bytes: int) -> int:
    """PKCS7 always pads, by a whole block when the size is already a multiple of 16."""
    return (clear_bytes // 16 + 1) * 16


def key_tag(uri: str) -> str:
    return f'#EXT-X-KEY:METHOD={METHOD},URI="{uri}"'


def add_key_tag(playlist: str, uri: str) -> str:
    """The media playlist with its segments declared AES-128, the key at ``uri``: one
    EXT-X-KEY right after the (clear) EXT-X-MAP. Refuses a playlist whose implicit IVs
    would not match the segments' names, or that is already keyed."""
    lines = playlist.splitlines()
    if any(line.startswith("#EXT-X-KEY") for line in lines):
        raise PlaylistMismatch("the playlist already declares a key")
    first = 0
    for line in lines:
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            first = int(line.split(":", 1)[1])
    position = first
    for line in lines:
        if line and not line.startswith("#"):
            if segment_sequence(line.rsplit("/", 1)[-1]) != position:
                raise PlaylistMismatch(f"{line} is at media sequence {position}")
            position += 1
    try:
        at = next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-MAP:")) + 1
    except StopIteration:
        raise PlaylistMismatch("no EXT-X-MAP: not an fMP4 media playlist") from None
    lines.insert(at, key_tag(uri))
    return "\n".join(lines) + "\n"
