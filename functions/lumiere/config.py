"""Settings, read from the environment in one place.

Handlers build a ``Settings`` once per cold start; library code receives values, it never
reads the environment itself. Defaults work for the local stack.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    return int(raw) if raw.strip() else default


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    return float(raw) if raw.strip() else default


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``"127.0.0.1/32, ::1"`` -> networks (IMPORT_ALLOWED_NETWORKS)."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip()
    )


ANALYSIS_BACKENDS = ("offline", "aws", "off")
# The offline backend's speech recogniser: Moonshine tiny (words) with pocketsphinx
# (utterances, word times), or pocketsphinx alone.
SPEECH_ENGINES = ("moonshine", "pocketsphinx")
# Where `scripts/bootstrap` fetches the Moonshine model in a checkout; AnalysisFunction's
# image sets SPEECH_MODEL_DIR to its own copy.
LOCAL_SPEECH_MODEL_DIR = str(Path(__file__).resolve().parents[2] / ".models" / "moonshine-tiny")
# HLS encryption of an asset's media segments: none, or AES-128 with a per-asset key.
ENCRYPTION_NONE, ENCRYPTION_AES_128 = "none", "aes-128"
ENCRYPTIONS = (ENCRYPTION_NONE, ENCRYPTION_AES_128)


FFMPEG, MEDIACONVERT = "ffmpeg", "mediaconvert"
TRANSCODE_ENGINES = (FFMPEG, MEDIACONVERT)


def _engine(env: Mapping[str, str], default: str) -> str:
    raw = env.get("TRANSCODE_ENGINE", "").strip().lower() or default
    if raw not in TRANSCODE_ENGINES:
        raise ValueError(f"TRANSCODE_ENGINE must be one of {TRANSCODE_ENGINES}, not {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    assets_table: str = "lumiere-local-AssetsTable"
    idempotency_table: str = "lumiere-local-IdempotencyTable"
    uploads_bucket: str = "lumiere-local-uploads"
    media_bucket: str = "lumiere-local-mediabucket"
    transcode_queue_url: str = ""
    # Imports from a URL (POST /uploads/url) go to ImportFunction through this queue;
    # empty: this deployment does not import.
    import_queue_url: str = ""
    # Networks an import may fetch from although they are not on the public internet
    # ("127.0.0.1/32,::1"): the tests' file servers. Empty everywhere else, so an import
    # can never reach the metadata service, a VPC neighbour or the local stack's moto.
    import_allowed_networks: str = ""
    # The analysis stage (faces, audio facts, captions): "offline" (OpenCV, pocketsphinx),
    # "aws" (Rekognition, Transcribe) or "off". It runs only where its queue exists.
    analysis_backend: str = "offline"
    analysis_queue_url: str = ""
    # Captions are made in the upload's language, else the audio stream's tag, else this
    # (empty: no captions for audio of unstated language).
    default_caption_language: str = "en"
    speech_engine: str = "moonshine"
    speech_model_dir: str = LOCAL_SPEECH_MODEL_DIR
    # Seconds between the video frames searched for faces (scene changes are added).
    face_sample_seconds: float = 2.0
    # The moderation policy (media/presets/moderation_<name>.json); empty: no moderation
    # step. Only the aws backend has a moderation model (Rekognition).
    moderation_policy: str = "default"
    # Public base of MediaBucket (CloudFront, or the local CDN). Empty: presigned URLs.
    media_base_url: str = ""
    event_bus_name: str = "default"
    # Signed POST on READY/FAILED; empty URL means no webhook.
    webhook_url: str = ""
    webhook_secret: str = ""
    max_upload_bytes: int = 5 * 1024**3
    upload_url_ttl_seconds: int = 900
    # GET /assets/{id}/original hands out a presigned GET of the upload valid this long.
    download_url_ttl_seconds: int = 300
    # ffprobe/ffmpeg read the source through a presigned GET valid this long.
    source_url_ttl_seconds: int = 3600
    max_duration_seconds: float = 4 * 3600.0
    max_pixels: int = 8192 * 8192
    max_streams: int = 32
    segment_seconds: float = 4.0
    ladder_preset: str = "default"
    # Video rungs are split into this many parallel transcode tasks (see pipeline/plan.py).
    video_tasks: int = 1
    # One transcode task's budget (see pipeline/plan.py TaskBudget): seconds of encoding,
    # and the output pixels per second a task encodes.
    task_budget_seconds: float = 720.0
    encode_pixel_rate: float = 110e6
    # Video longer than this (seconds, constant frame rate) is encoded in time chunks of
    # CHUNK_SECONDS, one task per (rung group x chunk), stitched by the fan-in
    # (pipeline/plan.py plan_chunks). A whole number of segments per chunk.
    chunk_threshold_seconds: float = 900.0
    chunk_seconds: float = 120.0
    # At most one progress write per part this often.
    progress_interval_seconds: float = 2.0
    # HMAC key of /img/ transformation links; empty turns the endpoint off.
    image_signing_secret: str = ""
    image_preset: str = "default"
    # CloudFront signed playback: the public key's id in the distribution's trusted key
    # group, the Secrets Manager secret holding its private key (PEM), and how long a
    # signature lasts. Empty id or secret: media URLs are not signed.
    playback_key_pair_id: str = ""
    playback_key_secret: str = ""
    playback_ttl_seconds: int = 900
    # Public assets (served unsigned under the CDN's /public/ path): the CloudFront
    # KeyValueStore of public asset ids that the distribution's Function reads, and the
    # distribution whose public paths are invalidated when an asset goes private. The
    # local stack names a DynamoDB table standing in for the store instead. None of them:
    # assets cannot be made public.
    public_assets_kvs_arn: str = ""
    media_distribution_id: str = ""
    public_assets_table: str = ""
    # HLS AES-128: the default for uploads that do not choose ("none" or "aes-128"); the
    # KMS key (id, ARN or alias) that wraps each asset's content key; and the API's base
    # URL, which the media playlists name for the key (GET {api_url}/assets/{id}/key).
    hls_encryption: str = ENCRYPTION_NONE
    content_key_id: str = ""
    api_url: str = ""
    # Must equal the queues' maxReceiveCount: on the last attempt a failing asset is
    # marked FAILED instead of being left half-done in the dead-letter queue.
    max_attempts: int = 3
    work_dir: str = "/tmp/lumiere"  # noqa: S108 - Lambda's only writable disk
    # Safety margin left to the Lambda when deriving ffmpeg's timeout from remaining time.
    tool_timeout_margin_seconds: float = 20.0
    # Who transcodes video and audio: our ffmpeg functions, or AWS Elemental MediaConvert
    # (lumiere/mediaconvert/); images always go through ffmpeg/Pillow.
    transcode_engine: str = FFMPEG
    # The role MediaConvert assumes to read uploads and write MediaBucket.
    mediaconvert_role_arn: str = ""
    # A queue ARN; empty: the account's Default queue.
    mediaconvert_queue: str = ""
    # Empty: the SDK's regional endpoint (account endpoints are no longer needed).
    mediaconvert_endpoint: str = ""
    # The deployment's name, carried in each job's metadata so its EventBridge rule sees
    # only its own jobs.
    stack_name: str = ""

    def __post_init__(self) -> None:
        segments = self.chunk_seconds / self.segment_seconds if self.segment_seconds > 0 else 0
        if segments < 1 or abs(segments - round(segments)) > 1e-9:
            raise ValueError(
                f"CHUNK_SECONDS is {self.chunk_seconds:g}; it must be a positive multiple of "
                f"SEGMENT_SECONDS ({self.segment_seconds:g}) so chunks join on segment bounds"
            )
        if self.hls_encryption not in ENCRYPTIONS:
            raise ValueError(
                f"HLS_ENCRYPTION is {self.hls_encryption!r}; use one of " + ", ".join(ENCRYPTIONS)
            )
        if self.hls_encryption == ENCRYPTION_AES_128 and self.transcode_engine != FFMPEG:
            # Else every upload would be refused; MediaConvert writes its own packages.
            raise ValueError("HLS_ENCRYPTION=aes-128 needs TRANSCODE_ENGINE=ffmpeg")
        try:
            parse_networks(self.import_allowed_networks)
        except ValueError as e:
            raise ValueError(f"IMPORT_ALLOWED_NETWORKS: {e}") from e
        if self.speech_engine not in SPEECH_ENGINES:
            raise ValueError(
                f"SPEECH_ENGINE is {self.speech_engine!r}; use one of " + ", ".join(SPEECH_ENGINES)
            )
        if self.analysis_backend not in ANALYSIS_BACKENDS:
            raise ValueError(
                f"ANALYSIS_BACKEND is {self.analysis_backend!r}; use one of "
                + ", ".join(ANALYSIS_BACKENDS)
            )

    @property
    def import_networks(self) -> tuple[IpNetwork, ...]:
        return parse_networks(self.import_allowed_networks)

    @property
    def analysis_enabled(self) -> bool:
        return self.analysis_backend != "off" and bool(self.analysis_queue_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            assets_table=env.get("ASSETS_TABLE", d.assets_table),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", d.idempotency_table),
            uploads_bucket=env.get("UPLOADS_BUCKET", d.uploads_bucket),
            media_bucket=env.get("MEDIA_BUCKET", d.media_bucket),
            transcode_queue_url=env.get("TRANSCODE_QUEUE_URL", d.transcode_queue_url),
            import_queue_url=env.get("IMPORT_QUEUE_URL", d.import_queue_url),
            import_allowed_networks=env.get(
                "IMPORT_ALLOWED_NETWORKS", d.import_allowed_networks
            ).strip(),
            analysis_backend=env.get("ANALYSIS_BACKEND", d.analysis_backend).strip().lower(),
            analysis_queue_url=env.get("ANALYSIS_QUEUE_URL", d.analysis_queue_url),
            default_caption_language=env.get(
                "DEFAULT_CAPTION_LANGUAGE", d.default_caption_language
            ).strip(),
            speech_engine=env.get("SPEECH_ENGINE", d.speech_engine).strip().lower()
            or d.speech_engine,
            speech_model_dir=env.get("SPEECH_MODEL_DIR", "").strip() or d.speech_model_dir,
            face_sample_seconds=_float(env, "FACE_SAMPLE_SECONDS", d.face_sample_seconds),
            moderation_policy=env.get("MODERATION_POLICY", d.moderation_policy).strip(),
            media_base_url=env.get("MEDIA_BASE_URL", d.media_base_url).rstrip("/"),
            event_bus_name=env.get("EVENT_BUS_NAME", d.event_bus_name),
            webhook_url=env.get("WEBHOOK_URL", d.webhook_url),
            webhook_secret=env.get("WEBHOOK_SECRET", d.webhook_secret),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", d.max_upload_bytes),
            upload_url_ttl_seconds=_int(env, "UPLOAD_URL_TTL_SECONDS", d.upload_url_ttl_seconds),
            download_url_ttl_seconds=_int(
                env, "DOWNLOAD_URL_TTL_SECONDS", d.download_url_ttl_seconds
            ),
            source_url_ttl_seconds=_int(env, "SOURCE_URL_TTL_SECONDS", d.source_url_ttl_seconds),
            max_duration_seconds=_float(env, "MAX_DURATION_SECONDS", d.max_duration_seconds),
            max_pixels=_int(env, "MAX_PIXELS", d.max_pixels),
            max_streams=_int(env, "MAX_STREAMS", d.max_streams),
            segment_seconds=_float(env, "SEGMENT_SECONDS", d.segment_seconds),
            ladder_preset=env.get("LADDER_PRESET", d.ladder_preset),
            video_tasks=max(1, _int(env, "VIDEO_TASKS", d.video_tasks)),
            task_budget_seconds=_float(env, "TASK_BUDGET_SECONDS", d.task_budget_seconds),
            encode_pixel_rate=_float(env, "ENCODE_PIXEL_RATE", d.encode_pixel_rate),
            chunk_threshold_seconds=_float(
                env, "CHUNK_THRESHOLD_SECONDS", d.chunk_threshold_seconds
            ),
            chunk_seconds=_float(env, "CHUNK_SECONDS", d.chunk_seconds),
            progress_interval_seconds=_float(
                env, "PROGRESS_INTERVAL_SECONDS", d.progress_interval_seconds
            ),
            image_signing_secret=env.get("IMAGE_SIGNING_SECRET", d.image_signing_secret),
            image_preset=env.get("IMAGE_PRESET", d.image_preset),
            playback_key_pair_id=env.get("PLAYBACK_KEY_PAIR_ID", d.playback_key_pair_id),
            playback_key_secret=env.get("PLAYBACK_KEY_SECRET", d.playback_key_secret),
            playback_ttl_seconds=_int(env, "PLAYBACK_TTL_SECONDS", d.playback_ttl_seconds),
            public_assets_kvs_arn=env.get("PUBLIC_ASSETS_KVS_ARN", d.public_assets_kvs_arn),
            media_distribution_id=env.get("MEDIA_DISTRIBUTION_ID", d.media_distribution_id),
            public_assets_table=env.get("PUBLIC_ASSETS_TABLE", d.public_assets_table),
            hls_encryption=env.get("HLS_ENCRYPTION", "").strip().lower() or d.hls_encryption,
            content_key_id=env.get("CONTENT_KEY_ID", d.content_key_id),
            api_url=env.get("API_URL", d.api_url).rstrip("/"),
            max_attempts=_int(env, "MAX_ATTEMPTS", d.max_attempts),
            work_dir=env.get("LUMIERE_WORK_DIR", d.work_dir),
            tool_timeout_margin_seconds=_float(
                env, "TOOL_TIMEOUT_MARGIN_SECONDS", d.tool_timeout_margin_seconds
            ),
            transcode_engine=_engine(env, d.transcode_engine),
            mediaconvert_role_arn=env.get("MEDIACONVERT_ROLE_ARN", d.mediaconvert_role_arn),
            mediaconvert_queue=env.get("MEDIACONVERT_QUEUE", d.mediaconvert_queue),
            mediaconvert_endpoint=env.get("MEDIACONVERT_ENDPOINT", d.mediaconvert_endpoint),
            stack_name=env.get("LUMIERE_STACK", d.stack_name),
        )
