"""One part's run: its settings, its source URL, its scratch directory, and running ffmpeg
with a timeout taken from the Lambda's remaining time and progress fed to the catalogue."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.storage import publish_directory
from lumiere.config import Settings
from lumiere.errors import PermanentError, ReasonCode, ToolError, TransientError
from lumiere.media.commands import HlsOptions
from lumiere.media.ladder import LadderPreset
from lumiere.media.packaging import TRACK_RECORD, PackagedTrack
from lumiere.media.progress import ProgressMeter
from lumiere.media.streams import MediaInfo
from lumiere.media.tools import ToolOutput, run_tool_streaming, timeout_from_remaining
from lumiere.pipeline import keys
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.encryption import seal_segment, seal_track
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.plan import Part
from lumiere.pipeline.streaming import Placer, SegmentStreamer, StreamedTrack, keep_name


@dataclass
class Job:
    task: TranscodeTask
    part: Part
    info: MediaInfo
    preset: LadderPreset
    source_url: str
    work: Path
    settings: Settings
    catalogue: Catalogue
    remaining_ms: Callable[[], int | None]
    # The language the upload request named (BCP 47 or ISO 639), for captions.
    language: str | None = None
    # HLS AES-128: the asset's clear key and the URI playlists name for it; None: clear.
    content_key: bytes | None = None
    key_uri: str | None = None

    @property
    def sealed(self) -> bool:
        """Whether this part's renditions are published encrypted (measured so)."""
        return self.content_key is not None

    def seal(self, track_dir: Path) -> None:
        """Every rendition passes here before it is published: encrypted when the asset
        asked for it (pipeline/encryption.py), else left as it is."""
        if self.content_key is not None and self.key_uri is not None:
            seal_track(track_dir, self.content_key, self.key_uri)

    @property
    def hls(self) -> HlsOptions:
        return HlsOptions(segment_seconds=self.settings.segment_seconds)

    def meter(
        self, start: int = 0, end: int = 100, *, duration: float | None = None
    ) -> ProgressMeter:
        """``duration``: what the command will encode, when not the whole source."""

        def report(percent: int) -> None:
            self.catalogue.set_part_progress(self.task.asset_id, self.part.name, utc_now(), percent)

        return ProgressMeter(
            duration or self.info.duration,
            report,
            min_interval=self.settings.progress_interval_seconds,
            start=start,
            end=min(end, 99),  # 100 is written with the part's completion
        )

    def run(
        self,
        argv: list[str],
        meter: ProgressMeter | None = None,
        *,
        watch: Callable[[], None] | None = None,
    ) -> ToolOutput:
        """``watch`` is called at every progress line; an error it raises stops ffmpeg
        and propagates (a segment upload that failed mid-encode: pipeline/streaming.py)."""
        timeout = timeout_from_remaining(
            self.remaining_ms(), self.settings.tool_timeout_margin_seconds
        )

        def on_line(line: str) -> None:
            if watch is not None:
                watch()
            if meter is not None:
                meter.feed(line)

        try:
            return run_tool_streaming(argv, timeout=timeout, on_line=on_line)
        except ToolError as e:
            if e.returncode is None:
                raise TransientError(f"ffmpeg ran out of time: {e}") from e
            raise PermanentError(
                "The file could not be transcoded; it may be damaged or use a feature we do "
                f"not support. ffmpeg said: {e.stderr_tail.strip()[-300:]}",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e

    def streamed(self, directory: Path, place: Placer = keep_name) -> StreamedTrack:
        """A rendition directory whose segments go to the rendition's prefix as ffmpeg
        finishes them (encrypted on the way when the asset asked for it: nothing is left
        on disk for ``seal`` to encrypt afterwards)."""
        return StreamedTrack(
            directory,
            keys.rendition_prefix(self.task.asset_id, directory.name),
            place,
            seal=None if self.content_key is None else partial(seal_segment, key=self.content_key),
        )

    def run_streamed(
        self, argv: list[str], meter: ProgressMeter | None, tracks: Sequence[StreamedTrack]
    ) -> SegmentStreamer:
        """``run``, uploading the segments of ``tracks`` while ffmpeg writes them; the
        streamer returned knows what each segment measured."""
        with SegmentStreamer(self.settings.media_bucket, tracks) as streamer:
            self.run(argv, meter, watch=streamer.raise_if_failed)
        return streamer


def publish_rendition(
    job: Job, directory: Path, published: list[str], track: PackagedTrack
) -> dict[str, Any]:
    """Publish a rendition directory with its full track record beside it; returns the
    summary the catalogue keeps (see packaging.TRACK_RECORD)."""
    job.seal(directory)
    (directory / TRACK_RECORD).write_text(json.dumps(track.to_dict()), encoding="utf-8")
    prefix = keys.rendition_prefix(job.task.asset_id, directory.name)
    published.append(prefix)
    publish_directory(job.settings.media_bucket, prefix, directory)
    return track.summary()
