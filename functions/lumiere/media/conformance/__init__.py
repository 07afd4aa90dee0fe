"""Check a published HLS/DASH package against RFC 8216, Apple's HLS authoring spec and
ISO/IEC 23009-1, from the files alone.

Players trust manifests blindly: an understated BANDWIDTH stalls playback, a CODECS string
naming the wrong profile makes a device refuse the stream, unaligned renditions glitch on
every switch. So every declared value is compared with what the segments actually hold
(via :mod:`lumiere.media.isobmff`), not with what the encoder was asked for.

Pure Python and read-only: safe to run in a Lambda after packaging or in unit tests.
Apple's spec is renumbered between revisions, so it is cited by section title.
"""

from lumiere.media.conformance.dash import check_dash, expand_template, parse_iso_duration
from lumiere.media.conformance.hls import check_hls
from lumiere.media.conformance.package import Problem, parse_attributes

__all__ = [
    "Problem",
    "check_dash",
    "check_hls",
    "expand_template",
    "parse_attributes",
    "parse_iso_duration",
]
