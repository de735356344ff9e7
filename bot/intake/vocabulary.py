"""The intake vocabulary: every field the intake form writes, its value codes, and their labels.

One module owns these words. The form's summary (``actions/intake.py``), screening
(``bot/intake/screening.py``), the caseworker pages, the CSV export and the API all read it;
``tests/unit/test_vocabulary.py`` walks it against what the form's parsers and the screening
rules file really produce, so a new field, value, outcome or flag without an English and a
French label fails a test instead of showing a raw code to a caseworker.

Codes never change (docs/intake.md "Fields"); labels are for people. A value the form could not
understand after one re-ask is stored as ``<field>_as_written`` with the field = ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.intake import countries

if TYPE_CHECKING:  # screening imports this module: no import cycle at run time
    from bot.intake.screening import RuleSet

Texts = dict[str, str]  # {"en": ..., "fr": ...}
LANGUAGES = ("en", "fr")

UNKNOWN = "unknown"  # the person skipped the question, did not know, or was not understood
AS_WRITTEN = "_as_written"  # suffix of the text kept when an answer was not understood


def as_written_key(key: str) -> str:
    return key + AS_WRITTEN


def pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts["en"]


# -- value labels shared by several fields -------------------------------------------------

YES: Texts = {"en": "yes", "fr": "oui"}
NO: Texts = {"en": "no", "fr": "non"}
DONT_KNOW: Texts = {"en": "don't know", "fr": "ne sais pas"}
PREFER_NOT: Texts = {"en": "prefer not to say", "fr": "préfère ne pas le dire"}
YES_NO_UNKNOWN: dict[str, Texts] = {"yes": YES, "no": NO, UNKNOWN: DONT_KNOW}
YES_NO_PREFER: dict[str, Texts] = {**YES_NO_UNKNOWN, "prefer_not_to_say": PREFER_NOT}


@dataclass(frozen=True)
class Field:
    """One intake key.

    ``kind``: ``code`` (one of ``values``), ``text`` (free text; ``values`` may name codes such
    as ``unknown``), ``country`` (ISO alpha-2 or ``unknown``), ``date`` (ISO date or null),
    ``count`` (a whole number or null), ``age`` (a whole number or ``unknown``), ``bool``.
    ``summary`` is the label in the summary the person reads when it differs from ``label``;
    ``in_summary`` marks the keys the summary lists (in this order).
    """

    key: str
    label: Texts
    kind: str = "code"
    values: Mapping[str, Texts] = field(default_factory=dict)
    summary: Texts | None = None
    in_summary: bool = False
    contact: bool = False  # a contact detail: masked for caseworkers until revealed
    sensitive: bool = False  # never echoed by SMS, never in log lines

    def summary_label(self, language: str) -> str:
        return pick(self.summary or self.label, language)


_FIELDS: tuple[Field, ...] = (
    Field("consent", {"en": "Consent", "fr": "Consentement"}, "bool"),
    Field("first_name", {"en": "First name", "fr": "Prénom"}, "text", {UNKNOWN: {
          "en": "not given", "fr": "non donné"}}, summary={"en": "Name", "fr": "Prénom"},
          in_summary=True),
    Field("area", {"en": "Lives in the GTA", "fr": "Habite la RGT"}, "code", {
        "gta": YES, "outside": NO, "unclear": {"en": "not sure", "fr": "à préciser"},
        UNKNOWN: DONT_KNOW}, in_summary=True),
    Field("city", {"en": "City", "fr": "Ville"}, "text"),
    Field("immigration_status", {"en": "Immigration situation", "fr": "Situation d'immigration"},
          "code", {
              "refused": {"en": "Claim refused", "fr": "Demande refusée"},
              "appeal_pending": {"en": "Appeal or review pending",
                                 "fr": "Appel ou examen en cours"},
              "removal_order": {"en": "Removal order received", "fr": "Mesure de renvoi reçue"},
              "withdrawn": {"en": "Claim withdrawn", "fr": "Demande retirée"},
              "other": {"en": "Other", "fr": "Autre"},
              UNKNOWN: DONT_KNOW,
          }, summary={"en": "Situation", "fr": "Situation"}, in_summary=True),
    Field("decision_date", {"en": "Decision date", "fr": "Date de la décision"}, "date",
          in_summary=True),
    Field("decision_date_text", {"en": "Decision date as said", "fr": "Date de la décision "
          "telle que dite"}, "text", {UNKNOWN: DONT_KNOW}),
    Field("citizenship", {"en": "Citizenship", "fr": "Citoyenneté"}, "country",
          {UNKNOWN: DONT_KNOW}, in_summary=True),
    Field("return_country", {"en": "Return country", "fr": "Pays de retour"}, "country",
          {UNKNOWN: DONT_KNOW}, summary={"en": "Return to", "fr": "Retour vers"},
          in_summary=True),
    # "party" is written only as "unknown" (with party_as_written) when the travel party was
    # not understood twice; otherwise the answer is in adults, children and minor_alone.
    Field("party", {"en": "Travelling", "fr": "Voyageurs"}, "code", {UNKNOWN: DONT_KNOW},
          in_summary=True),
    Field("adults", {"en": "Adults", "fr": "Adultes"}, "count"),
    Field("children", {"en": "Children", "fr": "Enfants"}, "count"),
    Field("minor_alone", {"en": "Minor travelling alone", "fr": "Mineur voyageant seul"}, "bool"),
    Field("age", {"en": "Age", "fr": "Âge"}, "age", {UNKNOWN: DONT_KNOW}, in_summary=True),
    Field("passport", {"en": "Passport", "fr": "Passeport"}, "code", {
        "yes": YES, "no": NO, "expired": {"en": "expired", "fr": "expiré"}, UNKNOWN: DONT_KNOW},
        in_summary=True),
    Field("health_needs", {"en": "Health needs", "fr": "Besoins de santé"}, "code",
          YES_NO_UNKNOWN, in_summary=True, sensitive=True),
    Field("health_details", {"en": "Health details", "fr": "Précisions sur la santé"}, "text",
          sensitive=True),
    Field("safety_concerns", {"en": "Safety concerns", "fr": "Craintes pour la sécurité"},
          "code", YES_NO_PREFER, in_summary=True, sensitive=True),
    Field("criminality", {"en": "Charge or conviction", "fr": "Accusation ou condamnation"},
          "code", YES_NO_PREFER, in_summary=True, sensitive=True),
    Field("prior_return", {"en": "Assisted return before", "fr": "Aide au retour déjà reçue"},
          "code", YES_NO_UNKNOWN, in_summary=True),
    Field("contact_preference", {"en": "How and when to contact",
          "fr": "Comment et quand joindre"}, "text", {
              "any": {"en": "here, any time", "fr": "ici, n'importe quand"},
              UNKNOWN: DONT_KNOW},
          summary={"en": "Contact", "fr": "Contact"}, in_summary=True),
    Field("phone", {"en": "Phone", "fr": "Téléphone"}, "text", {UNKNOWN: DONT_KNOW},
          in_summary=True, contact=True, sensitive=True),
    Field("notes", {"en": "Notes", "fr": "Notes"}, "text", {UNKNOWN: DONT_KNOW}, in_summary=True,
          sensitive=True),
)  # fmt: skip
FIELDS: dict[str, Field] = {f.key: f for f in _FIELDS}
SUMMARY_FIELDS: tuple[Field, ...] = tuple(f for f in _FIELDS if f.in_summary)
CONTACT_FIELDS = frozenset(f.key for f in _FIELDS if f.contact)


def is_contact(key: str) -> bool:
    """A contact detail (masked until revealed), including one kept as typed."""
    return key in CONTACT_FIELDS or key.removesuffix(AS_WRITTEN) in CONTACT_FIELDS


SENSITIVE_FIELDS = frozenset(f.key for f in _FIELDS if f.sensitive)

YEARS: Texts = {"en": "years", "fr": "ans"}  # "16 years" / "16 ans"

# Counting words of the summary's "1 adult(s), 2 child(ren)".
UNITS: dict[str, Texts] = {
    "adults": {"en": "adult(s)", "fr": "adulte(s)"},
    "children": {"en": "child(ren)", "fr": "enfant(s)"},
}

# Facts screening derives from the intake; rules and flags may name them as fields.
DERIVED: dict[str, Texts] = {
    "has_children": {"en": "Children travelling", "fr": "Enfants du voyage"},
    "urgent_date": {"en": "Removal or decision date soon", "fr": "Date de renvoi ou de "
                    "décision proche"},
    # Raised by the safety layer from what the person wrote anywhere (bot/safety.py).
    "crisis": {"en": "Crisis in the conversation", "fr": "Crise dans la conversation"},
    "detention_fear": {"en": "Fears detention or arrest",
                       "fr": "Craint une détention ou une arrestation"},
}  # fmt: skip


# -- screening: outcomes, reasons, flags ---------------------------------------------------

OUTCOMES = ("likely_eligible", "needs_review", "likely_not_eligible")  # least to most cautious
OUTCOME_LABELS: dict[str, Texts] = {
    "likely_eligible": {"en": "Likely eligible", "fr": "Probablement admissible"},
    "needs_review": {"en": "Needs review", "fr": "À examiner"},
    "likely_not_eligible": {"en": "Likely not eligible", "fr": "Probablement non admissible"},
}

# A reason, as screening stores it on the referral:
#   {"rule_id": ..., "outcome": ..., "en": ..., "fr": ..., "source": ...}
REASON_KEYS = ("rule_id", "outcome", "en", "fr", "source")


def reason_rule_id(raw: Any) -> str | None:
    """The rule of a stored reason (referrals stored before the rename say ``rule``)."""
    if isinstance(raw, dict):
        found = raw.get("rule_id") or raw.get("rule")
        return str(found) if found else None
    return None


def reason_text(raw: Any, language: str) -> str:
    """A stored reason in ``language`` (the other language if only that one exists)."""
    if isinstance(raw, dict):
        other = "fr" if language == "en" else "en"
        return str(raw.get(language) or raw.get(other) or reason_rule_id(raw) or "")
    return str(raw or "")


@dataclass(frozen=True)
class FlagInfo:
    id: str
    label: Texts
    urgent: bool = False


# The safety flags the conversation raises (CONTRACT.md): always urgent, and always labelled,
# even if an operator removed them from the rules file.
SAFETY_FLAGS: dict[str, FlagInfo] = {
    "crisis": FlagInfo("crisis", {
        "en": "Crisis: danger, self-harm or medical emergency",
        "fr": "Crise : danger, idées suicidaires ou urgence médicale"}, urgent=True),
    "detention_fear": FlagInfo("detention_fear", {
        "en": "Fears detention or arrest",
        "fr": "Craint une détention ou une arrestation"}, urgent=True),
    "urgent_date": FlagInfo("urgent_date", {
        "en": "Removal or departure date soon",
        "fr": "Date de renvoi ou de départ proche"}, urgent=True),
}  # fmt: skip

# A flag the app itself sets (bot/referrals.py, docs/security.md): a contact request from the
# web chat by someone without an intake, which anyone on the internet can script. Never urgent.
UNVERIFIED_WEB = "unverified_web"
APP_FLAGS: dict[str, FlagInfo] = {
    UNVERIFIED_WEB: FlagInfo(UNVERIFIED_WEB, {
        "en": "Unverified: asked for a person on the web chat, no intake form",
        "fr": "Non vérifié : demande à parler à quelqu'un sur le clavardage Web, sans "
              "formulaire d'accueil"}),
}  # fmt: skip


def flags(rules: RuleSet | None) -> dict[str, FlagInfo]:
    """Every flag with its labels: the rules file's, then the built-in safety and app flags."""
    found: dict[str, FlagInfo] = {**SAFETY_FLAGS, **APP_FLAGS}
    for flag in rules.flags if rules is not None else ():
        safety = SAFETY_FLAGS.get(flag.id)
        urgent = flag.urgent or (safety is not None and safety.urgent)
        found[flag.id] = FlagInfo(flag.id, dict(flag.label), urgent)
    return found


def flag_label(catalogue: Mapping[str, FlagInfo], flag_id: str, language: str) -> str:
    info = catalogue.get(flag_id)
    return pick(info.label, language) if info else humanise(flag_id)


def urgent_flags(catalogue: Mapping[str, FlagInfo], flag_ids: list[str] | None) -> list[str]:
    return [f for f in flag_ids or [] if f in catalogue and catalogue[f].urgent]


# -- referrals: kinds and statuses ---------------------------------------------------------

KIND_LABELS: dict[str, Texts] = {
    "intake": {"en": "Intake form", "fr": "Formulaire d'accueil"},
    "contact_request": {"en": "Asked for a person", "fr": "Demande à parler à quelqu'un"},
}
STATUS_LABELS: dict[str, Texts] = {
    "open": {"en": "Open", "fr": "Ouverte"},
    "claimed": {"en": "Claimed", "fr": "Prise en charge"},
    "closed": {"en": "Closed", "fr": "Fermée"},
}


# -- reading values ------------------------------------------------------------------------


def humanise(code: str) -> str:
    return code.replace("_", " ").strip().capitalize() if code else ""


def label(key: str, language: str) -> str:
    """The label of an intake key (a derived fact's, or the key made readable)."""
    if key in FIELDS:
        return pick(FIELDS[key].label, language)
    if key in DERIVED:
        return pick(DERIVED[key], language)
    return humanise(key)


def value_label(key: str, value: Any, language: str) -> str:
    """An intake value as words in ``language`` (free text is returned as written)."""
    spec = FIELDS.get(key)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return pick(YES if value else NO, language)
    if spec is not None and isinstance(value, str) and value in spec.values:
        return pick(spec.values[value], language)
    if spec is not None and spec.kind == "country" and isinstance(value, str):
        return countries.name_of(value, language)
    if spec is not None and spec.kind == "date" and isinstance(value, str):
        return format_date(value, language)
    if spec is not None and spec.kind == "age" and isinstance(value, int):
        return f"{value} {pick(YEARS, language)}"
    return str(value)


MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}  # fmt: skip


def format_date(raw: str, language: str) -> str:
    """'2026-03-03' -> 'March 3, 2026' / '3 mars 2026'; anything else unchanged."""
    try:
        when = date.fromisoformat(raw)
    except ValueError:
        return raw
    month = MONTHS["fr" if language == "fr" else "en"][when.month - 1]
    return f"{when.day} {month} {when.year}" if language == "fr" else (
        f"{month} {when.day}, {when.year}")  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One line of an intake as a caseworker reads it."""

    key: str
    label: str
    value: str
    as_written: str | None = None  # what the person typed, where it was not understood
    said: bool = False  # the value is the person's words, kept because no date was found


def rows(intake: Mapping[str, Any], language: str) -> list[Row]:
    """The intake's answers (contact details and consent left out), in the form's order,
    each field with its label and value label; the decision date once."""
    out: list[Row] = []
    intake = dict(intake)
    if "adults" in intake and intake.get("adults") is None and intake.get("children") is None:
        intake.setdefault("party", UNKNOWN)  # "who travels" skipped: say so, once
    keys = [k for k in FIELDS if k not in CONTACT_FIELDS and k != "consent"]
    keys += [k for k in intake if k not in FIELDS and not k.endswith(AS_WRITTEN)
             and k not in CONTACT_FIELDS and not k.startswith("consent")]  # fmt: skip
    for key in keys:
        typed = intake.get(as_written_key(key))
        if key == "decision_date_text":
            continue  # shown with decision_date
        if key == "decision_date":
            row = _decision_date(intake, language)
            if row is not None:
                out.append(row)
            continue
        if key not in intake and typed is None:
            continue
        value = intake.get(key, UNKNOWN)
        if value is None and typed is None and not (key in FIELDS and FIELDS[key].in_summary):
            continue  # a detail of another answer that has none (city, health details)
        out.append(Row(key, label(key, language), _shown(key, value, language),
                       str(typed) if typed is not None else None))  # fmt: skip
    return out


def _shown(key: str, value: Any, language: str) -> str:
    """A value label as a line of its own (capitalised); the person's own words unchanged."""
    shown = value_label(key, value, language)
    spec = FIELDS.get(key)
    if isinstance(value, bool) or (spec is not None and isinstance(value, str) and value in
                                   spec.values):  # fmt: skip
        return shown[:1].upper() + shown[1:]
    return shown


def _decision_date(intake: Mapping[str, Any], language: str) -> Row | None:
    if not {"decision_date", "decision_date_text"} & set(intake):
        return None
    name = label("decision_date", language)
    typed = intake.get(as_written_key("decision_date_text"))
    if isinstance(intake.get("decision_date"), str):
        return Row("decision_date", name, value_label("decision_date", intake["decision_date"],
                   language))  # fmt: skip
    said = intake.get("decision_date_text")
    if typed is not None or said in (None, UNKNOWN):
        return Row("decision_date", name, _shown("decision_date_text", UNKNOWN, language),
                   str(typed) if typed is not None else None)  # fmt: skip
    return Row("decision_date", name, str(said), said=True)


def labels(language: str) -> dict[str, Any]:
    """Every label in one language: the API's and the CSV's ``labels`` block."""
    return {
        "fields": {k: pick(f.label, language) for k, f in FIELDS.items()},
        "values": {
            k: {code: pick(t, language) for code, t in f.values.items()}
            for k, f in FIELDS.items()
            if f.values
        },
        "outcomes": {k: pick(t, language) for k, t in OUTCOME_LABELS.items()},
        "kinds": {k: pick(t, language) for k, t in KIND_LABELS.items()},
        "statuses": {k: pick(t, language) for k, t in STATUS_LABELS.items()},
    }
