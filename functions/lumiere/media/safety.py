"""What a crafted upload is allowed to make ffmpeg do.

The classic attack: an "mp4" that is really an HLS playlist or an ffconcat script whose
entries point at ``file:///etc/passwd`` or an internal URL; ffmpeg follows them and the
output (a thumbnail, a transcode) leaks the content. Two guards close it:

* a protocol whitelist, so the only thing ffmpeg can open is the presigned HTTP(S) URL of
  the upload itself (no ``file:``, ``concat:``, ``subfile:``, ``data:`` ...), and
* a demuxer allow-list, so playlist-like formats (hls, concat, image2 patterns, sdp, ...)
  are refused before they read their first entry.
"""

from __future__ import annotations

SOURCE_PROTOCOLS: tuple[str, ...] = ("http", "https", "tcp", "tls")

# Demuxer names as ffmpeg reports them; ffmpeg matches any comma-separated alias, so
# "mov" admits "mov,mp4,m4a,3gp,3g2,mj2".
ALLOWED_DEMUXERS: tuple[str, ...] = (
    # video containers
    "mov", "matroska", "avi", "mpegts", "mpeg", "flv", "asf", "ogg", "ivf", "m4v", "h264",
    "hevc",
    # audio
    "wav", "mp3", "flac", "aac", "aiff", "w64", "caf",
    # still images (the *_pipe demuxers read one stream; image2 is left out because it
    # expands sequence patterns into other file names)
    "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "gif_pipe",
)  # fmt: skip

IMAGE_DEMUXERS: frozenset[str] = frozenset(
    {"png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "gif_pipe"}
)


def input_guard_options() -> dict[str, str]:
    """Input options every ffmpeg/ffprobe call on an upload must carry."""
    return {
        "protocol_whitelist": ",".join(SOURCE_PROTOCOLS),
        "format_whitelist": ",".join(ALLOWED_DEMUXERS),
    }
