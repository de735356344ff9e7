"""Every setting of the app, read from environment variables in one place.

The README lists the same variables with the same defaults; keep them in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _env(name, "true" if default else "false").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    database_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 10.0
    rasa_port: int = 5005
    actions_port: int = 5055
    rasa_tracker_db_url: str = ""
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    retry_interval_seconds: float = 5.0
    default_language: str = "en"
    max_text_chars: int = 2000
    log_level: str = "INFO"
    model_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "models")
    rasa_venv_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".venv-rasa")
    rasa_lock_store_url: str = ""  # redis://host:port/db: several Rasa servers, one conversation
    screening_rules_path: Path = field(
        default_factory=lambda: PROJECT_ROOT / "content" / "screening.yml"
    )
    # Channels (bot/channels/, docs/channels.md). A channel is on when its credentials are set.
    public_base_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    sms_max_segments: int = 3
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    channel_send_timeout_seconds: float = 10.0
    outbox_max_attempts: int = 8
    outbox_retry_base_seconds: float = 2.0
    outbox_poll_seconds: float = 1.0

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

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

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("INTAKE_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve()
        rasa_port = _int("RASA_PORT", 5005)
        default_language = _env("DEFAULT_LANGUAGE", "en").lower()
        if default_language not in ("en", "fr"):
            raise ValueError(f"DEFAULT_LANGUAGE must be 'en' or 'fr', got {default_language!r}")
        return cls(
            data_dir=data_dir,
            database_url=_env("DATABASE_URL", f"sqlite:///{data_dir / 'intake.db'}"),
            rasa_url=_env("RASA_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_timeout_seconds=_float("RASA_TIMEOUT_SECONDS", 10.0),
            rasa_port=rasa_port,
            actions_port=_int("ACTIONS_PORT", 5055),
            rasa_tracker_db_url=_env(
                "RASA_TRACKER_DB_URL", f"sqlite:///{data_dir / 'rasa-tracker.db'}"
            ),
            app_host=_env("APP_HOST", "127.0.0.1"),
            app_port=_int("APP_PORT", 8000),
            retry_interval_seconds=_float("RETRY_INTERVAL_SECONDS", 5.0),
            default_language=default_language,
            max_text_chars=_int("MAX_TEXT_CHARS", 2000),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            model_dir=Path(_env("MODEL_DIR", str(PROJECT_ROOT / "models"))).resolve(),
            rasa_venv_dir=Path(_env("RASA_VENV_DIR", str(PROJECT_ROOT / ".venv-rasa"))).resolve(),
            rasa_lock_store_url=_env("RASA_LOCK_STORE_URL", ""),
            screening_rules_path=Path(
                _env("SCREENING_RULES_PATH", str(PROJECT_ROOT / "content" / "screening.yml"))
            ).resolve(),
            public_base_url=_env("PUBLIC_BASE_URL", "").rstrip("/"),
            twilio_account_sid=_env("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=_env("TWILIO_AUTH_TOKEN", ""),
            twilio_from_number=_env("TWILIO_FROM_NUMBER", ""),
            twilio_messaging_service_sid=_env("TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_api_base_url=_env("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/"),
            sms_max_segments=_int("SMS_MAX_SEGMENTS", 3),
            telegram_bot_token=_env("TELEGRAM_BOT_TOKEN", ""),
            telegram_webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_api_base_url=_env("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
            channel_send_timeout_seconds=_float("CHANNEL_SEND_TIMEOUT_SECONDS", 10.0),
            outbox_max_attempts=_int("OUTBOX_MAX_ATTEMPTS", 8),
            outbox_retry_base_seconds=_float("OUTBOX_RETRY_BASE_SECONDS", 2.0),
            outbox_poll_seconds=_float("OUTBOX_POLL_SECONDS", 1.0),
            cookie_secure=_bool("COOKIE_SECURE", False),
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", 30),
            session_max_hours=_int("SESSION_MAX_HOURS", 12),
            max_failed_logins=_int("MAX_FAILED_LOGINS", 5),
            lockout_minutes=_int("LOCKOUT_MINUTES", 15),
            display_timezone=_env("DISPLAY_TIMEZONE", "America/Toronto"),
        )
