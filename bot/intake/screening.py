"""Screening: the operator's rules file (``content/screening.yml``) applied to an intake.

The rules only sort the caseworker queue; CBSA decided eligibility (§2.1, §2.4). The person is
never told they are refused. Loading checks the file and says exactly what is wrong
(``RulesError``); the shipped file is loaded by the unit tests, and a broken edit makes a
submission fail with a logged reason while the person's answers stay saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.intake.vocabulary import OUTCOMES  # least to most cautious
from bot.live_file import LiveFile

DEFAULT_OUTCOME = "needs_review"

FIELDS = frozenset(
    {
        "area", "immigration_status", "passport", "safety_concerns", "criminality",
        "prior_return", "health_needs", "has_children", "minor_alone", "urgent_date",
        "citizenship", "return_country", "crisis", "detention_fear",
    }
)  # fmt: skip
# Flags the safety layer raises in a conversation (bot/safety.py): always urgent, with these
# priorities when the operator's file does not define them.
SAFETY_FLAG_PRIORITY = {"crisis": 20, "urgent_date": 10, "detention_fear": 10}


class RulesError(ValueError):
    """The rules file is not valid; the message says where and what to fix."""


def canon(value: Any) -> str | None:
    """One spelling for a value on both sides: YAML reads an unquoted yes as True."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip().lower()


@dataclass(frozen=True)
class Condition:
    allowed: dict[str, frozenset[str | None]]

    def matches(self, facts: dict[str, Any]) -> bool:
        return all(canon(facts.get(name)) in values for name, values in self.allowed.items())


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    outcome: str
    reason: dict[str, str]
    source: str


@dataclass(frozen=True)
class Flag:
    id: str
    when: Condition
    priority: int
    label: dict[str, str]
    urgent: bool = False  # puts the referral on top of the queue, marked urgent


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]
    urgent_within_days: int = 30


@dataclass(frozen=True)
class Result:
    outcome: str
    reasons: list[dict[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    priority: int = 0
    urgent: bool = False


def _condition(where: str, raw: Any) -> Condition:
    if not isinstance(raw, dict) or not raw:
        raise RulesError(f"{where}: 'when' must be a mapping of field: [values]")
    allowed: dict[str, frozenset[str | None]] = {}
    for name, values in raw.items():
        if name not in FIELDS:
            raise RulesError(f"{where}: unknown field {name!r}; known: {', '.join(sorted(FIELDS))}")
        values = values if isinstance(values, list) else [values]
        allowed[name] = frozenset(canon(v) for v in values)
    return Condition(allowed)


def _bilingual(where: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) and raw[k].strip() for k in ("en", "fr")
    ):
        raise RulesError(f"{where}: needs an English ('en') and a French ('fr') text")
    return {"en": raw["en"].strip(), "fr": raw["fr"].strip()}


def parse_rules(data: Any) -> RuleSet:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesError("the file must be a mapping with a 'rules' list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["rules"]):
        where = f"rules[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise RulesError(f"{where}: each rule needs an 'id'")
        where = f"rule {raw['id']!r}"
        if raw["id"] in seen:
            raise RulesError(f"{where}: the id is used twice")
        seen.add(raw["id"])
        if raw.get("outcome") not in OUTCOMES:
            raise RulesError(f"{where}: 'outcome' must be one of {', '.join(OUTCOMES)}")
        rules.append(
            Rule(
                id=raw["id"],
                when=_condition(where, raw.get("when")),
                outcome=raw["outcome"],
                reason=_bilingual(f"{where} reason", raw.get("reason")),
                source=str(raw.get("source") or ""),
            )
        )
    flags: list[Flag] = []
    for i, raw in enumerate(data.get("flags") or []):
        where = f"flags[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise RulesError(f"{where}: each flag needs an 'id'")
        priority = raw.get("priority", 1)
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
            raise RulesError(f"flag {raw['id']!r}: 'priority' must be a whole number >= 0")
        urgent = raw.get("urgent", False)
        if not isinstance(urgent, bool):
            raise RulesError(f"flag {raw['id']!r}: 'urgent' must be true or false")
        flags.append(
            Flag(
                raw["id"],
                _condition(f"flag {raw['id']!r}", raw.get("when")),
                priority,
                _bilingual(f"flag {raw['id']!r} label", raw.get("label")),
                urgent or raw["id"] in SAFETY_FLAG_PRIORITY,
            )
        )
    days = data.get("urgent_within_days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise RulesError("'urgent_within_days' must be a whole number >= 0")
    return RuleSet(tuple(rules), tuple(flags), days)


def load_rules(path: Path) -> RuleSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"cannot read the screening rules file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{path} is not valid YAML: {exc}") from exc
    return parse_rules(data)


_live = LiveFile(load_rules, errors=(RulesError,))


def current_rules(path: Path) -> RuleSet:
    """``load_rules``, re-read only when the file changed (the app reads it on every message).
    A broken edit keeps the last good rules (and is reported by ``load_rules`` elsewhere)."""
    return _live.get(path)


def facts(
    intake: dict[str, Any],
    today: date,
    urgent_within_days: int = 30,
    raised: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The intake plus the derived yes/no facts that rules and flags refer to.

    ``raised``: the flags raised in the conversation (``crisis``, ``urgent_date``,
    ``detention_fear`` by the safety layer; ``unaccompanied_minor`` by an intake answer)."""
    derived = dict(intake)
    derived["crisis"] = "crisis" in raised
    derived["detention_fear"] = "detention_fear" in raised
    children = intake.get("children")
    derived["has_children"] = isinstance(children, int) and children > 0
    derived["minor_alone"] = bool(intake.get("minor_alone")) or "unaccompanied_minor" in raised
    urgent = False
    raw_date = intake.get("decision_date")
    if isinstance(raw_date, str):
        try:
            when = date.fromisoformat(raw_date)
        except ValueError:
            when = None
        if when is not None and intake.get("immigration_status") in ("removal_order", "refused"):
            urgent = abs((when - today).days) <= urgent_within_days
    derived["urgent_date"] = urgent or "urgent_date" in raised
    return derived


def evaluate(
    rules: RuleSet,
    intake: dict[str, Any],
    today: date | None = None,
    raised: frozenset[str] = frozenset(),
) -> Result:
    """Outcome, reasons, flags and priority of an intake (or of a contact request: an empty
    intake) in a conversation where the safety layer raised ``raised``."""
    known = facts(intake, today or date.today(), rules.urgent_within_days, raised)
    fired = [rule for rule in rules.rules if rule.when.matches(known)]
    outcome = max((r.outcome for r in fired), key=OUTCOMES.index) if fired else DEFAULT_OUTCOME
    # The reasons that decided it first, then the others (all are useful to a caseworker).
    fired.sort(key=lambda r: r.outcome != outcome)
    reasons = [
        {"rule_id": r.id, "outcome": r.outcome, "en": r.reason["en"], "fr": r.reason["fr"],
         "source": r.source}
        for r in fired
    ]  # fmt: skip
    flags = [flag for flag in rules.flags if flag.when.matches(known)]
    ids = [f.id for f in flags]
    priority = sum(f.priority for f in flags)
    # A safety flag is never lost because an operator removed it from the rules file.
    for flag_id, default in SAFETY_FLAG_PRIORITY.items():
        if flag_id in raised and flag_id not in ids:
            ids.append(flag_id)
            priority += default
    return Result(
        outcome=outcome,
        reasons=reasons,
        flags=ids,
        priority=priority,
        urgent=any(f.urgent for f in flags) or any(f in raised for f in SAFETY_FLAG_PRIORITY),
    )


def urgent_flags(rules: RuleSet) -> frozenset[str]:
    """Flag ids that make a referral urgent (the operator's, and the safety layer's)."""
    return frozenset(f.id for f in rules.flags if f.urgent) | frozenset(SAFETY_FLAG_PRIORITY)
