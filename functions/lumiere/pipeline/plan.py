"""Split an asset's work into parts that run as separate transcode tasks (fan-out).

Video rungs are grouped so each group is decoded once (one ffmpeg, split filter) and the
groups' costs are balanced; audio (every track) and the poster are parts of their own.
How many video groups is a setting: one group costs the least CPU (one decode), more
groups finish sooner when each gets its own Lambda. The benchmark measures both.

A long constant-frame-rate video is also cut in time: each group is split into chunks of
whole frames (``plan_chunks``), one part per (group x chunk), so no task's work grows with
the video's length. The fan-in stitches each rendition's chunks (pipeline/stitching.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from lumiere.errors import LimitExceededError, ReasonCode
from lumiere.media.audio import plan_audio_tracks
from lumiere.media.ladder import LadderPreset, Rendition, plan_ladder
from lumiere.media.streams import MediaInfo, MediaKind

VIDEO, AUDIO, POSTER, PREVIEWS, IMAGE = "video", "audio", "poster", "previews", "image"
# Faces, audio facts, captions: run by AnalysisFunction (its own queue), and never able
# to fail the asset (pipeline/parts/analysis.py records its own status instead).
ANALYSIS = "analysis"
STORYBOARD = "storyboard"


@dataclass(frozen=True)
class Chunk:
    """A run of whole source frames [first_frame, first_frame + frame_count) encoded as one
    task; ``frame_count`` None runs to the end of the video (the last chunk)."""

    index: int
    first_frame: int
    frame_count: int | None
    rate: str  # the source's exact frame rate, "30000/1001"
    # Segments in a full chunk: chunk i's first segment is number i x segments.
    segments: int = 1

    @property
    def fps(self) -> Fraction:
        return Fraction(self.rate)

    @property
    def start(self) -> Fraction:
        """Seconds from the video's first frame."""
        return self.first_frame / self.fps

    @property
    def end(self) -> Fraction | None:
        if self.frame_count is None:
            return None
        return (self.first_frame + self.frame_count) / self.fps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        count = data.get("frame_count")
        return cls(
            index=int(data["index"]),
            first_frame=int(data["first_frame"]),
            frame_count=None if count is None else int(count),
            rate=str(data["rate"]),
            segments=int(data.get("segments", 1)),
        )


def exact_frame_rate(rate: float) -> Fraction:
    """The rational rate a probed float stands for: whole numbers, the NTSC family
    (n x 1000/1001: 23.976, 29.97, 59.94), else the nearest small fraction. Chunk
    boundaries are frame counts, so 29.97 must mean 30000/1001, not 2997/100."""
    whole = round(rate)
    if whole > 0 and abs(rate - whole) < 1e-3:
        return Fraction(whole)
    ntsc = round(rate * 1001 / 1000)
    if ntsc > 0 and abs(rate - Fraction(ntsc * 1000, 1001)) < 1e-3:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(rate).limit_denominator(1001)


@dataclass(frozen=True)
class ChunkPolicy:
    """When and how to cut video in time (config CHUNK_THRESHOLD_SECONDS, CHUNK_SECONDS)."""

    threshold_seconds: float
    chunk_seconds: float
    segment_seconds: float

    def __post_init__(self) -> None:
        segments = self.chunk_seconds / self.segment_seconds
        if self.chunk_seconds <= 0 or abs(segments - round(segments)) > 1e-9:
            raise ValueError("a chunk must be a whole number of segments")


def plan_chunks(
    duration: float, rate: Fraction, policy: ChunkPolicy, multiple: int = 1
) -> list[Chunk]:
    """Chunks of N = round(chunk_seconds x rate) frames. N is whole, so every boundary is
    a frame boundary; at 29.97 fps a 120 s chunk is 3596 frames (119.986 s). Each full
    chunk still holds exactly chunk_seconds / segment_seconds segments: keyframes are
    forced on the segment grid of the chunk's own time, and N never reaches past
    chunk_seconds by a whole frame. A last piece shorter than one segment joins the chunk
    before it, so no task encodes a sliver (or nothing, if the container outlasts the
    video).

    ``multiple``: rungs at 1/m of the source's rate (59.94 fps video has 29.97 fps low
    rungs) need N a multiple of m, or chunk starts would fall between their frames; N is
    then rounded down to one (7192 frames at 59.94), so it still never overshoots."""
    exact = policy.chunk_seconds * rate
    frames = round(exact) if multiple <= 1 else multiple * math.floor(exact / multiple)
    frames = max(multiple, frames)
    total = duration * rate
    count = max(1, math.ceil(total / frames))
    if count > 1 and total - (count - 1) * frames < policy.segment_seconds * rate:
        count -= 1
    text = f"{rate.numerator}/{rate.denominator}"
    per_chunk = round(policy.chunk_seconds / policy.segment_seconds)
    return [
        Chunk(
            index=k,
            first_frame=k * frames,
            frame_count=frames if k < count - 1 else None,
            rate=text,
            segments=per_chunk,
        )
        for k in range(count)
    ]


def chunks_for(
    info: MediaInfo, policy: ChunkPolicy | None, ladder: list[Rendition] | None = None
) -> list[Chunk]:
    """The video's chunks, or none when it is encoded whole: short, variable frame rate
    (no frame count maps to a time), or of unknown rate or length. ``ladder``: the rungs,
    whose reduced frame rates constrain the chunk length (``plan_chunks``)."""
    video = info.primary_video
    if (
        policy is None
        or video is None
        or not info.duration
        or info.duration <= policy.threshold_seconds
        or not video.frame_rate
        or video.is_vfr
    ):
        return []
    multiple = max(
        (round(video.frame_rate / r.frame_rate) for r in ladder or [] if r.frame_rate),
        default=1,
    )
    chunks = plan_chunks(info.duration, exact_frame_rate(video.frame_rate), policy, multiple)
    return chunks if len(chunks) > 1 else []


@dataclass(frozen=True)
class Part:
    name: str
    kind: str  # VIDEO | AUDIO | PREVIEWS | IMAGE | ANALYSIS
    rungs: tuple[str, ...] = ()
    weight: float = 1.0  # share of the asset's work, for the progress figure
    # Outputs made from this part's decode besides its rungs (STORYBOARD).
    extras: tuple[str, ...] = ()
    # A video part of a chunked plan: which run of frames its rungs cover.
    chunk: Chunk | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rungs": list(self.rungs),
            "extras": list(self.extras),
            "chunk": self.chunk.to_dict() if self.chunk else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Part:
        return cls(
            name=data["name"],
            kind=data["kind"],
            rungs=tuple(data.get("rungs", ())),
            weight=float(data.get("weight", 1.0)),
            extras=tuple(data.get("extras", ())),
            chunk=Chunk.from_dict(data["chunk"]) if data.get("chunk") else None,
        )


def group_rungs(renditions: list[Rendition], groups: int) -> list[list[Rendition]]:
    """Longest-processing-time-first: each rung (highest first) joins the lightest group.
    Cost is pixels x frames per second, what x264's time is roughly proportional to."""
    groups = max(1, min(groups, len(renditions)))
    buckets: list[list[Rendition]] = [[] for _ in range(groups)]
    loads = [0.0] * groups
    for r in sorted(renditions, key=lambda r: -r.pixel_rate):
        i = loads.index(min(loads))
        buckets[i].append(r)
        loads[i] += r.pixel_rate
    return [sorted(b, key=lambda r: -r.pixel_rate) for b in buckets if b]


@dataclass(frozen=True)
class TaskBudget:
    """What one transcode task can do before its Lambda times out: ``seconds`` of work
    at ``pixel_rate`` output pixels per second (x264 veryfast plus the decode, measured
    with bench/transcode.py on 2 vCPUs, what a 3008 MB Lambda has)."""

    seconds: float = 720.0  # 80% of TranscodeFunction's 900 s timeout
    pixel_rate: float = 110e6

    def encode_seconds(self, rungs: list[Rendition], duration: float) -> float:
        return duration * sum(r.pixel_rate for r in rungs) / self.pixel_rate


def fit_ladder(
    ladder: list[Rendition], duration: float | None, budget: TaskBudget | None
) -> list[Rendition]:
    """Drop the top rungs a single task could not encode in time (a long 4K film keeps
    its 1440p and below rather than failing); refuse when not even the lowest fits.
    ``duration`` is one task's share of the timeline: a chunk's length when the video is
    chunked, which lifts both limits."""
    if budget is None or not duration:
        return ladder
    kept = [r for r in ladder if budget.encode_seconds([r], duration) <= budget.seconds]
    if ladder and not kept:
        lowest = ladder[-1]
        most = budget.seconds * budget.pixel_rate / lowest.pixel_rate
        raise LimitExceededError(
            f"This video is {duration / 60:.0f} minutes long; at {lowest.width}x"
            f"{lowest.height} Lumiere can encode up to {most / 60:.0f} minutes in one task. "
            "Split it into shorter parts and upload them separately.",
            reason=ReasonCode.TOO_LONG,
        )
    return kept


def plan_parts(
    info: MediaInfo,
    kind: MediaKind,
    preset: LadderPreset,
    video_tasks: int,
    budget: TaskBudget | None = None,
    *,
    analysis: bool = False,
    chunking: ChunkPolicy | None = None,
) -> list[Part]:
    """The parts of an asset's work. With a ``budget``, rungs are split over as many video
    tasks as it takes for each to finish in time (at least ``video_tasks``). ``analysis``
    adds the analysis part. With ``chunking``, a long video's groups are each split into
    chunks (one part per group x chunk) and the storyboard moves to the previews part,
    which sees the whole timeline."""
    if kind is MediaKind.IMAGE:
        return [Part(name=IMAGE, kind=IMAGE)] + (
            [Part(name=ANALYSIS, kind=ANALYSIS, weight=0.5)] if analysis else []
        )
    parts: list[Part] = []
    video_cost = 0.0
    full_ladder = plan_ladder(info, preset) if kind is MediaKind.VIDEO else []
    chunks = chunks_for(info, chunking, full_ladder) if kind is MediaKind.VIDEO else []
    if kind is MediaKind.VIDEO:
        # One task's share of the timeline, what the budget must fit: a full chunk (the
        # first; chunks_for gives two or more) or the whole video.
        span = float(chunks[0].end or 0) if chunks else info.duration
        ladder = fit_ladder(full_ladder, span, budget)
        groups = video_tasks
        if budget is not None and span:
            needed = budget.encode_seconds(ladder, span) / budget.seconds
            groups = max(groups, math.ceil(needed))
        for n, group in enumerate(group_rungs(ladder, groups)):
            cost = sum(r.pixel_rate for r in group) / 1e6
            video_cost += cost
            name = "video-" + "-".join(r.name for r in group)
            rungs = tuple(r.name for r in group)
            if chunks:
                parts += _chunk_parts(name, rungs, cost, chunks, info.duration or 0.0)
                continue
            parts.append(
                Part(
                    name=name,
                    kind=VIDEO,
                    rungs=rungs,
                    weight=round(cost, 3),
                    # The seek-bar storyboard rides on one group's decode (the heaviest,
                    # listed first), never a decode of its own.
                    extras=(STORYBOARD,) if n == 0 and info.duration else (),
                )
            )
    if plan_audio_tracks(info):
        # An AAC encode plus a loudness scan is a few percent of a video ladder.
        weight = 0.05 * video_cost if video_cost else 1.0
        parts.append(Part(name=AUDIO, kind=AUDIO, weight=round(weight, 3)))
    if kind is MediaKind.VIDEO:
        # Poster and animated preview: both seek, so they cost a few seconds of decode.
        # A chunked video has no one decode of the whole timeline to hang the storyboard
        # on, so the previews part makes it (keyframes only past 10 s between pictures).
        parts.append(
            Part(
                name=PREVIEWS,
                kind=PREVIEWS,
                weight=round((0.05 if chunks else 0.02) * video_cost, 3),
                extras=(STORYBOARD,) if chunks else (),
            )
        )
    if analysis:
        # Sampled frames and a speech pass: a few percent of a ladder.
        weight = 0.05 * video_cost if video_cost else 1.0
        parts.append(Part(name=ANALYSIS, kind=ANALYSIS, weight=round(weight, 3)))
    return parts


def _chunk_parts(
    name: str, rungs: tuple[str, ...], cost: float, chunks: list[Chunk], duration: float
) -> list[Part]:
    parts = []
    for chunk in chunks:
        end = float(chunk.end) if chunk.end is not None else duration
        share = max(0.0, end - float(chunk.start)) / duration if duration else 1.0
        parts.append(
            Part(
                name=f"{name}-c{chunk.index:03d}",
                kind=VIDEO,
                rungs=rungs,
                weight=round(cost * share, 3),
                chunk=chunk,
            )
        )
    return parts


def overall_progress(
    parts: dict[str, dict[str, Any]] | None, progress: dict[str, Any] | None
) -> int | None:
    """The asset's percentage: each part's, weighted by its share of the work."""
    if not parts:
        return None
    progress = progress or {}
    total = sum(float(p.get("weight", 1.0)) for p in parts.values()) or 1.0
    done = sum(float(p.get("weight", 1.0)) * float(progress.get(n, 0)) for n, p in parts.items())
    return int(done / total)
