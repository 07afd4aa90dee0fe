"""The analysis part in the pipeline, on the local stack with the offline backend: faces,
audio facts and captions recorded on the asset, captions published as a subtitle
rendition of the HLS package and a text track of the MPD, and analysis failures that
never fail an asset."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import m3u8
import pytest
from lumiere.analysis.captions import word_error_rate
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media
from tests.integration.helpers import (
    assert_package_valid,
    deliver,
    fetch_package,
    process_upload,
    receive,
)

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (test photos) missing")
cv2 = pytest.importorskip("cv2", reason="the analysis extra (OpenCV) is not installed")

FFMPEG = str(find_binaries().ffmpeg)
ESPEAK = shutil.which("espeak-ng")
SENTENCES = (
    "The quick brown fox jumps over the lazy dog. "
    "Please call Stella and ask her to bring these things with her from the store."
)
MPD_NS = {"m": "urn:mpeg:dash:schema:mpd:2011"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        REPO / "template.yaml", run_functions=False, parameters={"AnalysisBackend": "offline"}
    ) as s:
        yield s


@pytest.fixture(scope="module")
def talking_head(media: Media) -> Path:
    """The astronaut photograph for the length of espeak-ng reading SENTENCES: a face to
    find and speech to caption, in one 640x640 H.264/AAC file."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    still = media.dir / "astronaut.png"
    cv2.imwrite(str(still), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    speech = media.dir / "sentences.wav"
    subprocess.run([ESPEAK, "-w", str(speech), SENTENCES], check=True, timeout=60)
    out = media.dir / "talking.mp4"
    run_tool(
        [
            FFMPEG, "-v", "error", "-y",
            "-loop", "1", "-framerate", "10", "-i", str(still),
            "-i", str(speech),
            "-vf", "scale=640:640,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "aac", "-b:a", "96k", "-shortest", str(out),
        ],
        timeout=120,
    )  # fmt: skip
    return out


def _steps(asset: dict[str, Any]) -> dict[str, Any]:
    return asset["outputs"]["analysis"]["steps"]


def test_talking_head_gets_faces_captions_and_a_subtitle_rendition(
    stack: LocalStack, client: LumiereClient, talking_head: Path, tmp_path: Path
) -> None:
    asset = process_upload(stack, client, talking_head, "video/mp4", language="en")
    assert asset["status"] == "READY", asset
    outputs = asset["outputs"]
    analysis = outputs["analysis"]
    assert {n: s["status"] for n, s in _steps(asset).items()} == {
        "faces": "done",
        "moderation": "skipped",  # no offline model: said, not faked
        "audio": "done",
        "captions": "done",
    }
    # One face in every sampled frame, over hers, stamped with the frame's time.
    assert analysis["face_count"] >= 2
    for face in analysis["faces"]:
        assert 0.30 < face["x"] + face["w"] / 2 < 0.60
        assert 0.10 < face["y"] + face["h"] / 2 < 0.45
        assert face["time"] is not None
    assert analysis["audio"]["speech_likely"] is True
    assert analysis["audio"]["integrated_lufs"] < 0
    assert analysis["captions"] == {"cues": analysis["captions"]["cues"], "backend": "moonshine"}
    assert analysis["captions"]["cues"] >= 1

    [captions] = outputs["captions"]
    assert captions["language"] == "en"
    assert captions["automatic"] is True
    root = fetch_package(stack, asset["asset_id"], tmp_path)
    assert_package_valid(root)  # the validator reads the subtitle playlist and its WebVTT
    master = (root / "master.m3u8").read_text()
    assert re.search(
        r'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English \(automatic\)",'
        r'LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="captions/en.m3u8"',
        master,
    )
    variants = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert variants
    assert all('SUBTITLES="subs"' in v for v in variants)
    vtt = (root / "captions" / "en.vtt").read_text()
    assert vtt.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n")
    spoken = " ".join(
        line for line in vtt.splitlines()[2:] if line and "-->" not in line and not line.isdigit()
    )
    wer = word_error_rate(SENTENCES, spoken)
    print(f"\ncaptions through the pipeline: WER {wer:.1%}\n{vtt}")
    # espeak's robotic voice, through AAC: Moonshine still gets most words (25 % on the WAV).
    assert wer < 0.6

    # A third-party parser (the m3u8 package, not our validator) follows the master's
    # subtitle group to the WebVTT file, as a player does. (ffmpeg 6.0's HLS reader
    # ignores SUBTITLES groups, so ffprobe cannot show this.)
    parsed = m3u8.load(str(root / "master.m3u8"))
    [subs] = [m for m in parsed.media if m.type == "SUBTITLES"]
    assert (subs.language, subs.group_id) == ("en", "subs")
    assert all(p.stream_info.subtitles == "subs" for p in parsed.playlists)
    track = m3u8.load(str(root / subs.uri))
    assert [seg.uri for seg in track.segments] == ["en.vtt"]
    assert track.is_endlist
    assert track.playlist_type == "vod"
    assert abs(track.segments[0].duration - asset["probe"]["duration"]) < 0.5

    # The DASH manifest names the same captions as a text adaptation set.
    mpd = ET.fromstring((root / "manifest.mpd").read_text())  # noqa: S314 - our own output
    [text] = [
        a for a in mpd.iter(f"{{{MPD_NS['m']}}}AdaptationSet") if a.get("contentType") == "text"
    ]
    assert text.get("mimeType") == "text/vtt"
    assert text.get("lang") == "en"
    assert text.find("m:Representation/m:BaseURL", MPD_NS).text == "captions/en.vtt"

    # The whole analysis is a JSON document beside the outputs, with every face.
    document = stack.client("s3").get_object(
        Bucket=stack.spec.functions["AnalysisFunction"].environment["MEDIA_BUCKET"],
        Key=analysis["document"],
    )
    assert b'"caption_backend": "moonshine"' in document["Body"].read()


def test_music_is_not_captioned(stack: LocalStack, client: LumiereClient, media: Media) -> None:
    asset = process_upload(stack, client, media.tone, "audio/wav")
    assert asset["status"] == "READY"
    steps = _steps(asset)
    assert steps["audio"]["status"] == "done"
    assert steps["captions"] == {
        "status": "skipped",
        "reason": "no_speech",
        "message": "No speech was heard (music or silence).",
    }
    assert "captions" not in asset["outputs"]
    assert "faces" not in steps  # audio has no pictures


def test_unsupported_language_is_reported_not_guessed(
    stack: LocalStack, client: LumiereClient, talking_head: Path
) -> None:
    asset = process_upload(stack, client, talking_head, "video/mp4", language="fr")
    assert asset["status"] == "READY"
    captions = _steps(asset)["captions"]
    assert captions["status"] == "skipped"
    assert captions["reason"] == "unsupported_language"
    assert "'fr'" in captions["message"]
    assert "captions" not in asset["outputs"]


def test_still_image_faces_are_recorded(
    stack: LocalStack, client: LumiereClient, talking_head: Path, media: Media
) -> None:
    asset = process_upload(stack, client, media.dir / "astronaut.png", "image/png")
    assert asset["status"] == "READY"
    [face] = asset["outputs"]["analysis"]["faces"]
    assert face["time"] is None
    assert 0.3 < face["x"] < 0.4
    assert set(_steps(asset)) == {"faces", "moderation"}


def test_a_failing_step_never_fails_the_asset(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumiere.pipeline.parts import analysis

    def broken(job: Any) -> Any:
        raise RuntimeError("detector exploded")

    monkeypatch.setattr(analysis, "_faces", broken)
    asset = process_upload(stack, client, media.clip, "video/mp4")
    assert asset["status"] == "READY"
    assert asset["outputs"]["hls"]["renditions"]  # playback outputs are all there
    faces = _steps(asset)["faces"]
    assert faces["status"] == "failed"
    assert faces["reason"] == "analysis_failed"
    assert "RuntimeError" in faces["message"]
    assert _steps(asset)["audio"]["status"] == "done"


def test_last_delivery_gives_up_and_the_asset_still_finishes(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    """An analysis that keeps failing (here: every delivery until the last one is lost)
    is completed as given up on the queue's last delivery, not parked in the DLQ with
    its asset stuck in PROCESSING."""
    asset_id = client.upload_file(media.clip, content_type="video/mp4").asset_id
    deliver(stack, "IngestFunction", receive(stack, "IngestQueue"))
    for message in receive(stack, "TranscodeQueue"):
        assert deliver(stack, "TranscodeFunction", [message]) == {"batchItemFailures": []}
    assert client.get_asset(asset_id)["status"] == "PROCESSING"
    sqs = stack.client("sqs")
    url = stack.spec.queues["AnalysisQueue"].url
    for _ in range(2):  # two deliveries that never finish (a Lambda that timed out)
        [lost] = receive(stack, "AnalysisQueue")
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=lost["ReceiptHandle"], VisibilityTimeout=0
        )
    [last] = receive(stack, "AnalysisQueue")
    assert last["Attributes"]["ApproximateReceiveCount"] == "3"
    assert deliver(stack, "AnalysisFunction", [last]) == {"batchItemFailures": []}
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY"
    assert asset["outputs"]["analysis"]["status"] == "failed"
    assert "did not finish in 3 attempts" in asset["outputs"]["analysis"]["steps"]["all"]["message"]
