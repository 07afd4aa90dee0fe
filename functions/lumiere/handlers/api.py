"""ApiFunction: the Chalice app is itself the Lambda handler (``lumiere.handlers.api.app``)."""

from lumiere.api.app import app

__all__ = ["app"]
