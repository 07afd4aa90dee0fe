"""Finding an owner's assets by name (``GET /assets?q=``): the words of the title and
file name folded once when they are written, so the catalogue can match them with a
plain ``contains`` (DynamoDB's only substring test, which is case-sensitive)."""

from __future__ import annotations

import unicodedata

from lumiere.errors import InvalidRequestError

QUERY_MAX_CHARS = 100
QUERY_MAX_TERMS = 8


def fold(text: str) -> str:
    """Case, width and accents folded: "Café", "CAFE" and "café" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def searchable(title: str | None, filename: str | None) -> str:
    """What ``q`` is matched against: the title and the file name, folded."""
    return fold(" ".join(part for part in (title, filename) if part))


def matches(text: str, terms: list[str]) -> bool:
    """What the catalogue's ``contains`` filter decides, for a record read back."""
    return all(term in text for term in terms)


def query_terms(q: str | None) -> list[str]:
    """The folded words of a query; an asset matches when its text contains every one
    (so "launch mov" finds "Launch day.mov"). Empty: no filter."""
    if q is None or not q.strip():
        return []
    if len(q) > QUERY_MAX_CHARS:
        raise InvalidRequestError(f"q is {len(q)} characters; the limit is {QUERY_MAX_CHARS}.")
    terms = list(dict.fromkeys(fold(q).split()))
    if len(terms) > QUERY_MAX_TERMS:
        raise InvalidRequestError(f"q has {len(terms)} words; the limit is {QUERY_MAX_TERMS}.")
    return terms
