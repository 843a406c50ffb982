"""Jitsi tokens decoded with pyjwt and checked claim by claim against the rules of prosody's
``mod_auth_token``, jitsi-contrib's ``token_affiliation`` and 8x8's JaaS; JaaS webhook
signatures good, bad and stale.

Fixed vector: the JaaS signature below was computed with ``openssl dgst -sha256 -hmac ...
-binary | base64``, independently of our code; 8x8's pages give no signed example.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from liveclass.domain.errors import Invalid
from liveclass.providers.errors import WebhookRejected
from liveclass.providers.jitsi_tokens import (
    CLOCK_SKEW,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_UPLOADED,
    ROOM_CREATED,
    TOLERANCE,
    JaasFeatures,
    JaasWebhookEvent,
    JitsiUser,
    jaas_join_link,
    jaas_kid,
    jaas_signature,
    jaas_token,
    jitsi_join_link,
    jitsi_token,
    room_name,
    verify_jaas_webhook,
)

APP_ID = "liveclass"
APP_SECRET = "a-jitsi-app-secret-of-32-bytes-or-more"
DOMAIN = "meet.school.example"
ROOM = "spanish-b1-tuesday"
NOW = 1_796_000_000
JAAS_APP = "vpaas-magic-cookie-0123456789abcdef0123456789abcdef"
KEY_ID = "4f4910"
ENDPOINT_SECRET = "jaas-endpoint-secret"

TEACHER = JitsiUser(id="user-1", name="Profesora Ana", moderator=True, email="ana@school.example")
STUDENT = JitsiUser(id="user-2", name="Ben")


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_hosted(user: JitsiUser, **changes: object) -> str:
    args: dict[str, object] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "domain": DOMAIN,
        "room": ROOM,
        "user": user,
        "ttl_seconds": 3600,
        "now": NOW,
    }
    args.update(changes)
    return jitsi_token(**args)  # type: ignore[arg-type]


def decode_self_hosted(token: str, *, audience: str = "jitsi") -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        APP_SECRET,
        algorithms=["HS256"],
        audience=audience,
        issuer=APP_ID,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


# self-hosted


def test_self_hosted_token_claims_for_the_host() -> None:
    token = self_hosted(TEACHER)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert decode_self_hosted(token) == {
        "iss": APP_ID,
        "aud": "jitsi",
        "sub": DOMAIN,
        "room": ROOM,
        "iat": NOW,
        "nbf": NOW - CLOCK_SKEW,
        "exp": NOW + 3600,
        "context": {
            "user": {
                "id": "user-1",
                "name": "Profesora Ana",
                "moderator": "true",
                "affiliation": "owner",
                "email": "ana@school.example",
            }
        },
    }


def test_self_hosted_token_for_a_student_is_no_moderator() -> None:
    claims = decode_self_hosted(self_hosted(STUDENT))
    # strings only, and no empty email/avatar: prosody throws on null
    assert claims["context"] == {
        "user": {"id": "user-2", "name": "Ben", "moderator": "false", "affiliation": "member"}
    }


def test_self_hosted_token_is_refused_with_another_secret_or_audience() -> None:
    token = self_hosted(STUDENT)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another-secret-of-32-bytes-or-more!!", algorithms=["HS256"], audience="jitsi"
        )
    with pytest.raises(jwt.InvalidAudienceError):
        decode_self_hosted(token, audience="other-app")
    assert decode_self_hosted(self_hosted(STUDENT, audience="other-app"), audience="other-app")


def test_a_fresh_token_is_valid_now_and_expires() -> None:
    token = self_hosted(STUDENT, now=None, ttl_seconds=60)
    claims = jwt.decode(token, APP_SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["nbf"] <= time.time() < claims["exp"]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            self_hosted(STUDENT, now=NOW - 7200), APP_SECRET, algorithms=["HS256"], audience="jitsi"
        )


def test_self_hosted_join_link_carries_the_token() -> None:
    token = self_hosted(STUDENT)
    link = urlsplit(jitsi_join_link(DOMAIN, ROOM, token))
    assert (link.scheme, link.netloc, link.path) == ("https", DOMAIN, f"/{ROOM}")
    assert parse_qs(link.query) == {"jwt": [token]}


@pytest.mark.parametrize("room", ["Spanish B1", "a/b", "room@x", "", "-lead", "Upper"])
def test_unsafe_room_names_are_refused(room: str) -> None:
    with pytest.raises(Invalid) as invalid:
        self_hosted(STUDENT, room=room)
    assert invalid.value.field == "room"
    with pytest.raises(Invalid):
        jitsi_join_link(DOMAIN, room, "t")


def test_room_names_are_made_safe() -> None:
    assert room_name("Spanish Conversation: B1 / Tuesday") == "spanish-conversation-b1-tuesday"
    assert room_name("Ñandú 2026") == "nandu-2026"
    assert len(room_name("x" * 300)) == 128
    with pytest.raises(Invalid):
        room_name("!!! ???")


@pytest.mark.parametrize("ttl", [0, -5, 24 * 3600 + 1])
def test_a_token_life_out_of_range_is_invalid(ttl: int) -> None:
    with pytest.raises(Invalid) as invalid:
        self_hosted(STUDENT, ttl_seconds=ttl)
    assert invalid.value.field == "ttl_seconds"


def test_a_user_without_id_or_name_is_invalid() -> None:
    for user in (JitsiUser(id="", name="Ben"), JitsiUser(id="u", name=" ")):
        with pytest.raises(Invalid):
            self_hosted(user)


# JaaS


def a_jaas_token(key: rsa.RSAPrivateKey, user: JitsiUser, **changes: object) -> str:
    args: dict[str, object] = {
        "app_id": JAAS_APP,
        "key_id": KEY_ID,
        "private_key": private_pem(key),
        "room": ROOM,
        "user": user,
        "ttl_seconds": 7200,
        "now": NOW,
    }
    args.update(changes)
    return jaas_token(**args)  # type: ignore[arg-type]


def decode_jaas(token: str, key: rsa.RSAPrivateKey) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="jitsi",
        issuer="chat",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


def test_jaas_header_names_the_key(key: rsa.RSAPrivateKey) -> None:
    header = jwt.get_unverified_header(a_jaas_token(key, STUDENT))
    assert header == {"alg": "RS256", "kid": f"{JAAS_APP}/{KEY_ID}", "typ": "JWT"}


def test_jaas_moderator_claims_with_features(key: rsa.RSAPrivateKey) -> None:
    token = a_jaas_token(key, TEACHER, features=JaasFeatures(recording=True, transcription=True))
    assert decode_jaas(token, key) == {
        "aud": "jitsi",
        "iss": "chat",
        "sub": JAAS_APP,
        "room": ROOM,
        "iat": NOW,
        "nbf": NOW - CLOCK_SKEW,
        "exp": NOW + 7200,
        "context": {
            "user": {
                "id": "user-1",
                "name": "Profesora Ana",
                "moderator": "true",
                "email": "ana@school.example",
            },
            "features": {
                "recording": "true",
                "livestreaming": "false",
                "transcription": "true",
                "outbound-call": "false",
                "sip-outbound-call": "false",
            },
        },
    }


def test_jaas_participant_gets_no_features(key: rsa.RSAPrivateKey) -> None:
    token = a_jaas_token(key, STUDENT, features=JaasFeatures(recording=True))
    assert decode_jaas(token, key)["context"] == {
        "user": {"id": "user-2", "name": "Ben", "moderator": "false"}
    }


def test_jaas_token_fails_with_another_key(key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        decode_jaas(a_jaas_token(other, STUDENT), key)


def test_jaas_kid_takes_the_key_id_bare_or_full() -> None:
    assert jaas_kid(JAAS_APP, KEY_ID) == f"{JAAS_APP}/{KEY_ID}"
    assert jaas_kid(JAAS_APP, f"{JAAS_APP}/{KEY_ID}") == f"{JAAS_APP}/{KEY_ID}"
    with pytest.raises(Invalid) as wrong_app:
        jaas_kid("my-app", KEY_ID)
    assert wrong_app.value.field == "app_id"
    with pytest.raises(Invalid) as other_apps_key:
        jaas_kid(JAAS_APP, f"vpaas-magic-cookie-other/{KEY_ID}")
    assert other_apps_key.value.field == "key_id"


def test_jaas_join_link(key: rsa.RSAPrivateKey) -> None:
    token = a_jaas_token(key, STUDENT)
    link = urlsplit(jaas_join_link(JAAS_APP, ROOM, token))
    assert (link.scheme, link.netloc, link.path) == ("https", "8x8.vc", f"/{JAAS_APP}/{ROOM}")
    assert parse_qs(link.query) == {"jwt": [token]}


# JaaS webhooks


def jaas_event(event_type: str, data: Mapping[str, object], key: str = "idem-1") -> bytes:
    return json.dumps(
        {
            "idempotencyKey": key,
            "customerId": "customer-1",
            "appId": JAAS_APP,
            "eventType": event_type,
            "sessionId": "session-9",
            "timestamp": NOW * 1000,
            "fqn": f"{JAAS_APP}/{ROOM}",
            "data": data,
        }
    ).encode()


def signed_header(body: bytes, t: int = NOW, secret: str = ENDPOINT_SECRET) -> str:
    return f"t={t},v1={jaas_signature(secret, str(t), body)}"


def test_jaas_signature_matches_an_independent_hmac() -> None:
    body = b'{"idempotencyKey":"k1","eventType":"ROOM_CREATED"}'
    expected = "xevtBAansIMIAZlm4T+8gr6NaOvI5FN5Uxkvzc/p5zc="
    assert jaas_signature(ENDPOINT_SECRET, "1654503849", body) == expected
    event = verify_jaas_webhook(
        body=body,
        signature_header=f"t=1654503849,v1={expected}",
        secret=ENDPOINT_SECRET,
        now=1654503850,
    )
    assert JaasWebhookEvent.parse(event).event_type == ROOM_CREATED


def test_jaas_participant_events_verify_and_parse() -> None:
    data = {"moderator": "true", "name": "Profesora Ana", "id": "user-1", "email": ""}
    body = jaas_event(PARTICIPANT_JOINED, data)
    event = JaasWebhookEvent.parse(
        verify_jaas_webhook(
            body=body, signature_header=signed_header(body), secret=ENDPOINT_SECRET, now=NOW
        )
    )
    assert event == JaasWebhookEvent(
        idempotency_key="idem-1",
        event_type=PARTICIPANT_JOINED,
        app_id=JAAS_APP,
        session_id="session-9",
        timestamp=NOW * 1000,
        room=ROOM,
        participant_id="user-1",
        participant_name="Profesora Ana",
        moderator=True,
        recording_link="",
    )
    left = jaas_event(
        PARTICIPANT_LEFT, {"moderator": False, "name": "Ben", "id": "user-2"}, "idem-2"
    )
    parsed = JaasWebhookEvent.parse(
        verify_jaas_webhook(
            body=left, signature_header=signed_header(left), secret=ENDPOINT_SECRET, now=NOW
        )
    )
    assert (parsed.event_type, parsed.participant_id, parsed.moderator) == (
        PARTICIPANT_LEFT,
        "user-2",
        False,
    )


def test_jaas_recording_uploaded_carries_the_link() -> None:
    link = "https://jaas-recordings.example/rec.mp4?X-Amz-Signature=abc"
    body = jaas_event(RECORDING_UPLOADED, {"preAuthenticatedLink": link, "durationSec": 3540})
    event = JaasWebhookEvent.parse(
        verify_jaas_webhook(
            body=body, signature_header=signed_header(body), secret=ENDPOINT_SECRET, now=NOW
        )
    )
    assert (event.event_type, event.recording_link, event.room) == (RECORDING_UPLOADED, link, ROOM)


def test_other_schemes_are_ignored_and_any_v1_may_match() -> None:
    body = jaas_event(ROOM_CREATED, {})
    good = jaas_signature(ENDPOINT_SECRET, str(NOW), body)
    header = f"t={NOW},v0=bm90LWNoZWNrZWQ=,v1=d3Jvbmc=,v1={good}"
    assert verify_jaas_webhook(body=body, signature_header=header, secret=ENDPOINT_SECRET, now=NOW)


@pytest.mark.parametrize(
    "damage", ["body", "secret", "no header", "no t", "only v0", "signed other t"]
)
def test_a_jaas_webhook_not_signed_by_jaas_is_refused(damage: str) -> None:
    body = jaas_event(ROOM_CREATED, {})
    header: str | None = signed_header(body)
    secret = ENDPOINT_SECRET
    if damage == "body":
        body = body.replace(b"session-9", b"session-8")
    elif damage == "secret":
        secret = "another-endpoint-secret"
    elif damage == "no header":
        header = None
    elif damage == "no t":
        header = f"v1={jaas_signature(ENDPOINT_SECRET, str(NOW), body)}"
    elif damage == "only v0":
        header = f"t={NOW},v0={jaas_signature(ENDPOINT_SECRET, str(NOW), body)}"
    else:  # a signature for another moment, the t swapped in by a replayer
        header = f"t={NOW},v1={jaas_signature(ENDPOINT_SECRET, str(NOW - 100), body)}"
    with pytest.raises(WebhookRejected) as refused:
        verify_jaas_webhook(body=body, signature_header=header, secret=secret, now=NOW)
    assert (refused.value.status, refused.value.code) == (401, "INVALID_WEBHOOK_SIGNATURE")


@pytest.mark.parametrize("age", [TOLERANCE + 1, -TOLERANCE - 1])
def test_a_stale_jaas_webhook_is_refused(age: float) -> None:
    body = jaas_event(ROOM_CREATED, {})
    with pytest.raises(WebhookRejected, match="stale"):
        verify_jaas_webhook(
            body=body, signature_header=signed_header(body), secret=ENDPOINT_SECRET, now=NOW + age
        )
    assert verify_jaas_webhook(
        body=body,
        signature_header=signed_header(body),
        secret=ENDPOINT_SECRET,
        now=NOW + TOLERANCE - 1,
    )


def test_a_signed_jaas_body_that_is_no_event_is_invalid() -> None:
    for body in (b"not json", b"[]", b"{}"):
        with pytest.raises(Invalid) as invalid:
            verify_jaas_webhook(
                body=body, signature_header=signed_header(body), secret=ENDPOINT_SECRET, now=NOW
            )
        assert invalid.value.code == "INVALID_WEBHOOK_BODY"
