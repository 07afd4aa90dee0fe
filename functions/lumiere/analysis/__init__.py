"""Pure analysis of media content: faces in pictures and video frames, captions from
speech, and audio facts (loudness, silences, whether there is speech at all).

Nothing here talks to AWS: callers hand in frames, PCM chunks or ffmpeg output, and get
back the dataclasses of ``models``. ffmpeg command lines live in ``commands``. The one
exception is ``backends``, which puts the offline engines and their AWS counterparts
(``lumiere.cloud.rekognition``, imported only when used) behind one interface each.
"""
