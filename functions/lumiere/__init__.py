"""Lumiere: a serverless media backend.

Layout: ``media`` is pure media logic (no AWS), ``cloud`` holds the AWS adapters,
``pipeline`` decides what happens to an asset, ``handlers`` are the thin Lambda entry
points and ``api`` is the HTTP API.
"""

__version__ = "0.1.0"
