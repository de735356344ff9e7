"""Every setting of the app, read from environment variables in one place.

The README lists the same variables with the same defaults; keep them in step.

``Settings.from_env()`` checks every setting when the app starts (``Settings.problems``): a
value that cannot be read, a port out of range, a Telegram secret Telegram would refuse, SMS
credentials without the public address Twilio signs, cookies not marked secure behind HTTPS...
Each problem is one clear line; ``SettingsError`` carries them all, and ``intake`` prints them
and exits non-zero instead of starting an app that would silently refuse every webhook.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot import crypto

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# What Telegram accepts as a webhook secret token (setWebhook): 1-256 of these characters; we
# require at least 32 so that it cannot be guessed.
TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
RASA_TOKEN_FILE = "rasa-auth-token"  # noqa: S105 - a file name; in INTAKE_DATA_DIR: written by `intake run` (mode 0600)
# The key of the web chat's token hashes (HMAC-SHA256), when WEB_TOKEN_SECRET is not set: made
# on first run in INTAKE_DATA_DIR, mode 0600 (bot/channels/web.py, README "Privacy").
WEB_TOKEN_SECRET_FILE = "web-token-secret"  # noqa: S105 - a file name
# Where the web chat's quick exit ("Leave now" / "Quitter") sends the person: a neutral site.
DEFAULT_WEB_EXIT_URL = "https://www.google.com/"
# Levels Rasa and the action server may log at: never DEBUG, where Rasa logs message text.
SERVICE_LOG_LEVELS = ("INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """One or more settings are wrong; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class _Reader:
    """Reads environment variables, collecting every unreadable value instead of stopping at
    the first (an operator fixes them all in one go)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    @staticmethod
    def str(name: str, default: str) -> str:
        value = os.environ.get(name, "").strip()
        return value or default

    def int(self, name: str, default: int) -> int:
        raw = self.str(name, str(default))
        try:
            return int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default

    def float(self, name: str, default: float) -> float:
        raw = self.str(name, str(default))
        try:
            return float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default

    def bool(self, name: str, default: bool) -> bool:
        raw = self.str(name, "true" if default else "false").lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return default


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_rasa_token() -> str:
    """The token for a Rasa this process starts (``intake run``): ``RASA_AUTH_TOKEN``, else a
    new one for this run."""
    return _Reader.str("RASA_AUTH_TOKEN", "") or secrets.token_urlsafe(32)


def read_rasa_token(data_dir: Path) -> str:
    """The token ``intake run`` wrote for the Rasa it started (``intake shell`` and
    ``intake telegram-poll`` use it to talk to that Rasa); empty when there is none."""
    path = data_dir / RASA_TOKEN_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def load_or_create_secret(path: Path) -> str:
    """The secret kept in ``path``; on first use a new random one (256 bits) is written there,
    readable by this user only (0600), inside a directory only this user can enter (0700)."""
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret)
    return secret


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    database_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 10.0
    rasa_port: int = 5005
    actions_port: int = 5055
    # Where Rasa and the action server listen (`intake run`, `intake rasa`, `intake actions`):
    # loopback unless they run on other machines than the app (deploy/, README "Production").
    rasa_host: str = "127.0.0.1"
    actions_host: str = "127.0.0.1"
    # Where Rasa reaches the action server (its endpoints.yml) and /healthz checks it; empty:
    # this machine's ACTIONS_PORT (``action_server_url``).
    actions_url: str = ""
    # The model Rasa serves and /healthz expects; empty: the model of the current training
    # inputs in MODEL_DIR (bot/runtime/training.py names it after their fingerprint).
    rasa_model: str = ""
    rasa_tracker_db_url: str = ""
    # Rasa's HTTP API (tracker, /status, model) requires it (``rasa run --auth-token``); the
    # REST channel does not. Empty only in a Settings built by hand: from_env always has one.
    rasa_auth_token: str = ""
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    retry_interval_seconds: float = 5.0
    default_language: str = "en"
    max_text_chars: int = 2000
    log_level: str = "INFO"
    # Rasa's and the action server's own level (RASA_LOG_LEVEL): LOG_LEVEL never reaches them,
    # and DEBUG is refused (Rasa logs message text at DEBUG).
    rasa_log_level: str = "INFO"
    model_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "models")
    rasa_venv_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".venv-rasa")
    rasa_lock_store_url: str = ""  # redis://host:port/db: several Rasa servers, one conversation
    screening_rules_path: Path = field(
        default_factory=lambda: PROJECT_ROOT / "content" / "screening.yml"
    )
    # Abuse and bounded work (bot/http_guard.py, bot/ratelimit.py, docs/security.md).
    max_body_bytes: int = 256 * 1024
    rate_limit_storage_url: str = "memory://"  # or redis://host:port/db (several app processes)
    rate_limit_web_post_address: str = "30/minute;300/hour"
    rate_limit_web_post_conversation: str = "12/minute;200/hour"
    rate_limit_web_poll_address: str = "600/minute"
    rate_limit_web_poll_conversation: str = "60/minute"
    rate_limit_web_contact_address: str = "5/hour;20/day"
    rate_limit_preview_address: str = "30/minute"
    rate_limit_login_address: str = "20/minute;200/hour"  # caseworker logins, any account
    preview_enabled: bool = False
    # The web chat on shared devices (bot/channels/web.py, bot/web/chat.html). The token key:
    # WEB_TOKEN_SECRET, else the file WEB_TOKEN_SECRET_FILE in data_dir (made on first run).
    web_token_secret: str = ""
    web_exit_url: str = DEFAULT_WEB_EXIT_URL
    # Channels (bot/channels/, docs/channels.md). A channel is on when its credentials are set.
    public_base_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    sms_max_segments: int = 3
    # WhatsApp through Twilio (bot/channels/whatsapp.py): its own sender, the same credentials.
    twilio_whatsapp_from: str = ""  # whatsapp:+E164 (the "whatsapp:" prefix is added if missing)
    twilio_whatsapp_messaging_service_sid: str = ""
    # Approved templates sent outside the 24-hour window (bot/channels/window.py): content SIDs
    # (HX...) per language, and their ContentVariables (a JSON object), if the template has any.
    whatsapp_template_sid_en: str = ""
    whatsapp_template_sid_fr: str = ""
    whatsapp_template_variables: str = ""
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    channel_send_timeout_seconds: float = 10.0
    # The outbox (bot/channels/outbox.py, docs/channels.md "The outbox").
    outbox_retry_budget_seconds: float = 24 * 3600.0  # how long a reply is retried, then failed
    outbox_retry_base_seconds: float = 2.0
    outbox_max_backoff_seconds: float = 600.0
    outbox_poll_seconds: float = 1.0
    outbox_lease_seconds: float = 10.0  # a crashed process's claims are free again after this
    outbox_concurrency: int = 8  # conversations sent to at once per process

    @property
    def action_server_url(self) -> str:
        return self.actions_url or f"http://127.0.0.1:{self.actions_port}"

    def expected_model(self) -> Path:
        """The model file Rasa serves (``RASA_MODEL``, else the current inputs' model)."""
        if self.rasa_model:
            return Path(self.rasa_model).resolve()
        from bot.runtime import training  # the fingerprint of config.yml and nlu/

        return training.model_path(self.model_dir)
    # Privacy: retention policy (bot/retention.py) and erasure jobs (bot/erasure.py). A number
    # of days of 0 keeps that class for ever. README "Privacy" explains each default.
    retention_enabled: bool = True
    retention_interval_minutes: int = 60
    retention_no_referral_days: int = 30
    retention_declined_consent_days: int = 7
    retention_closed_referral_days: int = 365
    retention_outbox_days: int = 30
    erasure_retry_base_seconds: float = 30.0
    erasure_poll_seconds: float = 30.0

    # Encryption at rest (bot/crypto.py): keys from the environment, else the key file.
    data_keys: tuple[str, ...] = ()  # INTAKE_DATA_KEYS, newest first
    lookup_key: str = ""  # INTAKE_LOOKUP_KEY
    data_key_file: Path = field(default_factory=lambda: PROJECT_ROOT / "var" / "keys" / "data.key")

    @property
    def sms_enabled(self) -> bool:
        # Twilio credentials turn SMS on, unless they are there only for WhatsApp (a WhatsApp
        # sender and no SMS sender).
        sms_sender = bool(self.twilio_from_number or self.twilio_messaging_service_sid)
        return bool(self.twilio_account_sid and self.twilio_auth_token) and (
            sms_sender or not self.whatsapp_sender_set
        )

    @property
    def whatsapp_sender_set(self) -> bool:
        return bool(self.twilio_whatsapp_from or self.twilio_whatsapp_messaging_service_sid)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token) and self.whatsapp_sender_set

    @property
    def whatsapp_templates(self) -> dict[str, str]:
        """Language -> content SID of the approved "you have a message" template."""
        sids = {"en": self.whatsapp_template_sid_en, "fr": self.whatsapp_template_sid_fr}
        return {language: sid for language, sid in sids.items() if sid}

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    # Caseworker queue (bot/caseworker/)
    cookie_secure: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    display_timezone: str = "America/Toronto"

    @property
    def rate_limits(self) -> dict[str, str]:
        """Rule name -> limit string ("30/minute;300/hour"), for ``bot/ratelimit.py``."""
        return {
            "web_post_address": self.rate_limit_web_post_address,
            "web_post_conversation": self.rate_limit_web_post_conversation,
            "web_poll_address": self.rate_limit_web_poll_address,
            "web_poll_conversation": self.rate_limit_web_poll_conversation,
            "web_contact_address": self.rate_limit_web_contact_address,
            "preview_address": self.rate_limit_preview_address,
            "login_address": self.rate_limit_login_address,
        }

    def problems(self) -> list[str]:
        """Everything wrong with these settings, one clear line each (empty: all good)."""
        out: list[str] = []
        for name, port in (
            ("APP_PORT", self.app_port),
            ("RASA_PORT", self.rasa_port),
            ("ACTIONS_PORT", self.actions_port),
        ):
            if not 1 <= port <= 65535:
                out.append(f"{name} must be a port number from 1 to 65535, got {port}")
        if len({self.app_port, self.rasa_port, self.actions_port}) < 3:
            out.append("APP_PORT, RASA_PORT and ACTIONS_PORT must be three different ports")
        if self.default_language not in ("en", "fr"):
            out.append(f"DEFAULT_LANGUAGE must be 'en' or 'fr', got {self.default_language!r}")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            out.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")
        if self.rasa_log_level not in SERVICE_LOG_LEVELS:
            out.append(
                f"RASA_LOG_LEVEL must be INFO, WARNING or ERROR, got {self.rasa_log_level!r} "
                "(never DEBUG: Rasa logs message text at DEBUG)"
            )
        exit_url = urlsplit(self.web_exit_url)
        if exit_url.scheme not in ("http", "https") or not exit_url.netloc:
            out.append(
                f"WEB_EXIT_URL must be an https:// address (a neutral site), got "
                f"{self.web_exit_url!r}"
            )
        if self.web_token_secret and len(self.web_token_secret) < 32:
            out.append("WEB_TOKEN_SECRET must be at least 32 characters (or unset: one is made)")
        positive = {
            "RASA_TIMEOUT_SECONDS": self.rasa_timeout_seconds,
            "RETRY_INTERVAL_SECONDS": self.retry_interval_seconds,
            "MAX_TEXT_CHARS": self.max_text_chars,
            "MAX_BODY_BYTES": self.max_body_bytes,
            "SMS_MAX_SEGMENTS": self.sms_max_segments,
            "CHANNEL_SEND_TIMEOUT_SECONDS": self.channel_send_timeout_seconds,
            "OUTBOX_RETRY_BUDGET_SECONDS": self.outbox_retry_budget_seconds,
            "OUTBOX_RETRY_BASE_SECONDS": self.outbox_retry_base_seconds,
            "OUTBOX_MAX_BACKOFF_SECONDS": self.outbox_max_backoff_seconds,
            "OUTBOX_POLL_SECONDS": self.outbox_poll_seconds,
            "OUTBOX_LEASE_SECONDS": self.outbox_lease_seconds,
            "OUTBOX_CONCURRENCY": self.outbox_concurrency,
            "SESSION_IDLE_MINUTES": self.session_idle_minutes,
            "SESSION_MAX_HOURS": self.session_max_hours,
            "MAX_FAILED_LOGINS": self.max_failed_logins,
            "LOCKOUT_MINUTES": self.lockout_minutes,
            "RETENTION_INTERVAL_MINUTES": self.retention_interval_minutes,
            "ERASURE_RETRY_BASE_SECONDS": self.erasure_retry_base_seconds,
            "ERASURE_POLL_SECONDS": self.erasure_poll_seconds,
        }
        out += [f"{name} must be greater than 0, got {v}" for name, v in positive.items() if v <= 0]
        for name, days in (
            ("RETENTION_NO_REFERRAL_DAYS", self.retention_no_referral_days),
            ("RETENTION_DECLINED_CONSENT_DAYS", self.retention_declined_consent_days),
            ("RETENTION_CLOSED_REFERRAL_DAYS", self.retention_closed_referral_days),
            ("RETENTION_OUTBOX_DAYS", self.retention_outbox_days),
        ):
            if days < 0:
                out.append(f"{name} must be 0 (keep for ever) or a number of days, got {days}")
        if self.max_text_chars * 4 + 1024 > self.max_body_bytes:
            out.append(
                f"MAX_BODY_BYTES ({self.max_body_bytes}) must leave room for a message of "
                f"MAX_TEXT_CHARS ({self.max_text_chars}) characters: at least "
                f"{self.max_text_chars * 4 + 1024}"
            )
        for name, url in (("DATABASE_URL", self.database_url),):
            if url and not url.startswith(("sqlite:", "postgresql:", "postgresql+")):
                out.append(f"{name} must start with sqlite:/// or postgresql://")
        for name, url in (
            ("RASA_URL", self.rasa_url),
            ("ACTIONS_URL", self.action_server_url),
            ("TWILIO_API_BASE_URL", self.twilio_api_base_url),
            ("TELEGRAM_API_BASE_URL", self.telegram_api_base_url),
        ):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                out.append(f"{name} must be an http:// or https:// address, got {url!r}")
        if self.rasa_lock_store_url and urlsplit(self.rasa_lock_store_url).scheme != "redis":
            out.append("RASA_LOCK_STORE_URL must be a redis://host:port/db address")
        storage = urlsplit(self.rate_limit_storage_url).scheme
        if storage not in ("memory", "redis", "rediss"):
            out.append("RATE_LIMIT_STORAGE_URL must be memory:// or redis://host:port/db")
        out += _rate_limit_problems(self.rate_limits)
        if self.rasa_auth_token and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", self.rasa_auth_token
        ):
            out.append("RASA_AUTH_TOKEN must be 16-256 characters of A-Z a-z 0-9 _ -")
        public = urlsplit(self.public_base_url) if self.public_base_url else None
        if public is not None and (public.scheme not in ("http", "https") or not public.netloc):
            out.append(f"PUBLIC_BASE_URL must be the app's public https:// address, got "
                       f"{self.public_base_url!r}")  # fmt: skip
        if public is not None and public.scheme == "https" and not self.cookie_secure:
            out.append("COOKIE_SECURE must be true when PUBLIC_BASE_URL is https://")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            out.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
        if self.sms_enabled:
            if not self.public_base_url:
                out.append(
                    "SMS needs PUBLIC_BASE_URL: Twilio signs every webhook with the public "
                    "address, so without it every SMS would be refused"
                )
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                out.append("SMS needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
            elif self.twilio_from_number and not re.fullmatch(
                r"\+[1-9]\d{6,14}", self.twilio_from_number
            ):
                out.append("TWILIO_FROM_NUMBER must be an E.164 number (+ and digits)")
        out += self._whatsapp_problems()
        if self.telegram_enabled and not TELEGRAM_SECRET.match(self.telegram_webhook_secret):
            out.append(
                "TELEGRAM_WEBHOOK_SECRET must be 32-256 characters of A-Z a-z 0-9 _ - "
                "(Telegram sends it with every update; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        out += _key_problems(self.data_keys, self.lookup_key)
        return out

    def _whatsapp_problems(self) -> list[str]:
        out: list[str] = []
        if self.whatsapp_sender_set and not (self.twilio_account_sid and self.twilio_auth_token):
            out.append("WhatsApp needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not self.whatsapp_enabled:
            return out
        if not self.public_base_url:
            out.append(
                "WhatsApp needs PUBLIC_BASE_URL: Twilio signs every webhook with the public "
                "address, so without it every WhatsApp message would be refused"
            )
        if self.twilio_whatsapp_from and not re.fullmatch(
            r"(whatsapp:)?\+[1-9]\d{6,14}", self.twilio_whatsapp_from
        ):
            out.append(
                "TWILIO_WHATSAPP_FROM must be a WhatsApp sender: whatsapp:+ and digits "
                "(e.g. whatsapp:+14155238886, the Twilio sandbox)"
            )
        for name, sid in (
            ("WHATSAPP_TEMPLATE_SID_EN", self.whatsapp_template_sid_en),
            ("WHATSAPP_TEMPLATE_SID_FR", self.whatsapp_template_sid_fr),
        ):
            if sid and not re.fullmatch(r"HX[0-9a-fA-F]{32}", sid):
                out.append(f"{name} must be a Twilio content SID (HX and 32 hex digits)")
        if self.whatsapp_template_variables:
            try:
                variables = json.loads(self.whatsapp_template_variables)
            except ValueError:
                variables = None
            if not isinstance(variables, dict) or not all(
                isinstance(v, str) and v.strip() for v in variables.values()
            ):
                out.append(
                    "WHATSAPP_TEMPLATE_VARIABLES must be a JSON object of non-empty strings, "
                    'e.g. {"1": "AVRR"}'
                )
        return out

    @classmethod
    def from_env(cls) -> Settings:
        """The settings from the environment, checked: raises ``SettingsError`` listing every
        problem."""
        env = _Reader()
        data_dir = Path(env.str("INTAKE_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve()
        rasa_port = env.int("RASA_PORT", 5005)
        actions_port = env.int("ACTIONS_PORT", 5055)
        app_host = env.str("APP_HOST", "127.0.0.1")
        public_base_url = env.str("PUBLIC_BASE_URL", "").rstrip("/")
        settings = cls(
            data_dir=data_dir,
            database_url=env.str("DATABASE_URL", f"sqlite:///{data_dir / 'intake.db'}"),
            rasa_url=env.str("RASA_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_timeout_seconds=env.float("RASA_TIMEOUT_SECONDS", 10.0),
            rasa_port=rasa_port,
            actions_port=actions_port,
            rasa_host=env.str("RASA_HOST", "127.0.0.1"),
            actions_host=env.str("ACTIONS_HOST", "127.0.0.1"),
            actions_url=env.str("ACTIONS_URL", "").rstrip("/"),
            rasa_model=env.str("RASA_MODEL", ""),
            rasa_tracker_db_url=env.str(
                "RASA_TRACKER_DB_URL", f"sqlite:///{data_dir / 'rasa-tracker.db'}"
            ),
            # Set it when Rasa runs as its own process; otherwise the one `intake run` wrote
            # for the Rasa it started, else a new one (this process starts its own Rasa).
            rasa_auth_token=env.str("RASA_AUTH_TOKEN", "")
            or read_rasa_token(data_dir)
            or secrets.token_urlsafe(32),
            app_host=app_host,
            app_port=env.int("APP_PORT", 8000),
            retry_interval_seconds=env.float("RETRY_INTERVAL_SECONDS", 5.0),
            default_language=env.str("DEFAULT_LANGUAGE", "en").lower(),
            max_text_chars=env.int("MAX_TEXT_CHARS", 2000),
            log_level=env.str("LOG_LEVEL", "INFO").upper(),
            rasa_log_level=env.str("RASA_LOG_LEVEL", "INFO").upper(),
            model_dir=Path(env.str("MODEL_DIR", str(PROJECT_ROOT / "models"))).resolve(),
            rasa_venv_dir=Path(
                env.str("RASA_VENV_DIR", str(PROJECT_ROOT / ".venv-rasa"))
            ).resolve(),
            rasa_lock_store_url=env.str("RASA_LOCK_STORE_URL", ""),
            screening_rules_path=Path(
                env.str("SCREENING_RULES_PATH", str(PROJECT_ROOT / "content" / "screening.yml"))
            ).resolve(),
            max_body_bytes=env.int("MAX_BODY_BYTES", 256 * 1024),
            rate_limit_storage_url=env.str("RATE_LIMIT_STORAGE_URL", "memory://"),
            rate_limit_web_post_address=env.str(
                "RATE_LIMIT_WEB_POST_ADDRESS", cls.rate_limit_web_post_address
            ),
            rate_limit_web_post_conversation=env.str(
                "RATE_LIMIT_WEB_POST_CONVERSATION", cls.rate_limit_web_post_conversation
            ),
            rate_limit_web_poll_address=env.str(
                "RATE_LIMIT_WEB_POLL_ADDRESS", cls.rate_limit_web_poll_address
            ),
            rate_limit_web_poll_conversation=env.str(
                "RATE_LIMIT_WEB_POLL_CONVERSATION", cls.rate_limit_web_poll_conversation
            ),
            rate_limit_web_contact_address=env.str(
                "RATE_LIMIT_WEB_CONTACT_ADDRESS", cls.rate_limit_web_contact_address
            ),
            rate_limit_preview_address=env.str(
                "RATE_LIMIT_PREVIEW_ADDRESS", cls.rate_limit_preview_address
            ),
            rate_limit_login_address=env.str(
                "RATE_LIMIT_LOGIN_ADDRESS", cls.rate_limit_login_address
            ),
            # The /chat channel preview: on for a local run (loopback, no public address).
            preview_enabled=env.bool(
                "PREVIEW_ENABLED", _is_loopback(app_host) and not public_base_url
            ),
            web_token_secret=env.str("WEB_TOKEN_SECRET", ""),
            web_exit_url=env.str("WEB_EXIT_URL", DEFAULT_WEB_EXIT_URL),
            public_base_url=public_base_url,
            twilio_account_sid=env.str("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.str("TWILIO_AUTH_TOKEN", ""),
            twilio_from_number=env.str("TWILIO_FROM_NUMBER", ""),
            twilio_messaging_service_sid=env.str("TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_api_base_url=env.str("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip(
                "/"
            ),
            sms_max_segments=env.int("SMS_MAX_SEGMENTS", 3),
            twilio_whatsapp_from=env.str("TWILIO_WHATSAPP_FROM", ""),
            twilio_whatsapp_messaging_service_sid=env.str(
                "TWILIO_WHATSAPP_MESSAGING_SERVICE_SID", ""
            ),
            whatsapp_template_sid_en=env.str("WHATSAPP_TEMPLATE_SID_EN", ""),
            whatsapp_template_sid_fr=env.str("WHATSAPP_TEMPLATE_SID_FR", ""),
            whatsapp_template_variables=env.str("WHATSAPP_TEMPLATE_VARIABLES", ""),
            telegram_bot_token=env.str("TELEGRAM_BOT_TOKEN", ""),
            telegram_webhook_secret=env.str("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_api_base_url=env.str("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
            channel_send_timeout_seconds=env.float("CHANNEL_SEND_TIMEOUT_SECONDS", 10.0),
            outbox_retry_budget_seconds=env.float("OUTBOX_RETRY_BUDGET_SECONDS", 24 * 3600.0),
            outbox_retry_base_seconds=env.float("OUTBOX_RETRY_BASE_SECONDS", 2.0),
            outbox_max_backoff_seconds=env.float("OUTBOX_MAX_BACKOFF_SECONDS", 600.0),
            outbox_poll_seconds=env.float("OUTBOX_POLL_SECONDS", 1.0),
            outbox_lease_seconds=env.float("OUTBOX_LEASE_SECONDS", 10.0),
            outbox_concurrency=env.int("OUTBOX_CONCURRENCY", 8),
            retention_enabled=env.bool("RETENTION_ENABLED", True),
            retention_interval_minutes=env.int("RETENTION_INTERVAL_MINUTES", 60),
            retention_no_referral_days=env.int("RETENTION_NO_REFERRAL_DAYS", 30),
            retention_declined_consent_days=env.int("RETENTION_DECLINED_CONSENT_DAYS", 7),
            retention_closed_referral_days=env.int("RETENTION_CLOSED_REFERRAL_DAYS", 365),
            retention_outbox_days=env.int("RETENTION_OUTBOX_DAYS", 30),
            erasure_retry_base_seconds=env.float("ERASURE_RETRY_BASE_SECONDS", 30.0),
            erasure_poll_seconds=env.float("ERASURE_POLL_SECONDS", 30.0),
            cookie_secure=env.bool("COOKIE_SECURE", False),
            session_idle_minutes=env.int("SESSION_IDLE_MINUTES", 30),
            session_max_hours=env.int("SESSION_MAX_HOURS", 12),
            max_failed_logins=env.int("MAX_FAILED_LOGINS", 5),
            lockout_minutes=env.int("LOCKOUT_MINUTES", 15),
            display_timezone=env.str("DISPLAY_TIMEZONE", "America/Toronto"),
            data_keys=crypto.parse_key_list(env.str(crypto.ENV_DATA_KEYS, "")),
            lookup_key=env.str(crypto.ENV_LOOKUP_KEY, ""),
            data_key_file=Path(
                env.str(crypto.ENV_KEY_FILE, str(data_dir / crypto.DEFAULT_KEY_FILE))
            ).resolve(),
        )
        problems = env.problems + settings.problems()
        if problems:
            raise SettingsError(problems)
        return settings


def _key_problems(data_keys: tuple[str, ...], lookup_key: str) -> list[str]:
    """Malformed or half-configured keys in the environment (a key file is checked when read)."""
    if not (data_keys or lookup_key):
        return []
    try:
        crypto.load_keyring(
            data_keys, lookup_key, Path("/nonexistent"), default_key_file=Path("/"), create=False
        )
    except crypto.KeyConfigError as exc:
        return exc.problems
    return []


def _rate_limit_problems(rules: dict[str, str]) -> list[str]:
    from limits import parse_many  # the library owns the syntax ("30/minute;300/hour")

    out = []
    for rule, value in rules.items():
        try:
            parse_many(value)
        except ValueError:
            out.append(
                f"RATE_LIMIT_{rule.upper()} must look like 30/minute or 30/minute;300/hour, "
                f"got {value!r}"
            )
    return out
