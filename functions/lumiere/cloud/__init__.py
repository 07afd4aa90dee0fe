"""Adapters to the world outside: AWS (the only package that imports boto3) and, for
imports, the web server a source is fetched from (``remote_source``)."""
