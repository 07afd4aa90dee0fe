"""What a crafted upload is allowed to make ffmpeg do.

The classic attack: an "mp4" that is really an HLS playlist or an ffconcat script whose
entries point at ``file:///etc/passwd`` or an internal URL; ffmpeg follows them and the
output (a thumbnail, a transcode) leaks the content. Two guards close it:

* a protocol whitelist, so the only thing ffmpeg can open is the presigned HTTP(S) URL of
  the upload itself (no ``file:``, ``concat:``, ``subfile:``, ``data:`` ...), and
* a demuxer allow-list, so playlist-like formats (hls, concat, image2 patterns, sdp, ...)
  are refused before they read their first entry, and
* a decoder allow-list of mainstream codecs, so an upload cannot steer ffmpeg into one of
  its hundreds of rarely used (and rarely audited) decoders.
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

# Decoder names as ffmpeg registers them (``ffmpeg -decoders``), not codec names.
ALLOWED_DECODERS: tuple[str, ...] = (
    # video
    "h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "av1", "libdav1d", "libaom-av1",
    "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "prores", "dnxhd", "h263", "theora",
    "wmv1", "wmv2", "wmv3", "vc1",
    # still images
    "png", "apng", "gif", "webp", "bmp", "tiff",
    # audio
    "aac", "aac_latm", "mp3float", "mp3", "mp2float", "mp2", "ac3", "eac3", "opus",
    "libopus", "vorbis", "flac", "alac", "wmav2", "pcm_s16le", "pcm_s16be", "pcm_s24le",
    "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8", "pcm_mulaw", "pcm_alaw",
    # subtitles
    "subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "dvdsub", "dvbsub",
)  # fmt: skip

IMAGE_DEMUXERS: frozenset[str] = frozenset(
    {"png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "gif_pipe"}
)


def input_guard_options() -> dict[str, str]:
    """Input options every ffmpeg/ffprobe call on an upload must carry."""
    return {
        "codec_whitelist": ",".join(ALLOWED_DECODERS),
        "format_whitelist": ",".join(ALLOWED_DEMUXERS),
        "protocol_whitelist": ",".join(SOURCE_PROTOCOLS),
    }


# Our own intermediate (the audio tracks copied out of an upload, see commands.py): a
# local QuickTime file, which keeps the encoder delay (edit list) that NUT and Matroska
# drop, so decoded audio lines up with the video. The decoders stay allow-listed, as the
# streams inside are still the upload's.
INTERMEDIATE_FORMAT = "mov"


def intermediate_guard_options() -> dict[str, str]:
    """Also for a published segment read back (a frame at a time): a local fragmented
    MP4 Lumiere wrote, which the mov demuxer reads."""
    return {
        "codec_whitelist": ",".join(ALLOWED_DECODERS),
        "format_whitelist": INTERMEDIATE_FORMAT,
        "protocol_whitelist": "file",
    }
