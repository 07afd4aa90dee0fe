"""Pure media logic: probing, ladder planning, ffmpeg command building, manifests.

Nothing in this package imports boto3 or reads the environment.
"""
