"""What every check shares: a problem found, and the package being read (its files
resolved safely, each MP4 parsed once)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from lumiere.media.isobmff import (
    BoxError,
    Fragment,
    TrackInfo,
    read_fragment_file,
    read_init_file,
)

# EXTINF must match the fragment's own duration; a frame at 24 fps is ~42 ms.
TIMING_SLACK_S = 0.050


@dataclass(frozen=True)
class Problem:
    where: str  # file (relative to root) the problem is in
    rule: str  # short stable id, e.g. "bandwidth-too-low"
    message: str  # a sentence a person can act on


class Package:
    """The package root plus caches, so each MP4 file is parsed at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.problems: list[Problem] = []
        self._inits: dict[str, TrackInfo | None] = {}
        self._fragments: dict[str, Fragment | None] = {}

    def add(self, where: str, rule: str, message: str) -> None:
        self.problems.append(Problem(where, rule, message))

    def resolve(self, base: str, uri: str, where: str) -> str | None:
        """The root-relative path of ``uri`` (relative to file ``base``), or None after
        reporting why it cannot be served from this package."""
        # Our packages are self-contained: an absolute or parent-escaping URI either
        # leaks another asset or breaks when the package moves (RFC 3986 5.2 resolution
        # against the playlist URI; RFC 8216 4.1 allows relative URIs for this).
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc or uri.startswith(("/", "\\")) or "\\" in uri:
            self.add(where, "unsafe-uri", f"URI {uri!r} must be relative to the package.")
            return None
        if ".." in PurePosixPath(parts.path).parts:
            self.add(where, "unsafe-uri", f"URI {uri!r} must stay inside the package.")
            return None
        rel = str(PurePosixPath(base).parent / parts.path)
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):  # e.g. a symlink pointing out
            self.add(where, "unsafe-uri", f"URI {uri!r} resolves outside the package.")
            return None
        if not path.is_file():
            self.add(where, "missing-file", f"{rel} is referenced but does not exist.")
            return None
        return rel

    def size(self, rel: str) -> int:
        return (self.root / rel).stat().st_size

    def init(self, rel: str) -> TrackInfo | None:
        if rel not in self._inits:
            try:
                self._inits[rel] = read_init_file(self.root / rel)
            except (BoxError, IndexError, OSError) as e:
                self.add(rel, "bad-mp4", f"Cannot read the init segment: {e}.")
                self._inits[rel] = None
        return self._inits[rel]

    def fragment(self, rel: str) -> Fragment | None:
        if rel not in self._fragments:
            try:
                self._fragments[rel] = read_fragment_file(self.root / rel)
            except (BoxError, IndexError, OSError) as e:
                self.add(rel, "bad-mp4", f"Cannot read the media segment: {e}.")
                self._fragments[rel] = None
        return self._fragments[rel]


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^,\r\n]*)')


def parse_attributes(text: str) -> dict[str, str]:
    """An RFC 8216 4.2 attribute list, quotes removed."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTRIBUTE.findall(text)}


def split_tag(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name, value
