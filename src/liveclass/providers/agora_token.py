"""Agora AccessToken2 ("007"): build RTC tokens, decode any token, check its signature.

Written from Agora's published algorithm (the ``AccessToken2`` sources in AgoraIO/Tools).
Agora's package on the index builds only the older "006" tokens.

Wire format, every integer little-endian, a *string* being ``u16 length + bytes``::

    token        = "007" + base64(zlib(string(signature) + signed_info))
    signed_info  = string(app_id) + u32 issued_at + u32 expire + u32 salt
                   + u16 count + service*
    service      = u16 type + u16 count + (u16 privilege + u32 expire)* + the type's fields
    RTC fields   = string(channel) + string(uid)        (uid 0 is written as "")
    signing key  = HMAC-SHA256(u32 salt, HMAC-SHA256(u32 issued_at, app_certificate))
    signature    = HMAC-SHA256(signing key, signed_info)

``expire`` and every privilege's expiry count seconds from ``issued_at``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

VERSION = "007"
MAX_EXPIRE_SECONDS = 24 * 60 * 60
"""Agora honours a token for at most 24 hours, so asking for longer is capped."""

_HEX_32 = re.compile(r"[0-9a-fA-F]{32}")
# Agora's documented channel-name alphabet; a channel is shorter than 64 bytes.
_CHANNEL = re.compile(r"[a-zA-Z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]{1,63}")
_MAX_ACCOUNT_BYTES = 255
_U32_MAX = 2**32 - 1


class ServiceType(IntEnum):
    RTC = 1
    RTM = 2
    STREAMING = 3
    FPA = 4
    CHAT = 5


class RtcPrivilege(IntEnum):
    JOIN_CHANNEL = 1
    PUBLISH_AUDIO = 2
    PUBLISH_VIDEO = 3
    PUBLISH_DATA = 4


PUBLISHER_PRIVILEGES = tuple(RtcPrivilege)
SUBSCRIBER_PRIVILEGES = (RtcPrivilege.JOIN_CHANNEL,)

# The string fields each service carries after its privileges, in wire order. A service
# has no length prefix, so a token holding a type missing here cannot be read past it.
_SERVICE_FIELDS: Mapping[int, tuple[str, ...]] = {
    ServiceType.RTC: ("channel", "uid"),
    ServiceType.RTM: ("user_id",),
    ServiceType.STREAMING: ("channel", "uid"),
    ServiceType.FPA: (),
    ServiceType.CHAT: ("user_id",),
}


# -- packing ---------------------------------------------------------------------------


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(value: bytes) -> bytes:
    return _u16(len(value)) + value


def _privileges(privileges: Mapping[RtcPrivilege, int]) -> bytes:
    entries = sorted(privileges.items())
    return _u16(len(entries)) + b"".join(_u16(key) + _u32(value) for key, value in entries)


def _signature(app_certificate: str, issued_at: int, salt: int, signed_info: bytes) -> bytes:
    stamped = hmac.digest(_u32(issued_at), app_certificate.encode(), hashlib.sha256)
    signing_key = hmac.digest(_u32(salt), stamped, hashlib.sha256)
    return hmac.digest(signing_key, signed_info, hashlib.sha256)


# -- building --------------------------------------------------------------------------


def _require_hex_32(value: str, name: str) -> None:
    if not _HEX_32.fullmatch(value):
        raise ValueError(f"{name} must be 32 hexadecimal characters")


def _require_u32(value: int, name: str) -> None:
    if not 0 <= value <= _U32_MAX:
        raise ValueError(f"{name} must fit in 32 unsigned bits, got {value}")


@dataclass(frozen=True)
class RtcService:
    """The RTC grant: join (and perhaps publish in) one channel as one uid.

    ``uid`` is the wire form: a numeric uid in decimal, a user account, or "" for any uid.
    """

    channel: str
    uid: str
    privileges: Mapping[RtcPrivilege, int]

    def __post_init__(self) -> None:
        if not _CHANNEL.fullmatch(self.channel):
            raise ValueError(
                "channel must be 1-63 characters: letters, digits, space or "
                "!#$%&()+-:;<=.>?@[]^_{}|~,"
            )
        if len(self.uid.encode()) > _MAX_ACCOUNT_BYTES:
            raise ValueError(f"uid must be at most {_MAX_ACCOUNT_BYTES} bytes")
        if not self.privileges:
            raise ValueError("an RTC service needs at least one privilege")
        for expire in self.privileges.values():
            _require_u32(expire, "privilege expiry")

    def pack(self) -> bytes:
        return (
            _u16(ServiceType.RTC)
            + _privileges(self.privileges)
            + _string(self.channel.encode())
            + _string(self.uid.encode())
        )


@dataclass(frozen=True)
class AccessToken2:
    """An AccessToken2 holding one RTC service, exactly as Agora's algorithm lays it out."""

    app_id: str
    app_certificate: str
    issued_at: int
    expire: int
    salt: int
    rtc: RtcService

    def __post_init__(self) -> None:
        _require_hex_32(self.app_id, "app_id")
        _require_hex_32(self.app_certificate, "app_certificate")
        _require_u32(self.issued_at, "issued_at")
        _require_u32(self.expire, "expire")
        _require_u32(self.salt, "salt")

    def signed_info(self) -> bytes:
        return (
            _string(self.app_id.encode())
            + _u32(self.issued_at)
            + _u32(self.expire)
            + _u32(self.salt)
            + _u16(1)
            + self.rtc.pack()
        )

    def build(self) -> str:
        signed_info = self.signed_info()
        signature = _signature(self.app_certificate, self.issued_at, self.salt, signed_info)
        packed = zlib.compress(_string(signature) + signed_info)
        return VERSION + base64.b64encode(packed).decode("ascii")


def _uid_on_wire(uid: int | str) -> str:
    # uid 0 (or "") lets anyone join with the token: a per-person token must name its person.
    if isinstance(uid, bool) or not isinstance(uid, int | str):
        raise ValueError("uid must be an integer or a user account string")
    if isinstance(uid, int):
        if not 1 <= uid <= _U32_MAX:
            raise ValueError(f"a numeric uid must be between 1 and {_U32_MAX}, got {uid}")
        return str(uid)
    if not uid:
        raise ValueError("a user account uid must not be empty")
    return uid


def _capped_expiry(seconds: int, name: str) -> int:
    if seconds < 1:
        raise ValueError(f"{name} must be at least 1 second, got {seconds}")
    return min(seconds, MAX_EXPIRE_SECONDS)


def build_rtc_token(
    *,
    app_id: str,
    app_certificate: str,
    channel: str,
    uid: int | str,
    publisher: bool,
    token_expire_seconds: int,
    privilege_expire_seconds: int,
    issued_at: int | None = None,
    salt: int | None = None,
) -> str:
    """An RTC token for one person in one channel.

    A publisher may join and publish audio, video and data; anyone else may only join.
    Both expiries count seconds from ``issued_at`` (now by default) and are capped at 24 h.
    Agora's own builder draws the salt from 1..99999999; so does this one by default.
    Raises ``ValueError`` for a malformed app id, certificate, channel, uid or expiry.
    """
    privilege_expire = _capped_expiry(privilege_expire_seconds, "privilege_expire_seconds")
    granted = PUBLISHER_PRIVILEGES if publisher else SUBSCRIBER_PRIVILEGES
    token = AccessToken2(
        app_id=app_id,
        app_certificate=app_certificate,
        issued_at=int(time.time()) if issued_at is None else issued_at,
        expire=_capped_expiry(token_expire_seconds, "token_expire_seconds"),
        salt=secrets.randbelow(99_999_999) + 1 if salt is None else salt,
        rtc=RtcService(
            channel=channel,
            uid=_uid_on_wire(uid),
            privileges=dict.fromkeys(granted, privilege_expire),
        ),
    )
    return token.build()


# -- decoding --------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedService:
    """One service of a decoded token: its privileges and its string fields by name."""

    type: int
    privileges: Mapping[int, int]
    fields: Mapping[str, str]


@dataclass(frozen=True)
class RtcGrant:
    channel: str
    uid: str
    privileges: Mapping[RtcPrivilege, int]


@dataclass(frozen=True)
class ParsedToken:
    """A decoded AccessToken2; ``signed_info`` is the exact byte run its signature covers."""

    app_id: str
    issued_at: int
    expire: int
    salt: int
    services: tuple[ParsedService, ...]
    signature: bytes
    signed_info: bytes

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.expire

    @property
    def rtc(self) -> RtcGrant:
        """The RTC service; ``ValueError`` if the token carries none."""
        for service in self.services:
            if service.type == ServiceType.RTC:
                privileges = {RtcPrivilege(k): v for k, v in service.privileges.items()}
                return RtcGrant(service.fields["channel"], service.fields["uid"], privileges)
        raise ValueError("the token carries no RTC service")


class _Reader:
    """Reads the token's little-endian fields in order, refusing to run past the end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, size: int) -> bytes:
        if self._at + size > len(self._data):
            raise ValueError("the token ends in the middle of a field")
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def u16(self) -> int:
        value: int = struct.unpack("<H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.string().decode()
        except UnicodeDecodeError as exc:
            raise ValueError("a token field is not UTF-8") from exc

    def rest(self) -> bytes:
        return self._data[self._at :]


def _unwrap(token: str) -> bytes:
    if not token.startswith(VERSION):
        raise ValueError(f"not an AccessToken2: it does not start with {VERSION!r}")
    try:
        return zlib.decompress(base64.b64decode(token[len(VERSION) :], validate=True))
    except (binascii.Error, zlib.error) as exc:
        raise ValueError("not an AccessToken2: the body is not base64 of zlib data") from exc


def _read_service(reader: _Reader) -> ParsedService:
    service_type = reader.u16()
    if service_type not in _SERVICE_FIELDS:
        raise ValueError(f"the token holds service type {service_type}, which is not decoded")
    privileges = {reader.u16(): reader.u32() for _ in range(reader.u16())}
    fields = {name: reader.text() for name in _SERVICE_FIELDS[service_type]}
    return ParsedService(service_type, privileges, fields)


def parse_token(token: str) -> ParsedToken:
    """Decode an AccessToken2 without checking its signature; ``ValueError`` if malformed."""
    reader = _Reader(_unwrap(token))
    signature = reader.string()
    signed_info = reader.rest()
    app_id = reader.text()
    issued_at, expire, salt = reader.u32(), reader.u32(), reader.u32()
    services = tuple(_read_service(reader) for _ in range(reader.u16()))
    if reader.rest():
        raise ValueError("the token has bytes after its last service")
    return ParsedToken(app_id, issued_at, expire, salt, services, signature, signed_info)


def verify_signature(token: ParsedToken | str, app_certificate: str) -> bool:
    """Whether ``token`` was signed with ``app_certificate`` and not altered since."""
    _require_hex_32(app_certificate, "app_certificate")
    parsed = parse_token(token) if isinstance(token, str) else token
    expected = _signature(app_certificate, parsed.issued_at, parsed.salt, parsed.signed_info)
    return hmac.compare_digest(expected, parsed.signature)
