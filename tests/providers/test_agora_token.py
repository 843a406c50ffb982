"""AccessToken2 against Agora's published test vectors, then round trips and refusals.

The vectors are those of AgoraIO/Tools ``DynamicKey/AgoraDynamicKey/python3/test/
AccessToken2Test.py``: all share the app id, certificate, channel, issue time 1111111,
salt 1 and expiry 600 below.
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from typing import Any

import pytest

from liveclass.providers.agora_token import (
    MAX_EXPIRE_SECONDS,
    AccessToken2,
    RtcPrivilege,
    RtcService,
    ServiceType,
    build_rtc_token,
    parse_token,
    verify_signature,
)

APP_ID = "970CA35de60c44645bbae8a215061b33"
CERTIFICATE = "5CFd2fd1755d40ecb72977518be15d3b"
OTHER_CERTIFICATE = "0123456789abcdef0123456789ABCDEF"
CHANNEL = "7d72365eb983485397e3e3f9d460bdda"
UID = 2882341273
ISSUED_AT = 1111111
SALT = 1
EXPIRE = 600

# test_service_rtc and test_service_rtc_account: join only, uid 2882341273 (number or string)
VECTOR_RTC_UID = (
    "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj"
)
# test_service_rtc_uid_0: join only, uid 0 (any uid)
VECTOR_RTC_UID_0 = (
    "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo="
)
# test_multi_service: RTC with all four privileges, then RTM, streaming, RTNS and chat
VECTOR_MULTI_SERVICE = (
    "007eJxTYAh5UWu1drfhsnu9etvupS0v/iFs+3PC/Sbl8gdht55xSusqMFiaGzg7GpumpJoZJJuYmJmYJiUlplokGhmaGpg"
    "ZJhkbu38RYIhgYmBgZGBgYAWSLEAM4jOBSWYwyQImFRjMU8yNjM1MU5MsLYxNLEyNLc1TjVON0yxTTMwMklJSErkYjCwsj"
    "IxNDI3MjZmA5kBM4mQoSS0uiS8tTi1iZmBCMZ40I1mgToSYgCwDAGL1OcI="
)
# test_service_chat_user: chat user privilege for user "2882341273"
VECTOR_CHAT_USER = (
    "007eJxTYNAIsnbS3v/A5t2TC6feR15r+6cq8bqAvfaW+tk/Vzz+p6xTYLA0N3B2NDZNSTUzSDYxMTMxTUpKTLVINDI0NTA"
    "zTDI2dv8iwBDBxMDAyADCrEDMCOZzMRhZWBgZmxgamRsDAB+lHrg="
)
# test_service_chat_app: chat app privilege, no user
VECTOR_CHAT_APP = (
    "007eJxTYNDNaz3snC8huEfHWdz6s98qltq4zqy9fl99Uh0FDvy6F6DAYGlu4OxobJqSamaQbGJiZmKalJSYapFoZGhqYGa"
    "YZGzs/kWAIYKJgYGRAYRZgZgJzGdgAACt8hhr"
)

# u16 + 32-byte app id, u32 issue time, u32 expire, u32 salt, u16 service count
SIGNED_HEADER_BYTES = 2 + 32 + 4 + 4 + 4 + 2


def vector_token(**overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "app_id": APP_ID,
        "app_certificate": CERTIFICATE,
        "channel": CHANNEL,
        "uid": UID,
        "publisher": False,
        "token_expire_seconds": EXPIRE,
        "privilege_expire_seconds": EXPIRE,
        "issued_at": ISSUED_AT,
        "salt": SALT,
    }
    arguments.update(overrides)
    return build_rtc_token(**arguments)


def unwrapped(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(token[3:]))


def wrapped(body: bytes) -> str:
    return "007" + base64.b64encode(zlib.compress(body)).decode()


# -- Agora's published vectors ---------------------------------------------------------


def test_numeric_uid_matches_agoras_vector_byte_for_byte() -> None:
    assert vector_token(uid=UID) == VECTOR_RTC_UID


def test_account_uid_matches_agoras_vector_byte_for_byte() -> None:
    assert vector_token(uid=str(UID)) == VECTOR_RTC_UID


def test_any_uid_token_matches_agoras_vector_byte_for_byte() -> None:
    # liveclass never issues an any-uid token, so this one is built one level down
    token = AccessToken2(
        app_id=APP_ID,
        app_certificate=CERTIFICATE,
        issued_at=ISSUED_AT,
        expire=EXPIRE,
        salt=SALT,
        rtc=RtcService(CHANNEL, "", {RtcPrivilege.JOIN_CHANNEL: EXPIRE}),
    )
    assert token.build() == VECTOR_RTC_UID_0


def test_publisher_rtc_service_matches_the_one_in_agoras_multi_service_vector() -> None:
    ours = parse_token(vector_token(publisher=True)).signed_info[SIGNED_HEADER_BYTES:]
    theirs = parse_token(VECTOR_MULTI_SERVICE).signed_info[SIGNED_HEADER_BYTES:]
    assert theirs.startswith(ours)
    assert len(theirs) > len(ours)  # the other four services follow


@pytest.mark.parametrize(
    ("vector", "channel", "uid"),
    [(VECTOR_RTC_UID, CHANNEL, str(UID)), (VECTOR_RTC_UID_0, CHANNEL, "")],
)
def test_agoras_rtc_vectors_decode_to_their_inputs(vector: str, channel: str, uid: str) -> None:
    parsed = parse_token(vector)
    assert (parsed.app_id, parsed.issued_at, parsed.expire, parsed.salt) == (
        APP_ID,
        ISSUED_AT,
        EXPIRE,
        SALT,
    )
    assert (parsed.rtc.channel, parsed.rtc.uid) == (channel, uid)
    assert parsed.rtc.privileges == {RtcPrivilege.JOIN_CHANNEL: EXPIRE}
    assert verify_signature(parsed, CERTIFICATE)


def test_agoras_multi_service_vector_decodes_every_service() -> None:
    parsed = parse_token(VECTOR_MULTI_SERVICE)
    assert [service.type for service in parsed.services] == [1, 2, 3, 4, 5]
    assert parsed.rtc.privileges == dict.fromkeys(RtcPrivilege, EXPIRE)
    assert parsed.services[1].fields == {"user_id": "test_user"}
    assert parsed.services[2].privileges == {1: EXPIRE, 2: EXPIRE}
    assert parsed.services[4].fields == {"user_id": str(UID)}
    assert verify_signature(VECTOR_MULTI_SERVICE, CERTIFICATE)


@pytest.mark.parametrize(
    ("vector", "privilege", "user_id"), [(VECTOR_CHAT_USER, 1, str(UID)), (VECTOR_CHAT_APP, 2, "")]
)
def test_agoras_chat_vectors_decode_and_verify(vector: str, privilege: int, user_id: str) -> None:
    parsed = parse_token(vector)
    (service,) = parsed.services
    assert service.type == ServiceType.CHAT
    assert service.privileges == {privilege: EXPIRE}
    assert service.fields == {"user_id": user_id}
    assert verify_signature(vector, CERTIFICATE)
    with pytest.raises(ValueError, match="no RTC service"):
        _ = parsed.rtc


# -- round trips -----------------------------------------------------------------------


def test_publisher_token_round_trips() -> None:
    token = build_rtc_token(
        app_id=APP_ID,
        app_certificate=CERTIFICATE,
        channel="class-42 maths",
        uid="learner@example.org",
        publisher=True,
        token_expire_seconds=5400,
        privilege_expire_seconds=3600,
        issued_at=1_700_000_000,
        salt=424242,
    )
    parsed = parse_token(token)
    assert parsed.app_id == APP_ID
    assert (parsed.rtc.channel, parsed.rtc.uid) == ("class-42 maths", "learner@example.org")
    assert parsed.rtc.privileges == {
        RtcPrivilege.JOIN_CHANNEL: 3600,
        RtcPrivilege.PUBLISH_AUDIO: 3600,
        RtcPrivilege.PUBLISH_VIDEO: 3600,
        RtcPrivilege.PUBLISH_DATA: 3600,
    }
    assert (parsed.issued_at, parsed.expire, parsed.expires_at) == (
        1_700_000_000,
        5400,
        1_700_005_400,
    )
    assert parsed.salt == 424242
    assert verify_signature(token, CERTIFICATE)


def test_subscriber_may_only_join() -> None:
    parsed = parse_token(vector_token(publisher=False, uid=77))
    assert parsed.rtc.uid == "77"
    assert parsed.rtc.privileges == {RtcPrivilege.JOIN_CHANNEL: EXPIRE}


def test_defaults_stamp_now_and_draw_a_salt_in_agoras_range() -> None:
    before = int(time.time())
    parsed = parse_token(vector_token(issued_at=None, salt=None))
    after = int(time.time())
    assert before <= parsed.issued_at <= after
    assert 1 <= parsed.salt <= 99_999_999
    assert verify_signature(parsed, CERTIFICATE)


def test_expiry_is_capped_at_24_hours() -> None:
    three_days = 3 * MAX_EXPIRE_SECONDS
    parsed = parse_token(
        vector_token(
            publisher=True, token_expire_seconds=three_days, privilege_expire_seconds=three_days
        )
    )
    assert MAX_EXPIRE_SECONDS == 86_400
    assert parsed.expire == MAX_EXPIRE_SECONDS
    assert set(parsed.rtc.privileges.values()) == {MAX_EXPIRE_SECONDS}


def test_expiry_at_exactly_24_hours_is_kept() -> None:
    parsed = parse_token(vector_token(token_expire_seconds=86_400, privilege_expire_seconds=86_399))
    assert parsed.expire == 86_400
    assert parsed.rtc.privileges == {RtcPrivilege.JOIN_CHANNEL: 86_399}


# -- signatures ------------------------------------------------------------------------


def test_signature_fails_with_another_certificate() -> None:
    assert not verify_signature(VECTOR_RTC_UID, OTHER_CERTIFICATE)
    assert not verify_signature(vector_token(publisher=True), OTHER_CERTIFICATE)


def test_signature_fails_when_the_channel_is_changed() -> None:
    body = unwrapped(VECTOR_RTC_UID)
    tampered = wrapped(body.replace(CHANNEL.encode(), CHANNEL.upper().encode()))
    assert parse_token(tampered).rtc.channel == CHANNEL.upper()
    assert not verify_signature(tampered, CERTIFICATE)


def test_signature_fails_when_a_subscriber_widens_its_own_privileges() -> None:
    body = unwrapped(VECTOR_RTC_UID)
    # the RTC service's privilege count and its one entry (join, 600) follow the header
    grant_at = 2 + 32 + SIGNED_HEADER_BYTES + 2
    one_join = struct.pack("<HHI", 1, 1, EXPIRE)
    assert body[grant_at : grant_at + 8] == one_join
    two = struct.pack("<HHIHI", 2, 1, EXPIRE, 2, EXPIRE)
    tampered = wrapped(body[:grant_at] + two + body[grant_at + 8 :])
    assert RtcPrivilege.PUBLISH_AUDIO in parse_token(tampered).rtc.privileges
    assert not verify_signature(tampered, CERTIFICATE)


def test_signature_fails_when_the_expiry_is_stretched() -> None:
    body = bytearray(unwrapped(VECTOR_RTC_UID))
    expire_at = 2 + 32 + 2 + 32 + 4
    body[expire_at : expire_at + 4] = struct.pack("<I", MAX_EXPIRE_SECONDS)
    tampered = wrapped(bytes(body))
    assert parse_token(tampered).expire == MAX_EXPIRE_SECONDS
    assert not verify_signature(tampered, CERTIFICATE)


def test_signature_fails_when_the_signature_is_changed() -> None:
    body = bytearray(unwrapped(VECTOR_RTC_UID))
    body[2] ^= 0x01
    assert not verify_signature(wrapped(bytes(body)), CERTIFICATE)


# -- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "970CA35de60c44645bbae8a215061b3",  # 31 characters
        "970CA35de60c44645bbae8a215061b333",  # 33 characters
        "970CA35de60c44645bbae8a215061b3g",  # not hex
        "970CA35de60c44645bbae8a215061b3 ",
        "",
    ],
)
@pytest.mark.parametrize("field", ["app_id", "app_certificate"])
def test_bad_app_id_or_certificate_is_refused(field: str, bad: str) -> None:
    with pytest.raises(ValueError, match=field):
        vector_token(**{field: bad})


@pytest.mark.parametrize("bad", ["", "x" * 64, "class/42", "caf\u00e9", "tab\there"])
def test_bad_channel_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="channel"):
        vector_token(channel=bad)


def test_longest_channel_is_accepted() -> None:
    assert parse_token(vector_token(channel="c" * 63)).rtc.channel == "c" * 63


@pytest.mark.parametrize("bad", [0, -1, 2**32, "", "u" * 256, True])
def test_bad_uid_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="uid"):
        vector_token(uid=bad)


def test_largest_uid_is_accepted() -> None:
    assert parse_token(vector_token(uid=2**32 - 1)).rtc.uid == str(2**32 - 1)


@pytest.mark.parametrize("field", ["token_expire_seconds", "privilege_expire_seconds"])
@pytest.mark.parametrize("bad", [0, -600])
def test_non_positive_expiry_is_refused(field: str, bad: int) -> None:
    with pytest.raises(ValueError, match=field):
        vector_token(**{field: bad})


@pytest.mark.parametrize(("field", "bad"), [("issued_at", -1), ("salt", 2**32)])
def test_out_of_range_stamp_or_salt_is_refused(field: str, bad: int) -> None:
    with pytest.raises(ValueError, match=field):
        vector_token(**{field: bad})


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("006" + VECTOR_RTC_UID[3:], "does not start with '007'"),
        ("007not base64!", "not base64 of zlib"),
        ("007" + base64.b64encode(b"not zlib").decode(), "not base64 of zlib"),
        (wrapped(unwrapped(VECTOR_RTC_UID)[:-3]), "ends in the middle"),
        (wrapped(unwrapped(VECTOR_RTC_UID) + b"\x00"), "bytes after its last service"),
    ],
)
def test_malformed_token_is_refused(token: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_token(token)
    with pytest.raises(ValueError, match=reason):
        verify_signature(token, CERTIFICATE)


def test_unknown_service_type_is_refused() -> None:
    body = bytearray(unwrapped(VECTOR_RTC_UID))
    body[2 + 32 + SIGNED_HEADER_BYTES : 2 + 32 + SIGNED_HEADER_BYTES + 2] = struct.pack("<H", 9)
    with pytest.raises(ValueError, match="service type 9"):
        parse_token(wrapped(bytes(body)))


def test_verifying_with_a_malformed_certificate_is_refused() -> None:
    with pytest.raises(ValueError, match="app_certificate"):
        verify_signature(VECTOR_RTC_UID, "secret")
