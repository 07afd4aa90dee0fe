"""Split an asset's work into parts that run as separate transcode tasks (fan-out).

Video rungs are grouped so each group is decoded once (one ffmpeg, split filter) and the
groups' costs are balanced; audio (every track) and the poster are parts of their own.
How many video groups is a setting: one group costs the least CPU (one decode), more
groups finish sooner when each gets its own Lambda. The benchmark measures both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
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
class Part:
    name: str
    kind: str  # VIDEO | AUDIO | PREVIEWS | IMAGE | ANALYSIS
    rungs: tuple[str, ...] = ()
    weight: float = 1.0  # share of the asset's work, for the progress figure
    # Outputs made from this part's decode besides its rungs (STORYBOARD).
    extras: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rungs": list(self.rungs), "extras": list(self.extras)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Part:
        return cls(
            name=data["name"],
            kind=data["kind"],
            rungs=tuple(data.get("rungs", ())),
            weight=float(data.get("weight", 1.0)),
            extras=tuple(data.get("extras", ())),
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
    Chunked encoding (splitting the timeline) would lift this."""
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
) -> list[Part]:
    """The parts of an asset's work. With a ``budget``, rungs are split over as many video
    tasks as it takes for each to finish in time (at least ``video_tasks``). ``analysis``
    adds the analysis part."""
    if kind is MediaKind.IMAGE:
        return [Part(name=IMAGE, kind=IMAGE)] + (
            [Part(name=ANALYSIS, kind=ANALYSIS, weight=0.5)] if analysis else []
        )
    parts: list[Part] = []
    video_cost = 0.0
    if kind is MediaKind.VIDEO:
        ladder = fit_ladder(plan_ladder(info, preset), info.duration, budget)
        groups = video_tasks
        if budget is not None and info.duration:
            needed = budget.encode_seconds(ladder, info.duration) / budget.seconds
            groups = max(groups, math.ceil(needed))
        for n, group in enumerate(group_rungs(ladder, groups)):
            cost = sum(r.pixel_rate for r in group) / 1e6
            video_cost += cost
            parts.append(
                Part(
                    name="video-" + "-".join(r.name for r in group),
                    kind=VIDEO,
                    rungs=tuple(r.name for r in group),
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
        parts.append(Part(name=PREVIEWS, kind=PREVIEWS, weight=round(0.02 * video_cost, 3)))
    if analysis:
        # Sampled frames and a speech pass: a few percent of a ladder.
        weight = 0.05 * video_cost if video_cost else 1.0
        parts.append(Part(name=ANALYSIS, kind=ANALYSIS, weight=round(weight, 3)))
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
