"""Every ffmpeg command line Lumiere runs, built as argument lists in one place: this
package, a module per kind of work (``video``, ``audio``, ``storyboards``, ``pictures``,
``previews``, ``combined``) over what they share (``common``).

Building is pure (ffmpeg-python assembles the filter graph and options; nothing runs
here), so the exact arguments are unit-tested. Each command reads the upload through the
guarded input options of ``safety``.
"""

from lumiere.media.commands.audio import (
    AudioInput,
    build_audio_extract_args,
    build_audio_track_args,
    build_loudness_scan_args,
    extracted_audio,
    upload_audio,
)
from lumiere.media.commands.combined import (
    build_single_command_args,
)
from lumiere.media.commands.common import (
    INIT_SEGMENT,
    SEGMENT_PATTERN,
    VARIANT_PLAYLIST,
    FrameSpan,
    HlsOptions,
    keyframe_interval,
    upload_input,
    video_dirname,
)
from lumiere.media.commands.pictures import (
    POSTER_MAX,
    animated_webp_options,
    build_animation_at_args,
    build_frame_at_args,
    build_poster_args,
    poster_seek_seconds,
)
from lumiere.media.commands.previews import (
    COVER_ART_SUFFIXES,
    PREVIEW_FRAME_RATE,
    WAVEFORM_SAMPLE_RATE,
    PreviewClip,
    build_animated_preview_args,
    build_animation_mp4_args,
    build_cover_art_args,
    build_waveform_pcm_args,
    preview_clips,
)
from lumiere.media.commands.storyboards import (
    STORYBOARD_FILES,
    STORYBOARD_KEYFRAMES_ONLY_FROM,
    build_storyboard_args,
)
from lumiere.media.commands.video import (
    build_download_args,
    build_video_group_args,
    video_codec_options,
    video_outputs,
)

__all__ = [
    "COVER_ART_SUFFIXES",
    "INIT_SEGMENT",
    "POSTER_MAX",
    "PREVIEW_FRAME_RATE",
    "SEGMENT_PATTERN",
    "STORYBOARD_FILES",
    "STORYBOARD_KEYFRAMES_ONLY_FROM",
    "VARIANT_PLAYLIST",
    "WAVEFORM_SAMPLE_RATE",
    "AudioInput",
    "FrameSpan",
    "HlsOptions",
    "PreviewClip",
    "animated_webp_options",
    "build_animated_preview_args",
    "build_animation_at_args",
    "build_animation_mp4_args",
    "build_audio_extract_args",
    "build_audio_track_args",
    "build_cover_art_args",
    "build_download_args",
    "build_frame_at_args",
    "build_loudness_scan_args",
    "build_poster_args",
    "build_single_command_args",
    "build_storyboard_args",
    "build_video_group_args",
    "build_waveform_pcm_args",
    "extracted_audio",
    "keyframe_interval",
    "poster_seek_seconds",
    "preview_clips",
    "upload_audio",
    "upload_input",
    "video_codec_options",
    "video_dirname",
    "video_outputs",
]
