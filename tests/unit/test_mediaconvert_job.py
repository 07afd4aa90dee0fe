"""The MediaConvert CreateJob request: valid for the service model, and the same plan as
the ffmpeg engine (rungs, GOPs aligned to segments, audio renditions, poster)."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.model import Shape
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from lumiere.media.audio import AudioTrack
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import MediaKind, parse_probe
from lumiere.mediaconvert.job_request import (
    ASSET_KEY,
    PLAN_KEY,
    STACK_KEY,
    EngineUnsupported,
    JobTarget,
    build_create_job,
    codec_level,
    frame_rate_fraction,
    poster_interval,
    qvbr_quality,
    stream_name,
)

ASSET = "0123456789abcdef0123456789abcdef"
TARGET = JobTarget(
    asset_id=ASSET,
    source_bucket="lumiere-uploads",
    source_key=f"uploads/{ASSET}/holiday film.mov",
    media_bucket="lumiere-media",
    role_arn="arn:aws:iam::123456789012:role/lumiere-mediaconvert",
    segment_seconds=4.0,
    stack="lumiere",
)
DEFAULT = load_preset("default")
MODEL = botocore.session.get_session().get_service_model("mediaconvert")


def probed(
    width: int = 1920,
    height: int = 1080,
    rate: str = "30000/1001",
    *,
    video: bool = True,
    audio: list[dict[str, Any]] | None = None,
    duration: str = "95.2",
    **video_fields: Any,
) -> Any:
    """A MediaInfo as ingest gets it: parsed from ffprobe's JSON."""
    streams: list[dict[str, Any]] = []
    if video:
        streams.append(
            {
                "index": 0,
                "codec_type": "video",
                "codec_name": "h264",
                "width": width,
                "height": height,
                "pix_fmt": "yuv420p",
                "avg_frame_rate": rate,
                "r_frame_rate": rate,
                **video_fields,
            }
        )
    if audio is None:
        audio = [{"channels": 2, "channel_layout": "stereo", "tags": {"language": "eng"}}]
    for fields in audio:
        streams.append(
            {
                "index": len(streams),
                "codec_type": "audio",
                "codec_name": "aac",
                "sample_rate": "48000",
                **fields,
            }
        )
    fmt = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": duration, "size": "1000"}
    return parse_probe(json.dumps({"format": fmt, "streams": streams}))


def cmaf(request: dict[str, Any]) -> dict[str, Any]:
    [group] = [
        g
        for g in request["Settings"]["OutputGroups"]
        if g["OutputGroupSettings"]["Type"] == "CMAF_GROUP_SETTINGS"
    ]
    return group


def video_outputs(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in cmaf(request)["Outputs"] if "VideoDescription" in o]


def h264(output: dict[str, Any]) -> dict[str, Any]:
    return output["VideoDescription"]["CodecSettings"]["H264Settings"]


# ---------------------------------------------------------------- the service model


def strict_problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """What botocore's ParamValidator leaves to the service: enum values, maximums and
    patterns. A misspelt enum (LEVEL_4_0) would otherwise pass the Stubber."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, member in value.items():
            problems += strict_problems(shape.members[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            problems += strict_problems(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "map":
        for k, v in value.items():
            problems += strict_problems(shape.value, v, f"{path}[{k}]")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
    elif shape.type_name in ("integer", "long", "double"):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} above {meta['max']}")
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} below {meta['min']}")
    return problems


def assert_valid(request: dict[str, Any]) -> None:
    shape = MODEL.operation_model("CreateJob").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert strict_problems(shape, request) == []
    # The Stubber validates against the same model on a real client, and checks that
    # this exact request is what was sent.
    client = boto3.client(
        "mediaconvert",
        region_name="us-east-1",
        endpoint_url="https://mediaconvert.us-east-1.amazonaws.com",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        job = {"Id": "1", "Role": request["Role"], "Settings": request["Settings"]}
        stub.add_response("create_job", {"Job": job}, expected_params=request)
        assert client.create_job(**request)["Job"]["Id"] == "1"
        stub.assert_no_pending_responses()


def test_default_ladder_for_a_probed_1080p_source_validates_against_the_model() -> None:
    request = build_create_job(TARGET, probed(), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    outputs = video_outputs(request)
    expected = plan_ladder(probed(), DEFAULT)
    assert [(o["VideoDescription"]["Width"], o["VideoDescription"]["Height"]) for o in outputs] == [
        (r.width, r.height) for r in expected
    ]
    assert len(expected) == 5  # 1080p down to 240p


def test_a_strict_check_catches_what_the_stubber_lets_through() -> None:
    """The strict walk is what guards the enums: prove it refuses a misspelt one."""
    request = build_create_job(TARGET, probed(), MediaKind.VIDEO, DEFAULT)
    h264(video_outputs(request)[0])["CodecLevel"] = "LEVEL_4_0"
    shape = MODEL.operation_model("CreateJob").input_shape
    assert any("LEVEL_4_0" in p for p in strict_problems(shape, request))


def test_every_rung_matches_the_plan_with_aligned_closed_gops() -> None:
    info = probed()
    request = build_create_job(TARGET, info, MediaKind.VIDEO, DEFAULT)
    group = cmaf(request)["OutputGroupSettings"]["CmafGroupSettings"]
    assert group["SegmentLength"] == 4
    assert group["WriteHlsManifest"] == group["WriteDashManifest"] == "ENABLED"
    assert group["Destination"] == f"s3://lumiere-media/assets/{ASSET}/hls/master"
    for output, rung in zip(video_outputs(request), plan_ladder(info, DEFAULT), strict=True):
        s = h264(output)
        assert output["NameModifier"] == f"_{rung.name}"
        assert s["MaxBitrate"] == rung.max_kbps * 1000
        assert s["HrdBufferSize"] == 2 * rung.max_kbps * 1000
        assert s["CodecLevel"] == "LEVEL_" + rung.level.replace(".0", "").replace(".", "_")
        assert s["CodecProfile"] == "HIGH"
        # Keyframes on the segment grid, identical in every rung.
        assert (s["GopSize"], s["GopSizeUnits"]) == (4.0, "SECONDS")
        assert s["GopClosedCadence"] == 1
        assert s["SceneChangeDetect"] == "DISABLED"
        assert (s["FramerateNumerator"], s["FramerateDenominator"]) == (30000, 1001)
        assert output["ContainerSettings"]["CmfcSettings"]["AudioRenditionSets"] == "audio"


def test_user_metadata_and_token_identify_the_asset_and_plan() -> None:
    request = build_create_job(TARGET, probed(), MediaKind.VIDEO, DEFAULT)
    meta = request["UserMetadata"]
    assert meta[ASSET_KEY] == ASSET
    assert meta[STACK_KEY] == "lumiere"
    assert request["ClientRequestToken"] == f"{ASSET}-{meta[PLAN_KEY]}"
    assert len(request["ClientRequestToken"]) <= 64
    # Same plan, same token (a retried submission is deduplicated); another plan differs.
    again = build_create_job(TARGET, probed(), MediaKind.VIDEO, DEFAULT)
    assert again["ClientRequestToken"] == request["ClientRequestToken"]
    other = build_create_job(TARGET, probed(1280, 720), MediaKind.VIDEO, DEFAULT)
    assert other["UserMetadata"][PLAN_KEY] != meta[PLAN_KEY]
    assert "Queue" not in request
    queued = JobTarget(**{**TARGET.__dict__, "queue": "arn:aws:mediaconvert:us-east-1:1:queues/q"})
    assert build_create_job(queued, probed(), MediaKind.VIDEO, DEFAULT)["Queue"].endswith("/q")


def test_portrait_rotated_phone_video_gets_portrait_rungs_and_auto_rotation() -> None:
    info = probed(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}])
    request = build_create_job(TARGET, info, MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    sizes = [
        (o["VideoDescription"]["Width"], o["VideoDescription"]["Height"])
        for o in video_outputs(request)
    ]
    assert sizes[0] == (1080, 1920)
    assert all(w < h for w, h in sizes)
    assert request["Settings"]["Inputs"][0]["VideoSelector"] == {"Rotate": "AUTO"}


def test_60fps_source_halves_the_frame_rate_below_540p() -> None:
    request = build_create_job(TARGET, probed(rate="60/1"), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    rates = {
        o["NameModifier"]: (h264(o)["FramerateNumerator"], h264(o)["FramerateDenominator"])
        for o in video_outputs(request)
    }
    assert rates == {
        "_1080p": (60, 1),
        "_720p": (60, 1),
        "_540p": (60, 1),
        "_360p": (30, 1),
        "_240p": (30, 1),
    }
    # The 60 fps 1080p rung needs level 4.2; the 30 fps 360p one fits 3.0.
    levels = {o["NameModifier"]: h264(o)["CodecLevel"] for o in video_outputs(request)}
    assert levels["_1080p"] == "LEVEL_4_2"
    assert levels["_360p"] == "LEVEL_3"


def test_audio_only_asset_gets_only_an_audio_variant() -> None:
    info = probed(video=False)
    request = build_create_job(TARGET, info, MediaKind.AUDIO, DEFAULT)
    assert_valid(request)
    groups = request["Settings"]["OutputGroups"]
    assert [g["Name"] for g in groups] == ["CMAF"]  # no poster from an audio file
    [output] = cmaf(request)["Outputs"]
    assert "VideoDescription" not in output
    cmfc = output["ContainerSettings"]["CmfcSettings"]
    assert cmfc["AudioTrackType"] == "AUDIO_ONLY_VARIANT_STREAM"
    [audio] = output["AudioDescriptions"]
    assert audio["CodecSettings"]["AacSettings"]["Bitrate"] == 128_000
    assert audio["CustomLanguageCode"] == "en"
    assert audio["AudioNormalizationSettings"]["TargetLkfs"] == -16.0
    assert "VideoSelector" not in request["Settings"]["Inputs"][0]


def test_each_source_audio_track_is_a_rendition_the_first_default() -> None:
    tracks = [
        {"channels": 6, "channel_layout": "5.1", "tags": {"language": "eng"}},
        {"channels": 2, "channel_layout": "stereo", "tags": {"language": "fra"}},
        {"channels": 2, "channel_layout": "stereo"},
    ]
    request = build_create_job(TARGET, probed(audio=tracks), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    selectors = request["Settings"]["Inputs"][0]["AudioSelectors"]
    assert [s["Tracks"] for s in selectors.values()] == [[1], [2], [3]]
    audio = [o for o in cmaf(request)["Outputs"] if "AudioDescriptions" in o]
    types = [o["ContainerSettings"]["CmfcSettings"]["AudioTrackType"] for o in audio]
    assert types == [
        "ALTERNATE_AUDIO_AUTO_SELECT_DEFAULT",
        "ALTERNATE_AUDIO_AUTO_SELECT",
        "ALTERNATE_AUDIO_AUTO_SELECT",
    ]
    descriptions = [o["AudioDescriptions"][0] for o in audio]
    assert [d.get("CustomLanguageCode") for d in descriptions] == ["en", "fr", None]
    # The 5.1 track is folded to stereo; the stereo ones need no remix.
    assert descriptions[0]["RemixSettings"]["ChannelsIn"] == 6
    assert "RemixSettings" not in descriptions[1]


def test_poster_is_the_second_of_two_captures_a_tenth_of_the_way_in() -> None:
    request = build_create_job(TARGET, probed(duration="95.2"), MediaKind.VIDEO, DEFAULT)
    [poster] = [g for g in request["Settings"]["OutputGroups"] if g["Name"] == "Poster"]
    settings = poster["OutputGroupSettings"]["FileGroupSettings"]
    assert settings["Destination"] == f"s3://lumiere-media/assets/{ASSET}/poster"
    [output] = poster["Outputs"]
    capture = output["VideoDescription"]["CodecSettings"]["FrameCaptureSettings"]
    assert capture["MaxCaptures"] == 2
    assert capture["FramerateDenominator"] == 9  # one frame every 9 s: at 0 and 9 s
    assert (output["VideoDescription"]["Width"], output["VideoDescription"]["Height"]) == (
        1920,
        1080,
    )
    assert poster_interval(0.4) == 1


def test_download_preset_adds_a_progressive_mp4() -> None:
    request = build_create_job(TARGET, probed(), MediaKind.VIDEO, load_preset("download"))
    assert_valid(request)
    [download] = [g for g in request["Settings"]["OutputGroups"] if g["Name"] == "Download"]
    assert download["OutputGroupSettings"]["FileGroupSettings"]["Destination"].endswith(
        f"/assets/{ASSET}/download"
    )
    assert download["Outputs"][0]["ContainerSettings"]["Container"] == "MP4"


def test_interlaced_source_is_deinterlaced() -> None:
    request = build_create_job(TARGET, probed(field_order="tt"), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    for output in video_outputs(request):
        assert output["VideoDescription"]["VideoPreprocessors"]["Deinterlacer"]["Mode"] == (
            "DEINTERLACE"
        )


@pytest.mark.parametrize("preset", ["vp9", "voice"])
def test_presets_this_engine_cannot_honour_are_refused(preset: str) -> None:
    with pytest.raises(EngineUnsupported):
        build_create_job(TARGET, probed(), MediaKind.VIDEO, load_preset(preset))


def test_images_are_not_for_this_engine() -> None:
    with pytest.raises(EngineUnsupported):
        build_create_job(TARGET, probed(), MediaKind.IMAGE, DEFAULT)


def test_small_conversions() -> None:
    assert frame_rate_fraction(23.976) == frame_rate_fraction(23.98) == Fraction(24000, 1001)
    assert frame_rate_fraction(25.0) == 25
    assert codec_level("3.0") == "LEVEL_3"
    assert codec_level("6.0") == "AUTO"  # above what MediaConvert names
    assert qvbr_quality(23) == 7
    assert qvbr_quality(17) == 9
    assert qvbr_quality(50) == 1


def test_silent_video_has_no_audio_selectors_or_renditions() -> None:
    request = build_create_job(TARGET, probed(audio=[]), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    assert "AudioSelectors" not in request["Settings"]["Inputs"][0]
    assert all("AudioDescriptions" not in o for o in cmaf(request)["Outputs"])
    for output in video_outputs(request):
        assert "AudioRenditionSets" not in output["ContainerSettings"]["CmfcSettings"]


def test_mono_goes_to_both_sides_and_names_are_what_the_service_accepts() -> None:
    tracks = [{"channels": 1, "channel_layout": "mono", "tags": {"language": "deu"}}]
    request = build_create_job(TARGET, probed(audio=tracks), MediaKind.VIDEO, DEFAULT)
    assert_valid(request)
    [audio] = [o for o in cmaf(request)["Outputs"] if "AudioDescriptions" in o]
    [description] = audio["AudioDescriptions"]
    assert description["RemixSettings"]["ChannelMapping"]["OutputChannels"] == [
        {"InputChannels": [0]},
        {"InputChannels": [0]},
    ]
    assert description["StreamName"] == "German"
    track = AudioTrack(
        stream_index=3, language="fr", name="Français (2)", channels=2, default=False
    )
    assert stream_name(track) == "Fran ais 2"
