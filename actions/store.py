"""What every action needs from outside Rasa: the app's store, the screening rules, the
conversation language."""

from __future__ import annotations

from functools import lru_cache

from rasa_sdk import Tracker
from sqlalchemy import Engine

from actions.i18n import Language
from bot import crypto
from bot.intake import screening
from bot.settings import Settings
from bot.store.db import ensure_sqlite_dir, install_sqlite_pragmas, sync_engine


def language_of(tracker: Tracker) -> Language:
    value = tracker.get_slot("language")
    return "fr" if value == "fr" else "en"


@lru_cache(maxsize=1)
def store() -> Engine:
    """The app's database (the action server runs with the app's Python and settings)."""
    settings = Settings.from_env()
    # The keys of the data at rest: given by `intake run` in the environment, else the key file
    # (never created here: the app creates it, the action server only reads it).
    crypto.ensure_installed(settings, create=False)
    url = settings.database_url
    ensure_sqlite_dir(url)
    engine = sync_engine(url, pool_pre_ping=True)  # errors never quote values
    install_sqlite_pragmas(engine)
    return engine


def rules() -> screening.RuleSet:
    """The operator's screening rules (re-read when the file changes: edits apply at once)."""
    return screening.current_rules(Settings.from_env().screening_rules_path)
