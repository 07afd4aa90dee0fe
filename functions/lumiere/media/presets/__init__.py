"""Presets are data: ``{family}_{name}.json`` files in this package (``ladder_default``,
``images_default`` ...), read by name, never by path."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from lumiere.errors import InvalidRequestError


def preset_names(family: str) -> list[str]:
    prefix = f"{family}_"
    return sorted(
        p.name.removeprefix(prefix).removesuffix(".json")
        for p in resources.files(__name__).iterdir()
        if p.name.startswith(prefix) and p.name.endswith(".json")
    )


def read_preset(family: str, name: str) -> dict[str, Any]:
    """The JSON of one preset. Names are plain words, so a request cannot reach any
    other file; an unknown one is refused with the choices."""
    if name and name.replace("-", "").replace("_", "").isalnum():
        try:
            text = resources.files(__name__).joinpath(f"{family}_{name}.json")
            data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            pass
    raise InvalidRequestError(
        f"Unknown {family} preset {name!r}; choose one of: {', '.join(preset_names(family))}."
    )
