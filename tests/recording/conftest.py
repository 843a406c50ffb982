from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import aioice.ice
import pytest

# Test helpers import as ``tests.<package>.<module>``; the repository root must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# In the media namespace 127.0.0.1 is the only address; aioice drops it unless told.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def require_tool(name: str) -> str:
    """The tool's path; under CI a missing tool fails the test, elsewhere it skips it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian packages ffmpeg, janus-tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


# The Janus of the media tests, for recording Janus classes.
from tests.media.conftest import janus_server  # noqa: E402, F401
