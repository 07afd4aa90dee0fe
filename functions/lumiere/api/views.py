"""What the API shows of an asset. Pure: URLs come from a function passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from lumiere.media.streams import VideoStream
from lumiere.pipeline.plan import overall_progress

_VIDEO_FIELDS = (
    "codec", "profile", "level", "width", "height", "pix_fmt", "bit_depth", "frame_rate",
    "rotation", "sample_aspect_ratio", "display_aspect_ratio", "color_primaries",
    "color_transfer", "field_order",
)  # fmt: skip
_VIDEO_ALL = {f.name for f in fields(VideoStream)}

_PUBLIC_FIELDS = (
    "asset_id",
    "status",
    "kind",
    "filename",
    "title",  # the owner's, when set
    "passthrough",
    "content_type",
    "created_at",
    "updated_at",
    "progress",
    "error",
    "poster_time",  # only when the owner chose the poster's moment
    "source_url",  # an import's URL, without its query
    "import_progress",  # {received, total?}: an import's bytes so far
)


def _visibility(item: dict[str, Any]) -> str:
    # Records from before visibility existed are private.
    return str(item.get("visibility") or "private")


def probe_summary(probe: dict[str, Any] | None) -> dict[str, Any] | None:
    if not probe:
        return None
    video = (probe.get("video") or [None])[0]
    audio = (probe.get("audio") or [None])[0]
    summary: dict[str, Any] = {
        "format": probe.get("format_name"),
        "duration": probe.get("duration"),
        "size": probe.get("size"),
        "bit_rate": probe.get("bit_rate"),
    }
    if video:
        summary["video"] = {k: video.get(k) for k in _VIDEO_FIELDS}
        stream = VideoStream(**{k: v for k, v in video.items() if k in _VIDEO_ALL})
        summary["video"].update(
            vfr=stream.is_vfr, hdr=stream.hdr_format, interlaced=stream.is_interlaced
        )
    if audio:
        summary["audio"] = {
            k: audio.get(k) for k in ("codec", "channels", "channel_layout", "sample_rate",
                                      "language", "bit_rate")
        }  # fmt: skip
    if probe.get("subtitles"):
        summary["subtitles"] = [
            {"codec": s.get("codec"), "language": s.get("language")} for s in probe["subtitles"]
        ]
    if probe.get("image"):
        summary["image"] = probe["image"]
    return summary


def asset_view(item: dict[str, Any], url_for: Callable[[str], str]) -> dict[str, Any]:
    view = {k: item[k] for k in _PUBLIC_FIELDS if k in item}
    view["visibility"] = _visibility(item)
    if item.get("status") == "PROCESSING":
        parts = (item.get("plan") or {}).get("parts")
        computed = overall_progress(parts, item.get("part_progress"))
        if computed is not None:
            view["progress"] = computed
    if item.get("preset"):
        view["preset"] = item["preset"]
    dropped = (item.get("plan") or {}).get("dropped_rungs")
    if dropped:
        view["notes"] = [
            f"Renditions {', '.join(dropped)} were left out: at this length they cannot be "
            "encoded within one transcode task (chunked encoding is not available yet)."
        ]
    view["probe"] = probe_summary(item.get("probe"))
    view["encryption"] = item.get("encryption") or "none"
    outputs = item.get("outputs") or {}
    shown: dict[str, Any] = {}
    if outputs.get("encryption"):
        shown["encryption"] = outputs["encryption"]
    if "poster" in outputs:
        shown["poster"] = {"key": outputs["poster"], "url": url_for(outputs["poster"])}
    hls = outputs.get("hls")
    if hls:
        shown["hls"] = {
            "master": hls["master"],
            "url": url_for(hls["master"]),
            "renditions": hls.get("renditions", []),
            "audio": hls.get("audio", []),
        }
    dash = outputs.get("dash")
    if dash:
        shown["dash"] = {"manifest": dash["manifest"], "url": url_for(dash["manifest"])}
    images = outputs.get("images") or {}
    if images:
        facts = images.get("facts") or {}
        shown["images"] = {
            "placeholder": facts.get("placeholder"),
            "dominant_color": facts.get("dominant_color"),
            "width": facts.get("width"),
            "height": facts.get("height"),
            "variants": [
                {k: v[k] for k in ("width", "height", "format")} | {"url": url_for(v["key"])}
                for v in images.get("variants", [])
            ],
        }
        if images.get("animated"):
            shown["images"]["animated_url"] = url_for(images["animated"])
        if images.get("animated_mp4"):
            shown["images"]["animated_mp4_url"] = url_for(images["animated_mp4"])
    previews = outputs.get("previews") or {}
    if previews:
        shown["previews"] = _previews_view(previews, url_for)
    if "download" in outputs:
        shown["download"] = {"key": outputs["download"], "url": url_for(outputs["download"])}
    if outputs.get("captions"):
        shown["captions"] = [
            {**c, "vtt_url": url_for(c["vtt"]), "playlist_url": url_for(c["playlist"])}
            for c in outputs["captions"]
        ]
    if outputs.get("analysis"):
        analysis = dict(outputs["analysis"])
        if analysis.get("document"):
            analysis["document_url"] = url_for(analysis["document"])
        shown["analysis"] = analysis
    view["outputs"] = shown
    return view


def _previews_view(previews: dict[str, Any], url_for: Callable[[str], str]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    board = previews.get("storyboard")
    if board:
        # Sheet URIs in the VTT are relative to it, as players resolve them.
        view["storyboard"] = {
            "url": url_for(board["vtt"]),
            "interval": board.get("interval"),
            "tile": [board.get("tile_width"), board.get("tile_height")],
            "thumbnails": board.get("count"),
        }
    if previews.get("animated"):
        view["animated"] = {"url": url_for(previews["animated"])}
    if previews.get("cover"):
        view["cover"] = {"url": url_for(previews["cover"])}
    wave = previews.get("waveform")
    if wave:
        view["waveform"] = {"peaks_url": url_for(wave["peaks"]), "png_url": url_for(wave["png"])}
    return view


def summary_view(item: dict[str, Any], url_for: Callable[[str], str]) -> dict[str, Any]:
    """An asset as a list shows it: no probe but its length, the poster and the master
    URL only."""
    view = {k: item[k] for k in _PUBLIC_FIELDS if k in item}
    view["visibility"] = _visibility(item)
    duration = (item.get("probe") or {}).get("duration")
    if duration and item.get("kind") != "image":  # a still's "duration" is its frame's
        view["duration"] = duration
    outputs = item.get("outputs") or {}
    if "poster" in outputs:
        view["poster_url"] = url_for(outputs["poster"])
    if outputs.get("hls"):
        view["hls_url"] = url_for(outputs["hls"]["master"])
    return view
