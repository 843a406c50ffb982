"""A small client for Agora's RESTful API over httpx: kicking rules (``/dev/v1/kicking-rule``)
and Cloud Recording (acquire, start, query, stop under ``/v1/apps/{appid}/cloud_recording``).

Every call carries HTTP Basic ``customer ID:customer secret``. Both APIs answer on the same
host (``AGORA_API_URL``, by default ``https://api.agora.io``), so one base URL serves both.
A 4xx becomes ``ProviderError`` (Agora's ``code``/``reason`` or ``message`` kept), a 5xx, a
timeout or a second 429 ``ProviderUnavailable`` (``providers/transport.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.transport import (
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    ProviderTransport,
    body_gist,
    error_body,
)

AGORA_API_URL = "https://api.agora.io"
PROVIDER = "Agora"
KICK_PRIVILEGES = ("join_channel",)
# Cloud Recording's storage vendor for Amazon S3, and its region codes for S3 regions
S3_VENDOR = 1
S3_REGIONS = {
    "us-east-1": 0,
    "us-east-2": 1,
    "us-west-1": 2,
    "us-west-2": 3,
    "eu-west-1": 4,
    "eu-west-2": 5,
    "eu-west-3": 6,
    "eu-central-1": 7,
    "ap-southeast-1": 8,
    "ap-southeast-2": 9,
    "ap-northeast-1": 10,
    "ap-northeast-2": 11,
    "sa-east-1": 12,
    "ca-central-1": 13,
    "ap-south-1": 14,
}
MIX = "mix"  # one composited file for the class


@dataclass(frozen=True, slots=True)
class RecordingBucket:
    """Where Cloud Recording uploads the files: liveclass's own S3 bucket."""

    bucket: str
    region: int
    access_key: str
    secret_key: str
    prefix: tuple[str, ...] = ()

    def storage_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "vendor": S3_VENDOR,
            "region": self.region,
            "bucket": self.bucket,
            "accessKey": self.access_key,
            "secretKey": self.secret_key,
        }
        if self.prefix:
            config["fileNamePrefix"] = list(self.prefix)
        return config


@dataclass(frozen=True, slots=True)
class CloudRecording:
    """A recording session Agora runs: its resource and session ids, for query and stop."""

    channel: str
    uid: str
    resource_id: str
    sid: str
    mode: str = MIX


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One file of ``serverResponse.fileList`` (its name is the object key in the bucket)."""

    file_name: str
    track_type: str = ""


class AgoraClient:
    """The REST calls liveclass makes for one Agora project."""

    def __init__(
        self,
        *,
        app_id: str,
        customer_id: str,
        customer_secret: str,
        api_url: str = AGORA_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
    ) -> None:
        self.app_id = app_id
        self.api_url = api_url.rstrip("/")
        basic = base64.b64encode(f"{customer_id}:{customer_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self._wire = ProviderTransport(
            PROVIDER, http=http, timeout=timeout, max_retry_wait=max_retry_wait
        )

    async def aclose(self) -> None:
        await self._wire.aclose()

    # kicking rules

    async def kick(self, *, channel: str, uid: int, seconds: int) -> str:
        """Keep ``uid`` out of ``channel`` for ``seconds`` (Agora drops them at once); the
        rule's id."""
        body = {
            "appid": self.app_id,
            "cname": channel,
            "uid": uid,
            "time_in_seconds": seconds,
            "privileges": list(KICK_PRIVILEGES),
        }
        reply = await self._call("POST", "/dev/v1/kicking-rule", json=body)
        rule = reply.get("id")
        return str(rule) if rule is not None else ""

    # Cloud Recording

    def _recording_path(self, tail: str) -> str:
        return f"/v1/apps/{_segment(self.app_id)}/cloud_recording/{tail}"

    async def acquire(self, *, channel: str, uid: str) -> str:
        """A resource id for one recording session (good for five minutes)."""
        body = {"cname": channel, "uid": uid, "clientRequest": {"resourceExpiredHour": 24}}
        reply = await self._call("POST", self._recording_path("acquire"), json=body)
        return _required(reply, "resourceId")

    async def start(
        self, *, channel: str, uid: str, token: str, bucket: RecordingBucket, mode: str = MIX
    ) -> CloudRecording:
        """Acquire a resource and start recording ``channel`` into ``bucket``."""
        resource = await self.acquire(channel=channel, uid=uid)
        body = {
            "cname": channel,
            "uid": uid,
            "clientRequest": {
                "token": token,
                "recordingConfig": {"channelType": 0, "streamTypes": 2},
                # an MP4 beside the HLS playlist: one playable file per class
                "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
                "storageConfig": bucket.storage_config(),
            },
        }
        path = self._recording_path(f"resourceid/{_segment(resource)}/mode/{mode}/start")
        reply = await self._call("POST", path, json=body)
        return CloudRecording(channel, uid, _text(reply, "resourceId") or resource, _sid(reply))

    async def query(self, recording: CloudRecording) -> dict[str, Any]:
        """Agora's ``serverResponse`` for a running recording."""
        reply = await self._call("GET", self._session_path(recording, "query"))
        response = reply.get("serverResponse")
        return dict(response) if isinstance(response, dict) else {}

    async def stop(self, recording: CloudRecording) -> list[RecordedFile]:
        """Stop it; the files Agora uploaded (``serverResponse.fileList``)."""
        body = {"cname": recording.channel, "uid": recording.uid, "clientRequest": {}}
        reply = await self._call("POST", self._session_path(recording, "stop"), json=body)
        response = reply.get("serverResponse")
        listed = response.get("fileList") if isinstance(response, dict) else None
        if not isinstance(listed, list):
            return []
        return [
            RecordedFile(_text(item, "fileName"), _text(item, "trackType"))
            for item in listed
            if isinstance(item, dict) and _text(item, "fileName")
        ]

    def _session_path(self, recording: CloudRecording, verb: str) -> str:
        rid, sid = _segment(recording.resource_id), _segment(recording.sid)
        return self._recording_path(f"resourceid/{rid}/sid/{sid}/mode/{recording.mode}/{verb}")

    # the wire

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url, what = self.api_url + path, f"{method} {path}"
        return await self._wire.call(
            method, url, headers=self._headers, refusal=_refusal, what=what, **kwargs
        )


def _refusal(what: str, response: httpx.Response) -> ProviderError:
    """Cloud Recording's ``{code, reason}``, the REST API's ``{message}``, or the status."""
    body = error_body(response)
    code = body.get("code")
    message = _text(body, "reason") or _text(body, "message")
    if code is not None or message:
        return ProviderError(PROVIDER, response.status_code, str(code or ""), message)
    text = body_gist(response, what)
    return ProviderError(PROVIDER, response.status_code, "unknown", text)


def _sid(reply: Mapping[str, Any]) -> str:
    return _required(reply, "sid")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _text(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    return value if isinstance(value, str) else ""


def _required(message: Mapping[str, Any], key: str) -> str:
    value = _text(message, key)
    if not value:
        raise ProviderUnavailable(PROVIDER, f"the answer has no {key!r}")
    return value
