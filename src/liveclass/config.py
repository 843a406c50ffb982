"""All settings, read from the environment (and an optional ``.env``) into one object.

Secrets left unset are generated once into ``DATA_DIR/secrets.env`` by ``load_settings``
(what ``liveclass serve`` uses), so a first run needs no configuration at all.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Provider = Literal["mesh", "janus", "livekit", "daily", "zoom", "jitsi", "meet", "agora", "teams"]
RecordingStorageKind = Literal["local", "s3", "cloudinary"]
# Providers that run the class in their own client (``providers/hosted.py``); each needs
# its settings (``Settings.hosted_configured``).
HOSTED_PROVIDERS = ("daily", "zoom", "jitsi", "meet", "agora", "teams")

DEFAULT_DATA_DIR = "./var"
GENERATED_SECRETS_FILE = "secrets.env"
S3_EXTRA_HINT = "pip install 'liveclass[s3]'"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


@dataclass(frozen=True)
class JanusServerUrls:
    """One ``JANUS_URLS`` item: ``API_URL`` or ``API_URL|BROWSER_URL``.

    ``api`` is the Janus HTTP API URL liveclass calls. ``browser`` is what the classroom page
    connects to: the WebSocket transport (``ws:``/``wss:``) or, in the short form, the same
    HTTP API URL, which the page then long-polls.
    """

    api: str
    browser: str

    @classmethod
    def parse(cls, entry: str) -> JanusServerUrls:
        api, *rest = [part.strip() for part in entry.split("|")]
        if len(rest) > 1:
            raise ValueError(f"JANUS_URLS item {entry!r} has more than one '|'")
        api = _janus_url(entry, api.rstrip("/"), "the HTTP API URL", ("http", "https"))
        browser = rest[0] if rest and rest[0] else api
        browser = _janus_url(entry, browser, "the browser URL", ("ws", "wss", "http", "https"))
        return cls(api=api, browser=browser)


def _janus_url(entry: str, url: str, what: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(url)
        usable = parts.scheme in schemes and bool(parts.hostname)
    except ValueError:  # e.g. a broken [IPv6] host
        usable = False
    if not usable:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ValueError(f"JANUS_URLS item {entry!r}: {what} must start with one of {allowed}")
    return url


class Settings(BaseSettings):
    """liveclass configuration. Every field maps to the upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = ""
    database_url: str = "sqlite+aiosqlite:///./liveclass.db"
    redis_url: str | None = None
    # What liveclass keeps itself on this machine: the secrets it generated when none were set.
    data_dir: str = DEFAULT_DATA_DIR

    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    # Signs the tokens liveclass issues itself (access and invite tokens).
    secret_key: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)

    default_provider: Provider = "mesh"
    mesh_max_publishers: int = Field(default=6, ge=1, le=50)

    stun_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    turn_ttl_seconds: int = Field(default=86_400, ge=60)

    janus_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    janus_admin_secret: SecretStr | None = None
    janus_api_secret: SecretStr | None = None

    # LiveKit (provider "livekit"): the ws(s):// URL clients connect to, the API key and
    # secret of that deployment, and the http(s):// base of its server API when it is not
    # LIVEKIT_URL with the scheme swapped (e.g. LiveKit reached over an internal address).
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None
    livekit_api_url: str | None = None
    # LiveKit checks a participant token only when the client connects: short is safe.
    livekit_token_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    # A LiveKit room with nobody in it closes after this long (CreateRoom empty_timeout).
    livekit_empty_timeout_seconds: int = Field(default=600, ge=10, le=86_400)
    # livekit-client's ESM build, served to LiveKit classrooms: by default the copy
    # scripts/install puts into the package (web/vendor/); a plain `pip install .` has none,
    # so point this at node_modules/livekit-client/dist/livekit-client.esm.mjs instead.
    livekit_client_js: str | None = None

    # Hosted providers: the provider moves the media in its own client; liveclass schedules,
    # hands out links, counts attendance and keeps recordings. Base URLs default to the real
    # services (tests point them at local servers).
    daily_api_key: SecretStr | None = None
    daily_api_url: str = "https://api.daily.co/v1"
    # the ``hmac`` Daily answered when the webhook was created (base64)
    daily_webhook_secret: SecretStr | None = None
    # Zoom Server-to-Server OAuth
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: SecretStr | None = None
    zoom_webhook_secret: SecretStr | None = None
    zoom_api_url: str = "https://api.zoom.us/v2"
    zoom_oauth_url: str = "https://zoom.us/oauth/token"
    # Google Meet: an OAuth refresh token of the Workspace user who owns the spaces, or a
    # service account's JSON key with domain-wide delegation acting as that user; Pub/Sub
    # push of Workspace Events verified by its OIDC token (audience = the push endpoint's)
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_refresh_token: SecretStr | None = None
    google_service_account_file: Path | None = None
    google_delegated_user: str | None = None
    google_oauth_url: str = "https://oauth2.googleapis.com/token"
    google_meet_api_url: str = "https://meet.googleapis.com/v2"
    google_oidc_certs_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    google_pubsub_audience: str | None = None
    # self-hosted Jitsi with token authentication, or Jitsi as a Service (JaaS)
    jitsi_domain: str | None = None
    jitsi_app_id: str | None = None
    jitsi_app_secret: SecretStr | None = None
    jaas_app_id: str | None = None
    jaas_key_id: str | None = None
    jaas_private_key: SecretStr | None = None
    jaas_webhook_secret: SecretStr | None = None
    # Agora: the project's App ID and certificate (tokens), a RESTful API customer (kicking
    # rules, Cloud Recording) and the Notifications secret; one base URL for both APIs
    agora_app_id: str | None = None
    agora_app_certificate: SecretStr | None = None
    agora_customer_id: str | None = None
    agora_customer_secret: SecretStr | None = None
    agora_webhook_secret: SecretStr | None = None
    agora_api_url: str = "https://api.agora.io"
    # Microsoft Teams through Graph: an app registration's client credentials in its tenant
    # (application permission OnlineMeetings.ReadWrite.All, and an application access policy
    # granted to the organizer), the organizer's user id or UPN, and the clientState that
    # change notification subscriptions were made with
    teams_client_id: str | None = None
    teams_client_secret: SecretStr | None = None
    teams_tenant_id: str | None = None
    teams_organizer_id: str | None = None
    teams_client_state: SecretStr | None = None
    teams_graph_url: str = "https://graph.microsoft.com/v1.0"
    teams_login_url: str = "https://login.microsoftonline.com"
    # A person's link or token is valid this long after the class's scheduled end.
    hosted_grace_minutes: int = Field(default=60, ge=0, le=24 * 60)

    # Events for the platform (session.started, participant.joined, ...) are POSTed here,
    # signed with WEBHOOK_SECRET, from the outbox, with retries.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)

    recordings_dir: str = "./var/recordings"
    recording_retention_days: int = Field(default=90, ge=1)
    # Where captures are written while a class records (Janus's rec_dir, the mesh recorder's
    # files) before they are processed into storage. Janus writes here too, so with Janus on
    # another machine this must be a folder both see.
    recording_work_dir: str = "./var/recording-work"
    recording_storage: RecordingStorageKind = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_prefix: str = ""
    # RECORDING_STORAGE=cloudinary: CLOUDINARY_URL, or CLOUD_NAME/CLOUD_API_KEY/CLOUD_API_SECRET
    cloudinary_url: SecretStr | None = None
    cloud_name: str | None = None
    cloud_api_key: str | None = None
    cloud_api_secret: SecretStr | None = None
    cloudinary_api_url: str = "https://api.cloudinary.com/v1_1"
    # Host addresses the mesh recorder gathers ICE candidates on; empty means every
    # non-loopback address (set 127.0.0.1 where loopback is the only network).
    recorder_ice_addresses: Annotated[list[str], NoDecode] = Field(default_factory=list)

    max_body_bytes: int = Field(default=65_536, ge=1024)
    ws_max_message_bytes: int = Field(default=16_384, ge=1024)
    ws_messages_per_second: float = Field(default=20.0, gt=0)
    ws_burst: int = Field(default=40, ge=1)
    # Every node beats this often in the database; one silent for NODE_EXPIRY_SECONDS is
    # dead, and another node closes the attendance it left open as of its last beat.
    node_heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    node_expiry_seconds: float = Field(default=15.0, gt=0, le=3600)

    @field_validator(
        "stun_urls", "turn_urls", "janus_urls", "recorder_ice_addresses", mode="before"
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("janus_urls")
    @classmethod
    def _janus_servers(cls, value: list[str]) -> list[str]:
        for entry in value:
            JanusServerUrls.parse(entry)  # a bad item stops start-up, naming JANUS_URLS
        return value

    @field_validator("livekit_url", "livekit_api_url")
    @classmethod
    def _livekit_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        schemes = ("ws", "wss", "http", "https")
        try:
            parts = urlsplit(value)
            usable = parts.scheme in schemes and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            name = (info.field_name or "").upper()
            raise ValueError(f"{name} must start with ws://, wss://, http:// or https://")
        return value.rstrip("/")

    @field_validator(
        "daily_api_url",
        "zoom_api_url",
        "zoom_oauth_url",
        "cloudinary_api_url",
        "google_oauth_url",
        "google_meet_api_url",
        "google_oidc_certs_url",
        "agora_api_url",
        "teams_graph_url",
        "teams_login_url",
    )
    @classmethod
    def _provider_api_url(cls, value: str, info: ValidationInfo) -> str:
        try:
            parts = urlsplit(value)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            raise ValueError(f"{(info.field_name or '').upper()} must start with http(s)://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @model_validator(mode="after")
    def _needs_identity(self) -> Settings:
        if self.jwt_secret is None and not self.jwt_jwks_url:
            raise ValueError(
                "set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256) so liveclass can verify "
                "the platform's tokens (`liveclass serve` generates one when unset)"
            )
        if self.secret_key is None:
            raise ValueError(
                "set SECRET_KEY (signs access and invite tokens; "
                "`liveclass serve` generates one when unset)"
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_URL needs WEBHOOK_SECRET to sign the events")
        if self.recording_storage == "s3" and not self.s3_bucket:
            raise ValueError("RECORDING_STORAGE=s3 needs S3_BUCKET")
        if self.recording_storage == "s3" and importlib.util.find_spec("boto3") is None:
            raise ValueError(f"RECORDING_STORAGE=s3 needs boto3: {S3_EXTRA_HINT}")
        if self.recording_storage == "cloudinary" and self.cloudinary_missing:
            raise ValueError(
                "RECORDING_STORAGE=cloudinary needs CLOUDINARY_URL or "
                + ", ".join(self.cloudinary_missing)
            )
        for name in HOSTED_PROVIDERS:
            missing = self.hosted_missing(name)
            if self.default_provider == name and missing:
                raise ValueError(f"DEFAULT_PROVIDER={name} needs {' and '.join(missing)}")
        if self.default_provider == "janus" and not self.janus_urls:
            raise ValueError("DEFAULT_PROVIDER=janus needs JANUS_URLS")
        livekit = (self.livekit_url, self.livekit_api_key, self.livekit_api_secret)
        if any(livekit) and not all(livekit):
            raise ValueError(
                "LiveKit needs all of LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        if self.default_provider == "livekit" and not self.livekit_configured:
            raise ValueError(
                "DEFAULT_PROVIDER=livekit needs LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        return self

    @model_validator(mode="after")
    def _expiry_outlasts_beats(self) -> Settings:
        # A single late beat (a slow database, a pause) must not make a live node dead.
        if self.node_expiry_seconds < 2 * self.node_heartbeat_seconds:
            raise ValueError("NODE_EXPIRY_SECONDS must be at least twice NODE_HEARTBEAT_SECONDS")
        return self

    @cached_property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def livekit_configured(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)

    def hosted_missing(self, provider: str) -> list[str]:
        """The settings hosted ``provider`` still needs (empty: it is configured)."""
        needs: dict[str, tuple[tuple[str, object], ...]] = {
            "daily": (
                ("DAILY_API_KEY", self.daily_api_key),
                ("DAILY_WEBHOOK_SECRET", self.daily_webhook_secret),
            ),
            "zoom": (
                ("ZOOM_ACCOUNT_ID", self.zoom_account_id),
                ("ZOOM_CLIENT_ID", self.zoom_client_id),
                ("ZOOM_CLIENT_SECRET", self.zoom_client_secret),
                ("ZOOM_WEBHOOK_SECRET", self.zoom_webhook_secret),
            ),
            "meet": (
                *self._google_credentials(),
                ("GOOGLE_PUBSUB_AUDIENCE", self.google_pubsub_audience),
            ),
            "agora": (
                ("AGORA_APP_ID", self.agora_app_id),
                ("AGORA_APP_CERTIFICATE", self.agora_app_certificate),
                ("AGORA_CUSTOMER_ID", self.agora_customer_id),
                ("AGORA_CUSTOMER_SECRET", self.agora_customer_secret),
                ("AGORA_WEBHOOK_SECRET", self.agora_webhook_secret),
            ),
            "teams": (
                ("TEAMS_CLIENT_ID", self.teams_client_id),
                ("TEAMS_CLIENT_SECRET", self.teams_client_secret),
                ("TEAMS_TENANT_ID", self.teams_tenant_id),
                ("TEAMS_ORGANIZER_ID", self.teams_organizer_id),
                ("TEAMS_CLIENT_STATE", self.teams_client_state),
            ),
        }
        if provider == "jitsi":
            return self._jitsi_missing()
        return [name for name, value in needs.get(provider, ()) if not value]

    def _google_credentials(self) -> tuple[tuple[str, object], ...]:
        # either a service account acting as a user, or that user's refresh token
        if self.google_service_account_file or self.google_delegated_user:
            return (
                ("GOOGLE_SERVICE_ACCOUNT_FILE", self.google_service_account_file),
                ("GOOGLE_DELEGATED_USER", self.google_delegated_user),
            )
        return (
            ("GOOGLE_CLIENT_ID", self.google_client_id),
            ("GOOGLE_CLIENT_SECRET", self.google_client_secret),
            ("GOOGLE_REFRESH_TOKEN", self.google_refresh_token),
        )

    def _jitsi_missing(self) -> list[str]:
        # either self-hosted (domain + app id + secret) or JaaS (app id + key id + key)
        if self.jaas_app_id or self.jaas_key_id or self.jaas_private_key:
            jaas = (
                ("JAAS_APP_ID", self.jaas_app_id),
                ("JAAS_KEY_ID", self.jaas_key_id),
                ("JAAS_PRIVATE_KEY", self.jaas_private_key),
                # without it no webhook could be verified (attendance, recordings)
                ("JAAS_WEBHOOK_SECRET", self.jaas_webhook_secret),
            )
            return [name for name, value in jaas if not value]
        own = (
            ("JITSI_DOMAIN", self.jitsi_domain),
            ("JITSI_APP_ID", self.jitsi_app_id),
            ("JITSI_APP_SECRET", self.jitsi_app_secret),
        )
        return [name for name, value in own if not value]

    def hosted_configured(self, provider: str) -> bool:
        return provider in HOSTED_PROVIDERS and not self.hosted_missing(provider)

    @property
    def cloudinary_secret(self) -> str | None:
        secret = self.cloud_api_secret
        return secret.get_secret_value() if secret is not None else None

    @property
    def cloudinary_missing(self) -> list[str]:
        """What RECORDING_STORAGE=cloudinary still needs (CLOUDINARY_URL covers all)."""
        if self.cloudinary_url is not None:
            return []
        given = (
            ("CLOUD_NAME", self.cloud_name),
            ("CLOUD_API_KEY", self.cloud_api_key),
            ("CLOUD_API_SECRET", self.cloud_api_secret),
        )
        return [name for name, value in given if not value]

    @property
    def livekit_api_base(self) -> str | None:
        """LIVEKIT_API_URL, else LIVEKIT_URL (the API client turns ``ws(s)://`` into
        ``http(s)://``)."""
        return self.livekit_api_url or self.livekit_url

    @property
    def janus_servers(self) -> list[JanusServerUrls]:
        return [JanusServerUrls.parse(entry) for entry in self.janus_urls]

    @property
    def internal_base_url(self) -> str:
        """How processes on this machine (the mesh recorder) reach this node."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class _Identity(BaseSettings):
    """The few settings that decide which secrets must be generated, read before the rest."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: str = DEFAULT_DATA_DIR
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    secret_key: str | None = None


@dataclass(frozen=True)
class GeneratedSecrets:
    """Where the secrets liveclass generated live, and whether this start created them."""

    path: Path
    created: tuple[str, ...]


def load_settings() -> tuple[Settings, GeneratedSecrets | None]:
    """Settings from the environment and ``.env``; secrets set in neither come from
    ``DATA_DIR/secrets.env``, which is written (once) with fresh ones when they are not there.

    The file is only written once the whole configuration validated, so a wrong setting
    stops start-up without leaving anything behind. The second value is None when every
    secret was set explicitly.
    """
    identity = _Identity()
    unset = _unset_secrets(identity)
    if not unset:
        return Settings(), None
    path = Path(identity.data_dir) / GENERATED_SECRETS_FILE
    stored = _read_secrets(path)
    fresh = {name: secrets.token_urlsafe(32) for name in unset if not stored.get(name)}
    # passed in directly, which beats the environment: safe, as nothing else sets them
    chosen: dict[str, Any] = {name.lower(): stored.get(name) or fresh[name] for name in unset}
    settings = Settings(**chosen)
    if fresh:
        _write_secrets(path, {**stored, **fresh})
    return settings, GeneratedSecrets(path=path, created=tuple(fresh))


def _unset_secrets(identity: _Identity) -> list[str]:
    unset = []
    if identity.jwt_secret is None and not identity.jwt_jwks_url:
        unset.append("JWT_SECRET")
    if identity.secret_key is None:
        unset.append("SECRET_KEY")
    return unset


def _read_secrets(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {name.strip(): value.strip() for name, sep, value in pairs if sep and name.strip()}


def _write_secrets(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    # created 0600 from the start: the secrets are never readable by others, even briefly
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{name}={value}\n" for name, value in values.items()))
    os.replace(partial, path)
