"""Upload a rendition's segments while ffmpeg is still writing them.

Without this a task's /tmp held every segment of everything it encoded until ffmpeg
exited, so the disk it needed grew with the length of the video. Here a watcher thread
polls the rendition directories, hands each finished segment (media/segment_watch.py) to
a small upload pool, and the pool uploads it to its final key and deletes the local file:
the work directory holds a few segments per rendition whatever the length.

What is not streamed stays for the caller to publish when ffmpeg is done, in the usual
order: the init segment, the records, and the playlists last (a playlist never names a
segment not yet uploaded, since every streamed upload has finished by then).

A failed upload stops the task: ``raise_if_failed`` (given to ``Job.run`` as its watch)
raises TransientError at ffmpeg's next progress line, which kills ffmpeg; SQS redelivers
the task, which starts from an empty work directory and overwrites the same keys.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from lumiere.cloud.storage import object_headers, put_bytes
from lumiere.errors import LumiereError, TransientError
from lumiere.media.packaging import SegmentRecord, measure_fragment
from lumiere.media.segment_watch import finished_segments

log = logging.getLogger(__name__)

# Uploads of a few hundred KB to S3 from inside AWS: a few threads keep up with any
# encoder, and overlap with it on the same vCPUs costs little.
UPLOAD_THREADS = 4
# Seconds between looks at the directories: a 4 s segment waits a small share of itself.
POLL_SECONDS = 0.1

# (the name ffmpeg gave a segment, its bytes) -> (its published name, the bytes to publish)
Placer = Callable[[str, bytes], tuple[str, bytes]]


# (a segment's published name, its clear bytes) -> the bytes to upload (HLS AES-128)
Sealer = Callable[[str, bytes], bytes]


def keep_name(name: str, data: bytes) -> tuple[str, bytes]:
    return name, data


@dataclass(frozen=True)
class StreamedTrack:
    """One rendition directory ffmpeg writes, and where its segments go."""

    directory: Path
    prefix: str  # the rendition's key prefix, ending in "/"
    place: Placer = keep_name
    # Applied after measuring (the record describes the clear stream a player decrypts).
    seal: Sealer | None = None


@dataclass
class _State:
    taken: dict[Path, set[str]] = field(default_factory=dict)
    measured: dict[Path, dict[str, SegmentRecord]] = field(default_factory=dict)
    error: BaseException | None = None
    peak_bytes: int = 0
    uploaded: int = 0


class SegmentStreamer:
    """A context manager around one ffmpeg run. On a clean exit it uploads the segments
    still on disk and waits for every upload, raising TransientError if any failed; on
    an exception it abandons what was not started and lets the exception through."""

    def __init__(
        self,
        bucket: str,
        tracks: Sequence[StreamedTrack],
        *,
        threads: int = UPLOAD_THREADS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._bucket = bucket
        self._tracks = list(tracks)
        self._poll_seconds = poll_seconds
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="segment-upload")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state = _State(
            taken={t.directory: set() for t in self._tracks},
            measured={t.directory: {} for t in self._tracks},
        )
        self._watcher = threading.Thread(target=self._watch, name="segment-watch", daemon=True)

    def __enter__(self) -> SegmentStreamer:
        self._watcher.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._watcher.join()
        try:
            if exc_type is None:
                self._sweep()  # ffmpeg has exited: whatever is left is finished
        finally:
            # On failure the pending uploads are dropped (the retry redoes them), but the
            # running ones are waited for: the caller deletes the work directory next.
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        log.info(
            "streamed %d segments; work directory peak %d bytes",
            self._state.uploaded,
            self._state.peak_bytes,
        )
        if exc_type is None:
            self.raise_if_failed()

    @property
    def peak_bytes(self) -> int:
        """The most bytes the rendition directories held at any look."""
        return self._state.peak_bytes

    def measured(self, directory: Path) -> dict[str, SegmentRecord]:
        """The segments streamed out of ``directory``, by the name ffmpeg gave them; their
        durations are 0 until the playlist gives them (packaging.with_durations)."""
        with self._lock:
            return dict(self._state.measured[directory])

    def raise_if_failed(self) -> None:
        with self._lock:
            error = self._state.error
        if error is None:
            return
        if isinstance(error, LumiereError):
            raise error
        raise TransientError(f"a segment upload failed: {error}") from error

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self._sweep()
            except Exception as e:  # a watcher that died silently would let /tmp fill
                self._fail(e)
                return

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._state.error is None:
                self._state.error = error

    def _sweep(self) -> None:
        with self._lock:
            if self._state.error is not None:
                return
        total = 0
        for track in self._tracks:
            names = os.listdir(track.directory)
            total += sum(_size(track.directory / name) for name in names)
            taken = self._state.taken[track.directory]
            for name in finished_segments(names, taken):
                taken.add(name)
                self._pool.submit(self._upload, track, name)
        self._state.peak_bytes = max(self._state.peak_bytes, total)

    def _upload(self, track: StreamedTrack, name: str) -> None:
        with self._lock:
            if self._state.error is not None:
                return  # the task has failed: the retry uploads it
        try:
            path = track.directory / name
            target, data = track.place(name, path.read_bytes())
            record = measure_fragment(data, target, 0.0)
            if track.seal is not None:
                data = track.seal(target, data)
            key = track.prefix + target
            put_bytes(self._bucket, key, data, object_headers(key)[0])
            path.unlink()
        except Exception as e:  # any failure, S3's or the placer's, is the task's to report
            log.warning("segment %s of %s not uploaded: %s", name, track.directory.name, e)
            self._fail(e)
            return
        with self._lock:
            self._state.measured[track.directory][name] = record
            self._state.uploaded += 1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed or uploaded since the listing
        return 0
