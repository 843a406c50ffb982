"""``RECORDING_STORAGE`` chooses where recordings go: the settings reach a real
S3-compatible server (moto's server mode on loopback) through ``build_services``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from liveclass.recording.storage import LocalStorage, S3Storage
from liveclass.services import build_services
from tests.conftest import make_settings
from tests.recording.test_storage import s3_endpoint  # noqa: F401  (module fixture)

pytestmark = pytest.mark.recording


async def test_s3_settings_store_in_the_bucket_under_the_prefix(
    s3_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        recording_storage="s3",
        s3_bucket="classes",
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key="test",
        s3_secret_key="test-secret",
        s3_prefix="school-a",
    )
    assert "test-secret" not in repr(settings)
    services = build_services(settings)
    storage = services.recorder.storage
    assert isinstance(storage, S3Storage)
    storage._client.create_bucket(Bucket="classes")
    source = tmp_path / "class.webm"
    source.write_bytes(b"webm" * 1000)
    assert await storage.put_file("r1/class.webm", source, content_type="video/webm") == 4000
    listed = storage._client.list_objects_v2(Bucket="classes")["Contents"]
    assert [o["Key"] for o in listed] == ["school-a/r1/class.webm"]
    assert services.recorder.storage is storage  # one client per node, not one per download
    await services.close()  # closes the client's connections too


async def test_local_storage_by_default(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", recordings_dir=str(tmp_path / "rec")
    )
    services = build_services(settings)
    storage = services.recorder.storage
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "rec"
    await services.db.close()


def test_s3_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="S3_BUCKET"):
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", recording_storage="s3")
