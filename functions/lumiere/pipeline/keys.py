"""Where objects live. One place decides every key, so outputs are deterministic and a
retried step overwrites its own earlier attempt instead of adding a second copy."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_plus

from lumiere.errors import InvalidRequestError

UPLOADS_PREFIX = "uploads/"
ASSETS_PREFIX = "assets/"
# The CDN path under which public assets are served unsigned: /public/assets/{id}/... is
# the object assets/{id}/..., if the asset is public now (template.yaml's
# PublicAssetsFunction, the local CDN).
PUBLIC_PATH_PREFIX = "public/"
ASSET_ID_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_FILENAME_CHARS = 200


@dataclass(frozen=True)
class UploadKey:
    asset_id: str
    filename: str

    @property
    def key(self) -> str:
        return f"{UPLOADS_PREFIX}{self.asset_id}/{self.filename}"


def clean_filename(name: str) -> str:
    """Keep the user's name (people want it back on download) but nothing that could
    climb out of the asset's prefix or confuse a shell, a log or a Content-Disposition."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    name = name.lstrip(".").strip()
    if not name:
        raise InvalidRequestError("filename must contain at least one visible character.")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = MAX_FILENAME_CHARS - len(dot + ext)
        name = (stem[:keep] + dot + ext) if dot and len(ext) <= 16 else name[:MAX_FILENAME_CHARS]
    return name


def parse_upload_key(raw_key: str, *, url_encoded: bool) -> UploadKey | None:
    """The asset an uploaded object belongs to, or None if the key is not ours.

    S3 event notifications URL-encode keys (a space arrives as ``+``, ``/`` may arrive as
    ``%2F``), so they must be decoded once, with unquote_plus, before anything else.
    """
    key = unquote_plus(raw_key) if url_encoded else raw_key
    if not key.startswith(UPLOADS_PREFIX):
        return None
    asset_id, sep, filename = key[len(UPLOADS_PREFIX) :].partition("/")
    if not sep or not ASSET_ID_RE.match(asset_id) or not filename or "/" in filename:
        return None
    return UploadKey(asset_id=asset_id, filename=filename)


def asset_prefix(asset_id: str) -> str:
    return f"{ASSETS_PREFIX}{asset_id}/"


def hls_prefix(asset_id: str) -> str:
    return f"{asset_prefix(asset_id)}hls/"


def master_playlist_key(asset_id: str) -> str:
    return f"{hls_prefix(asset_id)}master.m3u8"


def poster_key(asset_id: str) -> str:
    return f"{asset_prefix(asset_id)}poster.jpg"


def chosen_poster_key(asset_id: str, seconds_text: str) -> str:
    """A poster its owner chose (``poster_t12.5.jpg``): one per moment, so choosing the
    same one again rewrites the same object, and a cached copy of another is never it."""
    return f"{asset_prefix(asset_id)}poster_t{seconds_text}.jpg"


def rendition_prefix(asset_id: str, dirname: str) -> str:
    return f"{hls_prefix(asset_id)}{dirname}/"


def dash_manifest_key(asset_id: str) -> str:
    return f"{hls_prefix(asset_id)}manifest.mpd"


def download_key(asset_id: str) -> str:
    return f"{asset_prefix(asset_id)}download.mp4"


def image_variant_key(asset_id: str, width: int, extension: str) -> str:
    return f"{asset_prefix(asset_id)}images/w{width}.{extension}"


def transform_key(asset_id: str, canonical_options: str, extension: str) -> str:
    """Deterministic: one rendering per asset, options and format, however often asked."""
    return f"{asset_prefix(asset_id)}img/{canonical_options}.{extension}"


def preview_key(asset_id: str, name: str) -> str:
    return f"{asset_prefix(asset_id)}previews/{name}"


def captions_prefix(asset_id: str) -> str:
    """Inside the HLS package, beside the master and the MPD that name them."""
    return f"{hls_prefix(asset_id)}captions/"


def analysis_key(asset_id: str) -> str:
    return f"{analysis_prefix(asset_id)}analysis.json"


def analysis_prefix(asset_id: str) -> str:
    return f"{asset_prefix(asset_id)}analysis/"


def public_path(key: str) -> str:
    """The CDN path (without the leading /) that serves ``key`` unsigned."""
    return f"{PUBLIC_PATH_PREFIX}{key}"


# An asset id, then a relative path of plain segments: no empty, "." or ".." segment and
# no percent-escapes, so nothing reaches another asset's prefix after the rewrite.
_PUBLIC_PATH_RE = re.compile(
    r"^/public/assets/([0-9a-f]{32})/((?:[\w,=-][\w.,=-]*/)*[\w,=-][\w.,=-]*)$", re.ASCII
)


def parse_public_path(path: str) -> tuple[str, str] | None:
    """(asset id, object key) of a public-path request, or None if it is not one.

    The same rule as the CloudFront Function in template.yaml: segments may not start
    with a dot, which rules out ``.`` and ``..`` without having to normalise."""
    match = _PUBLIC_PATH_RE.match(path)
    if match is None:
        return None
    asset_id, rest = match.groups()
    return asset_id, f"{asset_prefix(asset_id)}{rest}"
