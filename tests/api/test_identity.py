"""The platform's JWT: HS256 with JWT_SECRET, RS256 via JWT_JWKS_URL; bad tokens get 401."""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from liveclass.app import create_app
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, JWT_SECRET, Platform, make_settings

API = "/api/v1/sessions"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "t1",
        "name": "Tess",
        "roles": ["teacher"],
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hmac(claims: dict[str, Any], algorithm: str) -> str:
    # Signed with the right secret, only the algorithm is wrong (PyJWT warns the secret is
    # short for SHA-384/512, which is beside the point here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, JWT_SECRET, algorithm=algorithm)


BAD_TOKENS: dict[str, str] = {
    "expired": jwt.encode(_claims(exp=int(time.time()) - 10), JWT_SECRET, algorithm="HS256"),
    "wrong-signature": jwt.encode(_claims(), "another-secret-0123456789-0123456789", "HS256"),
    "hs384": _hmac(_claims(), "HS384"),
    "hs512": _hmac(_claims(), "HS512"),
    "alg-none": _unsigned(_claims()),
    "malformed": "not.a.jwt",
    "garbage": "xyz",
    "no-sub": jwt.encode({"exp": int(time.time()) + 60, "roles": ["teacher"]}, JWT_SECRET),
    "no-exp": jwt.encode({"sub": "t1", "roles": ["teacher"]}, JWT_SECRET),
    "roles-not-list": jwt.encode(_claims(roles={"a": 1}), JWT_SECRET),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_bad_tokens_get_401(client: httpx.AsyncClient, kind: str) -> None:
    r = await client.get(API, headers=_bearer(BAD_TOKENS[kind]))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    problem = r.json()
    assert problem["status"] == 401
    expected = "TOKEN_EXPIRED" if kind == "expired" else "TOKEN_INVALID"
    assert problem["code"] == expected


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
async def test_missing_bearer(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = await client.get(API, headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] in ("TOKEN_MISSING", "UNAUTHORIZED")


async def test_rs256_not_accepted_without_jwks(client: httpx.AsyncClient) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = await client.get(API, headers=_bearer(jwt.encode(_claims(), key, algorithm="RS256")))
    assert r.status_code == 401


async def test_name_and_roles_from_claims(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await client.post(
        API, json=session_body(), headers=platform.auth("u-7", "mentor", name="Mia Mentor")
    )
    assert r.status_code == 201
    assert (r.json()["owner_id"], r.json()["owner_name"]) == ("u-7", "Mia Mentor")
    single = jwt.encode(_claims(sub="u-8", roles="instructor"), JWT_SECRET, algorithm="HS256")
    assert (await client.post(API, json=session_body(), headers=_bearer(single))).status_code == 201


# --- RS256 through a JWKS served on loopback ---------------------------------------------


class _Jwks:
    def __init__(self) -> None:
        self.key: RSAPrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.fetches = 0

    def document(self) -> bytes:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return json.dumps({"keys": [public]}).encode()

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": kid or self.kid})


@pytest.fixture
def jwks() -> Iterator[tuple[_Jwks, str]]:
    keys = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys.fetches += 1
            body = keys.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield keys, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
async def rs_client(database_url: str, jwks: tuple[_Jwks, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, jwt_secret=None, jwt_jwks_url=jwks[1])
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
            yield c


async def test_rs256_via_jwks(rs_client: httpx.AsyncClient, jwks: tuple[_Jwks, str]) -> None:
    keys, _ = jwks
    r = await rs_client.post(API, json=session_body(), headers=_bearer(keys.sign(_claims())))
    assert r.status_code == 201, r.text
    assert r.json()["owner_id"] == "t1"
    again = await rs_client.get(API, headers=_bearer(keys.sign(_claims())))
    assert again.status_code == 200
    assert keys.fetches == 1  # the key set is cached


async def test_rs256_bad_tokens(rs_client: httpx.AsyncClient, jwks: tuple[_Jwks, str]) -> None:
    keys, _ = jwks
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "foreign-key": jwt.encode(
            _claims(), stranger, algorithm="RS256", headers={"kid": keys.kid}
        ),
        "unknown-kid": keys.sign(_claims(), kid="key-404"),
        "expired": keys.sign(_claims(exp=int(time.time()) - 5)),
        "hs256-when-only-jwks": jwt.encode(_claims(), JWT_SECRET, algorithm="HS256"),
        "alg-none": _unsigned(_claims()),
    }
    for kind, token in tokens.items():
        r = await rs_client.get(API, headers=_bearer(token))
        assert r.status_code == 401, (kind, r.text)
        assert r.headers["content-type"] == "application/problem+json"


async def test_rs256_student_cannot_create(
    rs_client: httpx.AsyncClient, jwks: tuple[_Jwks, str]
) -> None:
    keys, _ = jwks
    token = keys.sign(_claims(roles=["student"]))
    r = await rs_client.post(API, json=session_body(), headers=_bearer(token))
    assert r.status_code == 403
    assert r.json()["code"] == "NOT_INSTRUCTOR"
