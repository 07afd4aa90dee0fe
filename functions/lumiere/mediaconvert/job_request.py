"""The plan of an asset as one MediaConvert CreateJob request.

The rungs are plan_ladder's (same sizes, frame rates, bit rate caps, H.264 levels), the
audio renditions plan_audio_tracks' (one per source track, loudness-normalised to the
preset's target) and the poster a frame capture, so an asset looks the same whichever
engine made it. Everything lands under the asset's own prefix in MediaBucket:

    assets/{id}/hls/master.m3u8, master.mpd      one CMAF group: HLS and DASH manifests
    assets/{id}/hls/master_{rendition}.*         each rendition's playlist and segments
    assets/{id}/poster.0000001.jpg               frame capture (MediaConvert numbers it)
    assets/{id}/download.mp4                     presets with a progressive download

MediaConvert names files after the destination's base name plus each output's name
modifier, so the DASH manifest is master.mpd (not manifest.mpd as the ffmpeg engine
writes) and the poster carries a frame number: the completion event says which files it
wrote, and those keys are what the asset records.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lumiere.media.audio import UNDETERMINED, AudioTrack, plan_audio_tracks
from lumiere.media.ladder import LadderPreset, Rendition, plan_ladder
from lumiere.media.streams import MediaInfo, MediaKind
from lumiere.pipeline import keys

# Bumped when the layout of the request changes, so a job from an older deployment is
# recognisable in its event.
REQUEST_FORMAT = 1
MASTER_BASENAME = "master"
POSTER_BASENAME = "poster"
DOWNLOAD_BASENAME = "download"
AUDIO_GROUP = "audio"
# UserMetadata keys; the stack's EventBridge rule matches on STACK_KEY.
ASSET_KEY, PLAN_KEY, STACK_KEY = "lumiere_asset_id", "lumiere_plan", "lumiere_stack"
# The poster is the last of two captures, the second a tenth of the way in (the ffmpeg
# engine's pick too): the first frame is often black.
POSTER_FRACTION = 0.1
# MediaConvert's codec levels stop at 5.2; above that it chooses (AUTO).
_LEVELS = {
    "3.0": "LEVEL_3", "3.1": "LEVEL_3_1", "3.2": "LEVEL_3_2", "4.0": "LEVEL_4",
    "4.1": "LEVEL_4_1", "4.2": "LEVEL_4_2", "5.0": "LEVEL_5", "5.1": "LEVEL_5_1",
    "5.2": "LEVEL_5_2",
}  # fmt: skip
_PROFILES = {"baseline": "BASELINE", "main": "MAIN", "high": "HIGH"}
# The usual NTSC rates are exact fractions; anything else is approximated.
_NTSC = {23.976: Fraction(24000, 1001), 29.97: Fraction(30000, 1001), 59.94: Fraction(60000, 1001)}
# Source channel layouts folded to stereo, gains in dB per input channel (-60 is
# silence): the ITU downmix the ffmpeg engine gets from swresample, centre and surrounds
# at -3 dB, LFE dropped; mono goes to both sides. Other layouts are left to MediaConvert.
_TO_STEREO = {
    1: [[0], [0]],
    6: [[0, -60, -3, -60, -3, -60], [-60, 0, -3, -60, -60, -3]],  # L R C LFE Ls Rs
    8: [  # L R C LFE Ls Rs Lb Rb
        [0, -60, -3, -60, -3, -60, -3, -60],
        [-60, 0, -3, -60, -60, -3, -60, -3],
    ],
}


class EngineUnsupported(ValueError):
    """The preset asks for something this engine does not make (VP9, FFT denoise)."""


@dataclass(frozen=True)
class JobTarget:
    """Where a job reads and writes, and as whom; from the deployment's settings."""

    asset_id: str
    source_bucket: str
    source_key: str
    media_bucket: str
    role_arn: str
    segment_seconds: float
    queue: str = ""  # a queue ARN; empty: the account's Default queue
    stack: str = ""  # the deployment, so its EventBridge rule sees only its own jobs


def check_supported(preset: LadderPreset) -> None:
    if preset.video.codec != "h264":
        raise EngineUnsupported(
            f"MediaConvert's CMAF output carries H.264 here, not {preset.video.codec}"
        )
    if preset.audio.denoise:
        raise EngineUnsupported("MediaConvert has no equivalent of the FFT audio denoise")


def build_create_job(
    target: JobTarget, info: MediaInfo, kind: MediaKind, preset: LadderPreset
) -> dict[str, Any]:
    """The CreateJob parameters (boto3 spelling) for a video or audio asset."""
    check_supported(preset)
    if kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
        raise EngineUnsupported(f"MediaConvert makes no {kind.value} outputs here")
    ladder = plan_ladder(info, preset) if kind is MediaKind.VIDEO else []
    tracks = plan_audio_tracks(info)
    video = Encode(segment_length(target.segment_seconds), _interlaced(info))
    groups = [_cmaf_group(target, ladder, tracks, preset, video, audio_only=not ladder)]
    if ladder and info.duration:
        groups.append(_poster_group(target, ladder[0], info.duration))
    if ladder and preset.download:
        groups.append(_download_group(target, ladder[0], tracks[:1], preset, video))
    the_input: dict[str, Any] = {
        # By key: MediaConvert cannot read a given S3 version, so unlike the ffmpeg engine
        # the job does not pin the version ingest probed (the key is written once per
        # upload ticket; a second write is the rare case this leaves open).
        "FileInput": f"s3://{target.source_bucket}/{target.source_key}",
        "TimecodeSource": "ZEROBASED",
    }
    if tracks:
        the_input["AudioSelectors"] = _audio_selectors(tracks)
    if ladder:
        # Display rotation applied, as plan_ladder's portrait rungs assume.
        the_input["VideoSelector"] = {"Rotate": "AUTO"}
    settings: dict[str, Any] = {
        "TimecodeConfig": {"Source": "ZEROBASED"},
        "Inputs": [the_input],
        "OutputGroups": groups,
    }
    plan = plan_digest(settings)
    request: dict[str, Any] = {
        "Role": target.role_arn,
        "Settings": settings,
        "UserMetadata": {
            ASSET_KEY: target.asset_id,
            PLAN_KEY: plan,
            STACK_KEY: target.stack,
        },
        "ClientRequestToken": client_request_token(target.asset_id, plan),
        # Progress events every minute feed the asset's percentage.
        "StatusUpdateInterval": "SECONDS_60",
    }
    if target.queue:
        request["Queue"] = target.queue
    return request


def plan_digest(settings: dict[str, Any]) -> str:
    """A short fingerprint of what the job makes: the same plan gives the same digest."""
    body = json.dumps({"format": REQUEST_FORMAT, "settings": settings}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def client_request_token(asset_id: str, plan: str) -> str:
    """Idempotency of CreateJob: a retried submission of the same plan for the same asset
    within MediaConvert's window returns the first job instead of starting a second."""
    return f"{asset_id}-{plan}"  # 45 ASCII characters; MediaConvert allows 64


def segment_length(seconds: float) -> int:
    """MediaConvert's segment length is whole seconds."""
    return max(1, round(seconds))


def frame_rate_fraction(rate: float) -> Fraction:
    for nominal, exact in _NTSC.items():
        if abs(rate - nominal) < 0.01:
            return exact
    return Fraction(rate).limit_denominator(1001)


def codec_level(level: str) -> str:
    return _LEVELS.get(level, "AUTO")


def qvbr_quality(crf: int) -> int:
    """x264 CRF to MediaConvert's QVBR level (1-10): CRF 23, x264's default and the
    presets', is QVBR 7, AWS's recommendation for 1080p; three CRF steps per level."""
    return min(10, max(1, round(7 - (crf - 23) / 3)))


def quality_tuning(x264_preset: str) -> str:
    if x264_preset in ("ultrafast", "superfast", "veryfast", "faster"):
        return "SINGLE_PASS"
    if x264_preset in ("fast", "medium"):
        return "SINGLE_PASS_HQ"
    return "MULTI_PASS_HQ"


def h264_settings(rung: Rendition, segment: int) -> dict[str, Any]:
    """One rung: capped quality-defined VBR, every segment one closed GOP starting on a
    keyframe at the same instant in every rung (scene-cut keyframes off)."""
    settings: dict[str, Any] = {
        "RateControlMode": "QVBR",
        "QvbrSettings": {"QvbrQualityLevel": qvbr_quality(rung.video.crf)},
        "MaxBitrate": rung.max_kbps * 1000,
        "HrdBufferSize": rung.bufsize_kbps * 1000,
        "CodecProfile": _PROFILES.get((rung.video.profile or "high").lower(), "HIGH"),
        "CodecLevel": codec_level(rung.level),
        "GopSize": float(segment),
        "GopSizeUnits": "SECONDS",
        "GopClosedCadence": 1,
        "SceneChangeDetect": "DISABLED",
        "MinIInterval": 0,
        "InterlaceMode": "PROGRESSIVE",
        # Square pixels, as plan_ladder's sizes are display sizes.
        "ParControl": "SPECIFIED",
        "ParNumerator": 1,
        "ParDenominator": 1,
        "QualityTuningLevel": quality_tuning(rung.video.preset),
        "AdaptiveQuantization": "AUTO",
    }
    if rung.frame_rate:
        rate = frame_rate_fraction(rung.frame_rate)
        settings.update(
            FramerateControl="SPECIFIED",
            FramerateNumerator=rate.numerator,
            FramerateDenominator=rate.denominator,
            FramerateConversionAlgorithm="DUPLICATE_DROP",
        )
    else:
        settings["FramerateControl"] = "INITIALIZE_FROM_SOURCE"
    return settings


@dataclass(frozen=True)
class Encode:
    """What every video output shares: the GOP (= segment) length, and whether the source
    needs deinterlacing (the rungs are progressive)."""

    segment: int
    deinterlace: bool = False


def _interlaced(info: MediaInfo) -> bool:
    video = info.primary_video
    return video is not None and video.is_interlaced


def _video_description(rung: Rendition, encode: Encode) -> dict[str, Any]:
    description: dict[str, Any] = {
        "Width": rung.width,
        "Height": rung.height,
        "ScalingBehavior": "DEFAULT",
        "Sharpness": 50,
        "ColorMetadata": "INSERT",
        "CodecSettings": {"Codec": "H_264", "H264Settings": h264_settings(rung, encode.segment)},
    }
    if encode.deinterlace:
        description["VideoPreprocessors"] = {
            "Deinterlacer": {"Mode": "DEINTERLACE", "Algorithm": "INTERPOLATE"}
        }
    return description


def stream_name(track: AudioTrack) -> str:
    """The name players show; MediaConvert accepts only word characters and spaces."""
    # ASCII: the service's pattern is a Java regex, whose \w is [A-Za-z0-9_].
    cleaned = re.sub(r"[^\w\s]", " ", track.name, flags=re.ASCII)
    return re.sub(r"\s+", " ", cleaned).strip() or "Audio"


def selector_name(n: int) -> str:
    return f"Audio Selector {n + 1}"


def _audio_selectors(tracks: list[AudioTrack]) -> dict[str, Any]:
    # TRACK numbers count the source's audio tracks from 1, in the order ffprobe lists
    # them, which is plan_audio_tracks' order.
    return {
        selector_name(n): {
            "SelectorType": "TRACK",
            "Tracks": [n + 1],
            **({"DefaultSelection": "DEFAULT"} if track.default else {}),
        }
        for n, track in enumerate(tracks)
    }


def audio_description(track: AudioTrack, n: int, preset: LadderPreset) -> dict[str, Any]:
    audio = preset.audio
    description: dict[str, Any] = {
        "AudioSourceName": selector_name(n),
        "StreamName": stream_name(track),
        "CodecSettings": {
            "Codec": "AAC",
            "AacSettings": {
                "Bitrate": audio.bitrate_kbps * 1000,
                "CodingMode": "CODING_MODE_1_0" if audio.channels == 1 else "CODING_MODE_2_0",
                "SampleRate": audio.sample_rate,
                "CodecProfile": "LC",
                "RateControlMode": "CBR",
                "RawFormat": "NONE",
                "Specification": "MPEG4",
            },
        },
    }
    if track.language != UNDETERMINED:
        description.update(LanguageCodeControl="USE_CONFIGURED", CustomLanguageCode=track.language)
    if audio.loudness is not None:
        description["AudioNormalizationSettings"] = {
            "Algorithm": "ITU_BS_1770_3",
            "AlgorithmControl": "CORRECT_AUDIO",
            "TargetLkfs": audio.loudness.integrated,
            "PeakCalculation": "TRUE_PEAK",
            "TruePeakLimiterThreshold": audio.loudness.true_peak,
            "LoudnessLogging": "DONT_LOG",
        }
    if audio.channels == 2 and track.channels in _TO_STEREO:
        description["RemixSettings"] = {
            "ChannelsIn": track.channels,
            "ChannelsOut": 2,
            "ChannelMapping": {
                "OutputChannels": [{"InputChannels": gains} for gains in _TO_STEREO[track.channels]]
            },
        }
    return description


def audio_modifier(track: AudioTrack) -> str:
    return f"_{track.dirname}"


def video_modifier(rung: Rendition) -> str:
    return f"_{rung.name}"


def _cmaf_group(
    target: JobTarget,
    ladder: list[Rendition],
    tracks: list[AudioTrack],
    preset: LadderPreset,
    encode: Encode,
    *,
    audio_only: bool,
) -> dict[str, Any]:
    destination = f"s3://{target.media_bucket}/{keys.hls_prefix(target.asset_id)}"
    outputs: list[dict[str, Any]] = []
    for rung in ladder:
        cmfc: dict[str, Any] = {"IFrameOnlyManifest": "INCLUDE"}  # scrubbing, as ffmpeg's
        if tracks:
            cmfc["AudioRenditionSets"] = AUDIO_GROUP
        outputs.append(
            {
                "NameModifier": video_modifier(rung),
                "ContainerSettings": {"Container": "CMFC", "CmfcSettings": cmfc},
                "VideoDescription": _video_description(rung, encode),
            }
        )
    for n, track in enumerate(tracks):
        if audio_only:
            track_type = "AUDIO_ONLY_VARIANT_STREAM"
        elif track.default:
            track_type = "ALTERNATE_AUDIO_AUTO_SELECT_DEFAULT"
        else:
            track_type = "ALTERNATE_AUDIO_AUTO_SELECT"
        outputs.append(
            {
                "NameModifier": audio_modifier(track),
                "ContainerSettings": {
                    "Container": "CMFC",
                    "CmfcSettings": {"AudioGroupId": AUDIO_GROUP, "AudioTrackType": track_type},
                },
                "AudioDescriptions": [audio_description(track, n, preset)],
            }
        )
    return {
        "Name": "CMAF",
        "OutputGroupSettings": {
            "Type": "CMAF_GROUP_SETTINGS",
            "CmafGroupSettings": {
                "Destination": destination + MASTER_BASENAME,
                "SegmentLength": encode.segment,
                "FragmentLength": encode.segment,
                "SegmentControl": "SEGMENTED_FILES",
                # Segments end on the GOPs, which are exactly one segment long.
                "SegmentLengthControl": "GOP_MULTIPLE",
                "WriteHlsManifest": "ENABLED",
                "WriteDashManifest": "ENABLED",
                "WriteSegmentTimelineInRepresentation": "ENABLED",
                "MpdProfile": "MAIN_PROFILE",
                "ManifestDurationFormat": "FLOATING_POINT",
                "CodecSpecification": "RFC_6381",
                "StreamInfResolution": "INCLUDE",
                "TargetDurationCompatibilityMode": "SPEC_COMPLIANT",
                "ClientCache": "ENABLED",
            },
        },
        "Outputs": outputs,
    }


def poster_interval(duration: float) -> int:
    """Seconds between the two frame captures: the second is the poster."""
    return max(1, math.floor(duration * POSTER_FRACTION))


def _poster_group(target: JobTarget, top: Rendition, duration: float) -> dict[str, Any]:
    return {
        "Name": "Poster",
        "OutputGroupSettings": {
            "Type": "FILE_GROUP_SETTINGS",
            "FileGroupSettings": {
                "Destination": (
                    f"s3://{target.media_bucket}/{keys.asset_prefix(target.asset_id)}"
                    + POSTER_BASENAME
                )
            },
        },
        "Outputs": [
            {
                "ContainerSettings": {"Container": "RAW"},
                "Extension": "jpg",
                "VideoDescription": {
                    "Width": top.width,
                    "Height": top.height,
                    "ScalingBehavior": "DEFAULT",
                    "CodecSettings": {
                        "Codec": "FRAME_CAPTURE",
                        "FrameCaptureSettings": {
                            "FramerateNumerator": 1,
                            "FramerateDenominator": poster_interval(duration),
                            "MaxCaptures": 2,
                            "Quality": 80,
                        },
                    },
                },
            }
        ],
    }


def _download_group(
    target: JobTarget,
    top: Rendition,
    tracks: list[AudioTrack],
    preset: LadderPreset,
    encode: Encode,
) -> dict[str, Any]:
    output: dict[str, Any] = {
        "ContainerSettings": {
            "Container": "MP4",
            "Mp4Settings": {"MoovPlacement": "PROGRESSIVE_DOWNLOAD"},
        },
        "VideoDescription": _video_description(top, encode),
    }
    if tracks:
        output["AudioDescriptions"] = [audio_description(tracks[0], 0, preset)]
    return {
        "Name": "Download",
        "OutputGroupSettings": {
            "Type": "FILE_GROUP_SETTINGS",
            "FileGroupSettings": {
                "Destination": (
                    f"s3://{target.media_bucket}/{keys.asset_prefix(target.asset_id)}"
                    + DOWNLOAD_BASENAME
                )
            },
        },
        "Outputs": [output],
    }
