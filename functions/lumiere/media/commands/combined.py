"""Every output from one ffmpeg process: what the benchmark compares the pipeline with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ffmpeg

from lumiere.media.audio import AudioTrack, Loudness
from lumiere.media.commands.audio import audio_output
from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    HlsOptions,
    upload_input,
)
from lumiere.media.commands.pictures import poster_chain
from lumiere.media.commands.storyboards import storyboard_output
from lumiere.media.commands.video import video_outputs
from lumiere.media.ladder import AudioCodecSettings, Rendition
from lumiere.media.storyboard import Storyboard
from lumiere.media.streams import VideoStream


def build_single_command_args(
    ffmpeg_bin: str,
    source_url: str,
    source: VideoStream,
    renditions: Sequence[Rendition],
    tracks: Sequence[tuple[AudioTrack, Loudness | None]],
    settings: AudioCodecSettings,
    out_root: Path,
    hls: HlsOptions,
    poster: tuple[Path, float] | None = None,
    storyboard: tuple[Path, Storyboard] | None = None,
) -> list[str]:
    """Every output from one process: the practical limit the benchmark compares the
    pipeline against (one demux, one decode, no hand-offs). ``poster`` is (path, seek):
    the same thumbnail pick as ``build_poster_args``, from a branch of the one decode;
    ``storyboard`` as in ``build_video_group_args``."""
    src = upload_input(source_url)
    extra = (1 if poster else 0) + (1 if storyboard else 0)
    outputs = video_outputs(src, source, renditions, out_root, hls, extra=extra)
    if storyboard is not None:
        out_dir, board = storyboard
        outputs.append(storyboard_output(outputs.pop(), out_dir, board))
    if poster is not None:
        path, seek = poster
        frame = poster_chain(outputs.pop(-1 - (1 if storyboard else 0)).filter("trim", start=seek))
        outputs.append(ffmpeg.output(frame, str(path), vframes=1, **{"q:v": 3}))
    for track, measured in tracks:
        stream = src[str(track.stream_index)]
        outputs.append(audio_output(stream, settings, measured, out_root / track.dirname, hls))
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *ffmpeg.merge_outputs(*outputs).get_args()]
