"""Why a recording could not be made. Each error's message is the ``failure_reason`` stored
on the recording, so it must make sense to an operator reading the API::

    RecordingError
    ├── StorageError        the storage refused a write/read (full disk, no permission, S3 down)
    │   └── ObjectMissing   the key is not in the storage
    ├── ToolMissing         janus-pp-rec / ffmpeg is not installed or not on PATH
    ├── ToolFailed          a tool ran and exited non-zero (its stderr tail is in the message)
    ├── NoMedia             nothing was recorded (no feed files, no packets)
    └── RecorderCrashed     the recorder stopped on its own before it was asked to
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base class; ``str(error)`` is the reason shown on a failed recording."""


class StorageError(RecordingError):
    pass


class ObjectMissing(StorageError):
    pass


class ServedByStorage(StorageError):
    """The storage serves the file itself (Cloudinary, at the session's recording_url):
    liveclass does not stream it."""


class ToolMissing(RecordingError):
    pass


class ToolFailed(RecordingError):
    pass


class NoMedia(RecordingError):
    pass


class RecorderCrashed(RecordingError):
    pass
