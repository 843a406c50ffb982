"""Tokens liveclass signs itself (access, recorder, invite): standard HS256 JWTs, exactly
what PyJWT writes for the same claims, and checked as strictly as before."""

from __future__ import annotations

import uuid

import jwt
import pytest

from liveclass.auth.issued import TokenIssuer
from liveclass.domain.errors import Unauthorized
from liveclass.domain.roles import Role

KEY = "issued-token-test-secret-0123456789abcdef"


def _issuer(ttl: int = 600) -> TokenIssuer:
    return TokenIssuer(KEY, access_ttl_seconds=ttl)


def _access(issuer: TokenIssuer, name: str = 'Zoë "Z" O\'Neil') -> str:
    token, _ = issuer.access_token(
        session_id=uuid.uuid4(),
        participant_id=uuid.uuid4(),
        user_id="student-1",
        name=name,
        role=Role.SPEAKER,
        token_version=3,
    )
    return token


def test_tokens_are_what_pyjwt_writes() -> None:
    issuer = _issuer()
    tokens = [
        _access(issuer),
        issuer.recorder_token(session_id=uuid.uuid4(), recorder_id=uuid.uuid4(), ttl_seconds=60),
        issuer.invite_token(session_id=uuid.uuid4(), version=7),
    ]
    for token in tokens:
        claims = jwt.decode(token, KEY, algorithms=["HS256"])
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        assert jwt.encode(claims, KEY, algorithm="HS256") == token  # byte for byte


def test_access_token_round_trip_and_tampering() -> None:
    issuer = _issuer()
    token = _access(issuer)
    claims = issuer.verify_access(token)
    assert claims.name == 'Zoë "Z" O\'Neil'
    assert claims.role is Role.SPEAKER
    assert claims.token_version == 3
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized):
        issuer.verify_access(f"{head}.{payload}.{flipped}")
    with pytest.raises(Unauthorized):
        TokenIssuer("another-secret-0123456789abcdef-xyz", access_ttl_seconds=600).verify_access(
            token
        )


def test_expired_access_token_is_refused() -> None:
    token = _access(_issuer(ttl=-5))
    with pytest.raises(Unauthorized) as refused:
        _issuer().verify_access(token)
    assert refused.value.code == "TOKEN_EXPIRED"


def test_invite_is_stable_per_version_and_not_an_access_token() -> None:
    issuer = _issuer()
    sid = uuid.uuid4()
    invite = issuer.invite_token(session_id=sid, version=1)
    assert invite == issuer.invite_token(session_id=str(sid), version=1)
    assert issuer.invite_matches(invite, session_id=sid, version=1)
    assert not issuer.invite_matches(invite, session_id=sid, version=2)
    with pytest.raises(Unauthorized):
        issuer.verify_access(invite)
