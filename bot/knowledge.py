"""The program content pack (``content/program.yml``) and the facts it rests on.

The operator edits the pack, not code: each topic has its English and French answer, the ids of
the facts it rests on, a review date and whether to offer a caseworker. The facts file
(``content/facts/program-avrr-gta.md``, a copy of the research notes) is parsed here so that every
fact id in the pack can be checked and shown with its source and confidence.

Used by the action server (``actions/knowledge.py``), the content check in the tests and
``intake content``. No Rasa import: the app's Python runs all of it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from bot.settings import PROJECT_ROOT
from bot.sms import SmsCost, cost, to_gsm7

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")

CONTENT_DIR = PROJECT_ROOT / "content"
PACK_PATH = CONTENT_DIR / "program.yml"
FACTS_PATH = CONTENT_DIR / "facts" / "program-avrr-gta.md"

# The most SMS segments one reply may cost (after SMS transliteration, see bot/sms.py).
MAX_SMS_SEGMENTS = 3

# An answer must stand on its own whatever question the classifier mapped to its topic: it never
# opens with a bare yes or no ("Yes.", "No, ...", "En général, oui."). Matched on the start of the
# lowercased answer without accents; "No one..." or "Nobody..." are sentences, not a bare no.
BARE_OPENING = re.compile(
    r"^(?:(?:generally|in general|en general|generalement)\W+)?"
    r"(?:yes|yeah|yep|no|nope|oui|ouais|non|of course|bien sur|absolutely|absolument)"
    r"(?:\W+(?:in general|generally|en general|generalement))?\s*(?:[.,;:!]|$)"
)

# Answers that rest on what participants received (section 3 of the facts file: "3.1", "3A")
# must say that the 2012-2015 pilot is closed, so an amount is never read as an offer.
CLOSED_MARKERS: dict[Language, str] = {"en": "closed", "fr": "terminé"}


class ContentError(ValueError):
    """The pack is malformed; the message says which topic and field to fix."""


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    source: str
    confidence: str


@dataclass(frozen=True)
class Topic:
    id: str  # also the Rasa intent that asks for it
    title: dict[str, str]
    answer: dict[str, str]
    questions: tuple[str, ...]
    facts: tuple[str, ...]
    reviewed: dt.date
    offer_caseworker: bool
    with_status: bool


@dataclass(frozen=True)
class Status:
    intake_open: bool
    notice: dict[str, str]
    reviewed: dt.date


@dataclass(frozen=True)
class Pack:
    status: Status
    topics: dict[str, Topic]

    def replies(self, topic_id: str, language: Language) -> list[str]:
        """The texts sent for a topic, in order (the answer, then the status notice if any)."""
        topic = self.topics[topic_id]
        texts = [topic.answer[language]]
        if topic.with_status:
            texts.append(self.status.notice[language])
        return texts


# -- the facts file -------------------------------------------------------------------------

_TABLE_ROW = re.compile(r"^\|\s*(\d+\.\d+)\s*\|(.*)\|\s*$")
_SECTION = re.compile(r"^#{2,3}\s+(\d+[A-Z]?)\.\s+(.*)$")
_QUESTION = re.compile(r"^\*\*(Q\d+)\.\s+EN:\s*(.*?)\*\*\s*$")


def load_facts(path: Path | None = None) -> dict[str, Fact]:
    """Fact ids of the research notes: table rows ("3.1"), sections ("3A", "0", "10"), and
    question-bank entries ("Q13"). Table rows carry their source and confidence columns."""
    facts: dict[str, Fact] = {}
    for line in (path or FACTS_PATH).read_text(encoding="utf-8").splitlines():
        if row := _TABLE_ROW.match(line):
            cells = [c.strip() for c in row.group(2).split("|")]
            text, source, confidence = [*cells, "", "", ""][:3]
            facts[row.group(1)] = Fact(row.group(1), text, source, confidence)
        elif section := _SECTION.match(line):
            sid = section.group(1)
            facts[sid] = Fact(sid, section.group(2), "see the section in the facts file", "section")
        elif question := _QUESTION.match(line):
            qid = question.group(1)
            facts[qid] = Fact(qid, question.group(2), "question bank (§13)", "vetted answer")
    return facts


# -- the pack ---------------------------------------------------------------------------------


def _bilingual(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ContentError(f"{where}: expected 'en' and 'fr' texts")
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where}: the '{lang}' text is missing or empty")
        out[lang] = " ".join(text.split())
    return out


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContentError(f"{where}: 'reviewed' must be a date like 2026-11-27") from exc


def parse_pack(data: object) -> Pack:
    if not isinstance(data, dict) or not isinstance(data.get("topics"), dict):
        raise ContentError("the pack needs a 'status' block and a 'topics' mapping")
    raw_status = data.get("status") or {}
    status = Status(
        intake_open=bool(raw_status.get("intake_open", False)),
        notice=_bilingual(raw_status.get("notice"), "status.notice"),
        reviewed=_date(raw_status.get("reviewed"), "status"),
    )
    topics: dict[str, Topic] = {}
    for tid, raw in data["topics"].items():
        where = f"topic {tid}"
        if not isinstance(raw, dict):
            raise ContentError(f"{where}: expected a mapping")
        topics[tid] = Topic(
            id=tid,
            title=_bilingual(raw.get("title"), f"{where}.title"),
            answer=_bilingual(raw.get("answer"), f"{where}.answer"),
            questions=tuple(str(q) for q in raw.get("questions") or ()),
            facts=tuple(str(f) for f in raw.get("facts") or ()),
            reviewed=_date(raw.get("reviewed"), where),
            offer_caseworker=bool(raw.get("offer_caseworker", False)),
            with_status=bool(raw.get("with_status", False)),
        )
    return Pack(status, topics)


def load_pack(path: Path | None = None) -> Pack:
    path = path or PACK_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name} is not valid YAML: {exc}") from exc
    return parse_pack(data)


# -- the content check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyCost:
    topic: str
    language: Language
    text: str
    kept: SmsCost  # accents kept (what web and Telegram show)
    sms: SmsCost  # what SMS sends: transliterated to GSM-7 (see bot/sms.py)


def reply_costs(pack: Pack) -> list[ReplyCost]:
    costs: list[ReplyCost] = []
    for tid in pack.topics:
        for lang in LANGUAGES:
            for text in pack.replies(tid, lang):
                costs.append(ReplyCost(tid, lang, text, cost(text), cost(to_gsm7(text))))
    return costs


def opens_with_bare_yes_no(text: str) -> bool:
    plain = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return bool(BARE_OPENING.match(plain))


def rests_on_benefits(topic: Topic) -> bool:
    """The topic rests on section 3 of the facts file (what participants received)."""
    return any(fid == "3A" or fid.startswith("3.") for fid in topic.facts)


def problems(pack: Pack, facts: dict[str, Fact]) -> list[str]:
    """Everything wrong with the pack; empty when it may ship."""
    found: list[str] = []
    for topic in pack.topics.values():
        for fid in topic.facts + topic.questions:
            if fid not in facts:
                found.append(f"topic {topic.id}: fact id {fid!r} is not in the facts file")
    for topic in pack.topics.values():
        for lang in LANGUAGES:
            if opens_with_bare_yes_no(topic.answer[lang]):
                found.append(f"topic {topic.id} ({lang}): opens with a bare yes or no")
            if rests_on_benefits(topic) and CLOSED_MARKERS[lang] not in topic.answer[lang]:
                found.append(
                    f"topic {topic.id} ({lang}): rests on what participants received but does "
                    f"not say the pilot is closed ({CLOSED_MARKERS[lang]!r})"
                )
    for rc in reply_costs(pack):
        if rc.sms.segments > MAX_SMS_SEGMENTS:
            found.append(
                f"topic {rc.topic} ({rc.language}): {rc.sms.segments} SMS segments "
                f"(at most {MAX_SMS_SEGMENTS})"
            )
    bank = sorted((f for f in facts if f.startswith("Q")), key=lambda q: int(q[1:]))
    covered = {q for t in pack.topics.values() for q in t.questions}
    found += [f"question {q} is answered by no topic" for q in bank if q not in covered]
    return found


def report(pack: Pack, facts: dict[str, Fact]) -> str:
    """The content report (docs/program-content.md): cost of every reply and its sources."""
    lines = [
        "# Program content report",
        "",
        "Generated by `intake content` from `content/program.yml` and",
        "`content/facts/program-avrr-gta.md`. Do not edit by hand.",
        "",
        f"Status: intake open = {pack.status.intake_open}; reviewed {pack.status.reviewed}.",
        "",
        "## SMS cost of every reply",
        "",
        "`kept` = accents kept (web, Telegram); `SMS` = after SMS transliteration to GSM-7.",
        f"No reply may exceed {MAX_SMS_SEGMENTS} SMS segments.",
        "",
        "| topic | lang | chars | kept: encoding, segments | SMS: encoding, segments |",
        "|---|---|---|---|---|",
    ]
    for rc in reply_costs(pack):
        lines.append(
            f"| {rc.topic} | {rc.language} | {len(rc.text)} | {rc.kept.encoding}, "
            f"{rc.kept.segments} | {rc.sms.encoding}, {rc.sms.segments} |"
        )
    costs = reply_costs(pack)
    for lang in LANGUAGES:
        mine = [c for c in costs if c.language == lang]
        lines += [
            "",
            f"{lang}: {len(mine)} replies; accents kept: "
            f"{sum(c.kept.encoding == 'UCS-2' for c in mine)} in UCS-2, "
            f"{sum(c.kept.segments for c in mine)} segments in total, "
            f"{sum(c.kept.segments > MAX_SMS_SEGMENTS for c in mine)} over budget; "
            f"transliterated: {sum(c.sms.segments for c in mine)} segments in total, "
            f"{sum(c.sms.segments > MAX_SMS_SEGMENTS for c in mine)} over budget.",
        ]
    lines += ["", "## Sources of every topic", ""]
    for topic in pack.topics.values():
        caseworker = "offers a caseworker" if topic.offer_caseworker else "no caseworker button"
        lines += [
            f"### {topic.id}",
            "",
            f"Answers {', '.join(topic.questions) or 'no bank question'};"
            f" reviewed {topic.reviewed}; {caseworker}.",
            "",
        ]
        for fid in topic.facts:
            fact = facts.get(fid)
            if fact is None:
                lines.append(f"- **{fid}**: MISSING from the facts file")
            else:
                lines.append(f"- **{fid}** ({fact.confidence}): {fact.source}")
        if not topic.facts:
            lines.append("- no program fact (describes the assistant itself)")
        lines.append("")
    return "\n".join(lines)
