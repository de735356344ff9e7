"""Emergency guidance: the reply to a crisis, from the operator's ``content/crisis.yml``.

The same text goes out whoever detects the crisis: the app's safety layer
(``bot/conversation.py``, patterns of ``bot/safety.py``) or Rasa's actions (the intent
classifier's ``urgent_help``). A crisis line is sent only when the operator recorded where and
when it was verified: the assistant never adds a number of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.live_file import LiveFile
from bot.settings import PROJECT_ROOT

CRISIS_PATH = PROJECT_ROOT / "content" / "crisis.yml"
LANGUAGES = ("en", "fr")
CONCERNS = frozenset({"self_harm", "violence", "medical"})


class CrisisContentError(ValueError):
    """``content/crisis.yml`` is not valid; the message says what to fix."""


@dataclass(frozen=True)
class CrisisLine:
    id: str
    concerns: frozenset[str]
    text: dict[str, str]
    source: str
    verified: date


@dataclass(frozen=True)
class CrisisContent:
    emergency: dict[str, str]
    lines: tuple[CrisisLine, ...]
    caseworker: dict[str, str]
    # The gentle check (a classifier-only hit under its bar), its "I'm safe" answer, and the
    # short supportive reply to "ok" / "I called 911" after the crisis answer.
    check: dict[str, str]
    safe: dict[str, str]
    support: dict[str, str]

    def replies(self, concern: str | None, language: str) -> list[str]:
        """The messages to send, in order: emergency (911), verified lines, a person."""
        lang = language if language in LANGUAGES else "en"
        texts = [self.emergency[lang]]
        texts += [
            line.text[lang] for line in self.lines if concern is None or concern in line.concerns
        ]
        texts.append(self.caseworker[lang])
        return texts

    def text(self, kind: str, language: str) -> str:
        """The ``check``, ``safe`` or ``support`` text in ``language`` (English otherwise)."""
        return getattr(self, kind)[language if language in LANGUAGES else "en"]

    def reply_kind(self, text: str, payload: dict[str, Any] | None = None) -> str | None:
        """Which safety reply an outbound message was: ``"crisis"``, ``"check"`` or
        ``"support"`` (None for any other). The app marks its own in the payload; a reply
        from Rasa's actions is recognised by its text."""
        marked = (payload or {}).get("safety")
        if marked in ("crisis", "check", "support"):
            return str(marked)
        if marked is not None:
            return None
        if any(self.caseworker[k] in text for k in LANGUAGES):
            return "crisis"
        if any(text.startswith(self.check[k]) for k in LANGUAGES):
            return "check"
        if any(text.startswith(self.support[k]) for k in LANGUAGES):
            return "support"
        return None


def _bilingual(where: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) and raw[k].strip() for k in LANGUAGES
    ):
        raise CrisisContentError(f"{where}: needs an English ('en') and a French ('fr') text")
    return {k: " ".join(raw[k].split()) for k in LANGUAGES}


def parse(data: Any) -> CrisisContent:
    if not isinstance(data, dict):
        raise CrisisContentError("the file must be a mapping (emergency, crisis_lines, caseworker)")
    lines: list[CrisisLine] = []
    for i, raw in enumerate(data.get("crisis_lines") or []):
        where = f"crisis_lines[{i}]"
        if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
            raise CrisisContentError(f"{where}: needs an 'id'")
        concerns = frozenset(raw.get("for") or CONCERNS)
        if not concerns <= CONCERNS:
            raise CrisisContentError(f"{where}: 'for' must list some of {sorted(CONCERNS)}")
        source, verified = raw.get("source"), raw.get("verified")
        if not isinstance(source, str) or not source.strip() or not isinstance(verified, date):
            # Unverified: never sent (the operator must say where and when it was checked).
            raise CrisisContentError(
                f"{where}: a crisis line needs 'source' and 'verified' (a date); remove the "
                "line if it cannot be verified"
            )
        lines.append(
            CrisisLine(str(raw["id"]), concerns, _bilingual(where, raw), source.strip(), verified)
        )
    return CrisisContent(
        emergency=_bilingual("emergency", data.get("emergency")),
        lines=tuple(lines),
        caseworker=_bilingual("caseworker", data.get("caseworker")),
        check=_bilingual("check", data.get("check")),
        safe=_bilingual("safe", data.get("safe")),
        support=_bilingual("support", data.get("support")),
    )


def _read(path: Path) -> CrisisContent:
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")))


_live = LiveFile(_read, errors=(CrisisContentError, yaml.YAMLError))


def load(path: Path = CRISIS_PATH) -> CrisisContent:
    """The crisis content, re-read when the file changes (an edit is live at once). A broken
    edit keeps the last good content, so a crisis is always answered."""
    return _live.get(path)
