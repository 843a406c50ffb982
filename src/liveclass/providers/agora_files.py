"""Reading what Cloud Recording uploaded: Agora hosts no download link, it writes the files
into liveclass's own S3 bucket, so a finished recording is read from there (boto3, as the
S3 recording storage does; synchronous, so each call runs in a worker thread)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from liveclass.providers.errors import ProviderError, ProviderUnavailable

PROVIDER = "Agora"
CHUNK_BYTES = 1024 * 1024
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class BucketFiles:
    """The objects Agora wrote into one bucket, read by their full key."""

    def __init__(
        self,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._access_key, self._secret_key = access_key, secret_key
        self._region, self._endpoint_url = region, endpoint_url
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            try:
                import boto3  # optional: only S3 deployments have it
            except ModuleNotFoundError as exc:
                raise ProviderUnavailable(PROVIDER, "reading the bucket needs boto3") from exc
            self._client = boto3.client(
                "s3",
                endpoint_url=self._endpoint_url,
                region_name=self._region,
                aws_access_key_id=self._access_key,
                aws_secret_access_key=self._secret_key,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            reply = await asyncio.to_thread(self._s3().get_object, Bucket=self.bucket, Key=key)
        except ProviderUnavailable:
            raise
        except Exception as exc:  # botocore raises many types; the code tells them apart
            code = _error_code(exc)
            if code in _MISSING:
                raise ProviderError(
                    PROVIDER, 404, code, f"no object {key!r} in the bucket"
                ) from exc
            raise ProviderUnavailable(PROVIDER, f"reading {key!r}: {exc}") from exc
        body = reply["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            code = error.get("Code")
            return str(code) if code is not None else None
    return None
