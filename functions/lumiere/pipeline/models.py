"""Data that crosses a boundary: API requests, queue messages, the asset record."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from lumiere.config import ENCRYPTIONS
from lumiere.errors import InvalidRequestError, MalformedEventError
from lumiere.media.probe import MediaKind

# BCP 47's common shapes: a 2-3 letter language, optionally a script and a region.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?")

# The owner's words on an asset, in code points (Mux's limits for meta.title and
# passthrough): a title people read, and an opaque string (an id, a small JSON) echoed
# back in every view, event and webhook so a client can match them to its own records.
TITLE_MAX_CHARS = 512
PASSTHROUGH_MAX_CHARS = 255
DETAIL_FIELDS = ("title", "passthrough")


def _detail(name: str, value: Any) -> str | None:
    """A title or passthrough as stored; None (also for "") removes it."""
    if value is None or value == "":
        return None
    limit = TITLE_MAX_CHARS if name == "title" else PASSTHROUGH_MAX_CHARS
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string of up to {limit} characters.")
    if name == "title":
        # Shown on one line in lists and players: no line breaks or control characters.
        value = unicodedata.normalize("NFC", value).strip()
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise InvalidRequestError("title must be one line, with no control characters.")
        if not value:
            return None
    # A lone surrogate (JSON allows "\ud800") cannot be stored as UTF-8: refused here,
    # not failed in the catalogue.
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise InvalidRequestError(f"{name} must be valid Unicode text.")
    if len(value) > limit:
        raise InvalidRequestError(f"{name} is {len(value)} characters; the limit is {limit}.")
    return value


class Visibility(StrEnum):
    """Who may fetch an asset's published files: its owner through signed URLs
    (private), or anyone through plain URLs under the CDN's public path (public)."""

    PRIVATE = "private"
    PUBLIC = "public"

    @classmethod
    def parse(cls, value: Any) -> Visibility:
        if isinstance(value, str) and value in cls._value2member_map_:
            return cls(value)
        raise InvalidRequestError(f"visibility must be one of {', '.join(cls)}.")


@dataclass(frozen=True)
class AssetChange:
    """The body of PATCH /assets/{id}: who may watch (``visibility``), which moment of a
    video is its poster (``poster_time`` in seconds; null: the automatic one), and the
    owner's ``title`` and ``passthrough`` (null or "": removed). Any of them; nothing
    else can be changed."""

    visibility: Visibility | None = None
    poster_time: float | None = None
    sets_poster: bool = False  # poster_time was given (null included)
    # The title and passthrough given, each as stored (None: remove it).
    details: dict[str, str | None] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        """The fields the request sets, in the body's words."""
        given = [*self.details]
        if self.visibility is not None:
            given.append("visibility")
        if self.sets_poster:
            given.append("poster_time")
        return given

    @classmethod
    def from_json(cls, body: Any) -> AssetChange:
        allowed = {"visibility", "poster_time", *DETAIL_FIELDS}
        if not isinstance(body, dict) or not body or not set(body) <= allowed:
            raise InvalidRequestError(
                'Send a JSON object with any of visibility ("public" | "private"), '
                "poster_time (seconds into the video, or null for the automatic poster), "
                f"title (up to {TITLE_MAX_CHARS} characters) and passthrough (up to "
                f"{PASSTHROUGH_MAX_CHARS}); null removes a title or passthrough."
            )
        visibility = Visibility.parse(body["visibility"]) if "visibility" in body else None
        time = body.get("poster_time")
        if time is not None and (
            isinstance(time, bool) or not isinstance(time, int | float) or not 0 <= time < 1e6
        ):
            raise InvalidRequestError("poster_time must be a number of seconds, 0 or more.")
        return cls(
            visibility=visibility,
            poster_time=None if time is None else round(float(time), 3),
            sets_poster="poster_time" in body,
            details={name: _detail(name, body[name]) for name in DETAIL_FIELDS if name in body},
        )


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    # The client's word for the file's size; None for an import, whose server says.
    size: int | None
    # A ladder preset (media/presets/ladder_<name>.json); None: the deployment's default.
    preset: str | None = None
    # The spoken language (BCP 47 "en", or ISO 639-2 "eng"), for automatic captions;
    # None: the audio stream's tag, else the deployment's default.
    language: str | None = None
    visibility: Visibility = Visibility.PRIVATE
    # HLS segment encryption ("none" | "aes-128"); None: the deployment's default.
    encryption: str | None = None
    title: str | None = None
    passthrough: str | None = None

    @classmethod
    def from_json(cls, body: Any, *, sized: bool = True) -> UploadRequest:
        """``sized=False``: an import from a URL, where no size is declared."""
        if not isinstance(body, dict):
            raise InvalidRequestError("Send a JSON object: {filename, content_type, size}.")
        filename, content_type, size = (
            body.get("filename"),
            body.get("content_type"),
            body.get("size"),
        )
        if not isinstance(filename, str) or not filename.strip():
            raise InvalidRequestError("filename is required (a non-empty string).")
        if not isinstance(content_type, str) or "/" not in content_type:
            raise InvalidRequestError("content_type is required, e.g. 'video/mp4'.")
        if not sized:
            size = None
        elif isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise InvalidRequestError("size is required: the file's size in bytes (> 0).")
        preset = body.get("preset")
        if preset is not None and not isinstance(preset, str):
            raise InvalidRequestError("preset must be a string naming a ladder preset.")
        language = body.get("language")
        if language is not None and not (
            isinstance(language, str) and LANGUAGE_TAG.fullmatch(language)
        ):
            raise InvalidRequestError(
                "language must be a language tag such as 'en', 'en-GB' or 'eng'."
            )
        visibility = body.get("visibility")
        encryption = body.get("encryption")
        if encryption is not None and encryption not in ENCRYPTIONS:
            raise InvalidRequestError(f"encryption must be one of {', '.join(ENCRYPTIONS)}.")
        return cls(
            filename=filename,
            content_type=content_type.strip().lower(),
            size=size,
            preset=preset or None,
            language=language or None,
            visibility=Visibility.PRIVATE if visibility is None else Visibility.parse(visibility),
            encryption=encryption,
            title=_detail("title", body.get("title")),
            passthrough=_detail("passthrough", body.get("passthrough")),
        )


@dataclass(frozen=True)
class SourceObject:
    bucket: str
    key: str
    size: int
    etag: str | None = None
    # The version ingest probed; every later read names it (see the uploads bucket's
    # versioning in template.yaml).
    version_id: str | None = None


@dataclass(frozen=True)
class TranscodeTask:
    """One part of an asset's transcode (see pipeline/plan.py). ``task_id`` is
    deterministic so a duplicate message names the same work (and the same output keys)."""

    asset_id: str
    kind: MediaKind
    source: SourceObject
    part: str  # a name from the asset's plan (pipeline/plan.py)
    task_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.task_id:
            object.__setattr__(self, "task_id", f"{self.asset_id}:{self.part}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, body: str) -> TranscodeTask:
        try:
            data = json.loads(body)
        except ValueError as e:
            raise MalformedEventError(f"not a transcode task: {e}") from e
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> TranscodeTask:
        try:
            return cls(
                asset_id=data["asset_id"],
                kind=MediaKind(data["kind"]),
                source=SourceObject(**data["source"]),
                part=str(data["part"]),
                task_id=data["task_id"],
            )
        except (ValueError, KeyError, TypeError) as e:
            raise MalformedEventError(f"not a transcode task: {e}") from e


@dataclass(frozen=True)
class ImportTask:
    """Fetch ``url`` into the asset's upload key (``POST /uploads/url``). The URL, with
    any token in its query, travels only in this message; the catalogue keeps it
    without the query."""

    asset_id: str
    url: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, body: str) -> ImportTask:
        try:
            data = json.loads(body)
        except ValueError as e:
            raise MalformedEventError(f"not an import task: {e}") from e
        if not (
            isinstance(data, dict)
            and isinstance(data.get("asset_id"), str)
            and isinstance(data.get("url"), str)
        ):
            raise MalformedEventError("not an import task: needs asset_id and url")
        return cls(asset_id=data["asset_id"], url=data["url"])
