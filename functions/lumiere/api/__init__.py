"""The HTTP API (a Chalice app)."""
