"""The producers of each kind of part (see pipeline/plan.py): each makes its outputs,
publishes them, records what it published (for a take-back) and returns what the
catalogue keeps of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lumiere.pipeline.job import Job
from lumiere.pipeline.parts.analysis import analysis_part
from lumiere.pipeline.parts.audio import audio_part
from lumiere.pipeline.parts.image import image_part
from lumiere.pipeline.parts.previews import poster_part, previews_part
from lumiere.pipeline.parts.video import video_part
from lumiere.pipeline.plan import ANALYSIS, AUDIO, IMAGE, POSTER, PREVIEWS, VIDEO

Producer = Callable[[Job, list[str]], dict[str, Any]]

PRODUCERS: dict[str, Producer] = {
    IMAGE: image_part,
    VIDEO: video_part,
    AUDIO: audio_part,
    POSTER: poster_part,
    PREVIEWS: previews_part,
    ANALYSIS: analysis_part,
}
