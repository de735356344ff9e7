"""The safety layer's patterns (bot/safety.py) and dates in sentences (bot/intake/dates.py).

These are the reviewed cases: a missed or wrongly caught message found in use goes here, never
into the blind set (nlu/eval/safety/), which measures the layer without being tuned on.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot import safety
from bot.intake.dates import dates_in

TODAY = date(2026, 12, 1)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "concern", "language"),
    [
        ("i wanna kms", "self_harm", "en"),
        ("gonna unalive myself", "self_harm", "en"),
        ("honestly theres no point living anymore", "self_harm", "en"),
        ("I don't want to wake up tomorrow", "self_harm", "en"),
        ("everyone would be better off without me", "self_harm", "en"),
        ("i have pills here", "self_harm", "en"),
        ("I took all my sleeping pills", "self_harm", "en"),
        ("Suicidal thoughts again tonight", "self_harm", "en"),
        ("jveux mourir", "self_harm", "fr"),
        ("je veux en finir", "self_harm", "fr"),
        ("ca sert a rien de vivre", "self_harm", "fr"),
        ("Je vais me tuer", "self_harm", "fr"),
        ("j'ai plus la force de vivre", "self_harm", "fr"),
        ("j'ai avalé toutes mes pilules", "self_harm", "fr"),
        ("my husband is hitting me", "violence", "en"),
        ("there is a man outside my door", "violence", "en"),
        ("il me frappe", "violence", "fr"),
        ("au secours", "violence", "fr"),
        ("my baby is not breathing", "medical", "en"),
        ("he overdosed", "medical", "en"),
        ("mon fils ne respire plus", "medical", "fr"),
        ("douleur à la poitrine, j'arrive pas à respirer", "medical", "fr"),
        # indirect, euphemistic, farewell, plans and means
        ("honestly my kids would have a better life if i was gone", "self_harm", "en"),
        ("im just a burden to everyone", "self_harm", "en"),
        ("i want to go to sleep and never wake up again", "self_harm", "en"),
        ("how many sleeping pills does it take", "self_harm", "en"),
        ("tell my mother i am sorry", "self_harm", "en"),
        ("i have been saving my meds for a while", "self_harm", "en"),
        ("im standing on the ledge", "self_harm", "en"),
        ("he said he will hang himself tonight", "self_harm", "en"),
        ("i wont be around much longer anyway", "self_harm", "en"),
        ("je suis juste un poids pour eux", "self_harm", "fr"),
        ("je veux m'endormir et ne plus me réveiller", "self_harm", "fr"),
        ("j'ai écrit une lettre d'adieu", "self_harm", "fr"),
        ("chu sur le pont là", "self_harm", "fr"),
        ("ma soeur dit qu'elle va se pendre", "self_harm", "fr"),
        ("j'ai pris toute la boite de cachets", "self_harm", "fr"),
        ("chu tanné de vivre", "self_harm", "fr"),
        ("he is beating her right now next door", "violence", "en"),
        ("ma voisine se fait frapper", "violence", "fr"),
        ("my husband collapsed and is not breathing me", "medical", "en"),
        ("mon bébé respire pu", "medical", "fr"),
        ("mon fils convulse", "medical", "fr"),
        # Spanish and Portuguese: guidance in English and French
        ("ya no quiero vivir", "self_harm", "other"),
        ("mi esposo me está golpeando", "violence", "other"),
        ("não quero mais viver", "self_harm", "other"),
    ],
)
def test_crisis_is_recognised_with_its_language(text: str, concern: str, language: str) -> None:
    found = safety.crisis_match(text)
    assert found is not None, text
    assert (found.concern, found.language) == (concern, language)


@pytest.mark.parametrize(
    "text",
    [
        "they will kill me if i go back",  # fear of return: the program question
        "ils vont me tuer si je rentre au pays",
        "i dont want to be here anymore, i want to go home",  # wants to leave Canada
        "je veux plus etre la, je veux rentrer chez moi",
        "I am dying to go home",
        "this wait is killing me",
        "je meurs d'envie de revoir ma mere",
        "je dois prendre mes medicaments pendant le voyage",
        "i take my meds every day, can i still travel?",
        "je veux en finir avec ce dossier",
        "my brother died last year",
        "can i travel if i'm on dialysis",
        "my son has seizures, can he fly?",
        "i want to cancel my last message",
        "je ne veux pas vivre au Canada sans papiers",
        "I don't want to live in Canada anymore",
        "I was in danger in my country",
        "I overdosed on coffee this morning lol",
        "my father had a heart attack two years ago, can he fly",
        "je me tue à vous dire que j'ai envoyé les papiers",
        "goodbye and thank you for the information",
        "my last message was not answered",
        "what happens to the money if i die before the flight, does my family get it",
        "I'm not sure I want to live in Toronto anymore",
        # past events and plain goodbyes (found in ordinary training data written blind)
        "my mother had a stroke last year, can she fly",
        "j'ai fait une crise cardiaque en 2021, est-ce que je peux voyager",
        "i hurt myself years ago and i still take medication, can i bring it",
        "this is my last message for today, bye",
        "c'est mon dernier message pour aujourd'hui, merci",
        "what if they beat me again when i go back",
        "im so tired of this life here, i want to go home",
    ],
)
def test_ordinary_messages_are_not_a_crisis(text: str) -> None:
    assert safety.crisis_match(text) is None, text


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("tomorrow", "en", date(2026, 12, 2)),
        ("next week", "en", date(2026, 12, 8)),
        ("on friday", "en", date(2026, 12, 4)),
        ("next tuesday", "en", date(2026, 12, 8)),  # today is Tuesday: the next one
        ("in 3 days", "en", date(2026, 12, 4)),
        ("in two weeks", "en", date(2026, 12, 15)),
        ("la semaine prochaine", "fr", date(2026, 12, 8)),
        ("vendredi", "fr", date(2026, 12, 4)),
        ("le 5 décembre", "fr", date(2026, 12, 5)),
        ("dans deux semaines", "fr", date(2026, 12, 15)),
        ("demain", "fr", date(2026, 12, 2)),
        ("December 5", "en", date(2026, 12, 5)),
        ("December 4. What can I do", "en", date(2026, 12, 4)),
        ("on the 8th of this month", "en", date(2026, 12, 8)),
        ("within the week", "en", date(2026, 12, 7)),
        ("d'ici la fin de semaine", "fr", date(2026, 12, 7)),
    ],
)
def test_dates_in_sentences(text: str, language: str, expected: date) -> None:
    assert dates_in(f"my removal is {text}", language, TODAY)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "i have a removal date next week",
        "jai une date de renvoi la semaine prochaine",
        "je suis expulse vendredi je fais quoi",
        "they deport me tomorrow",
        "my flight is on december 5",
        "je dois partir du Canada dans 10 jours",
        "i fly out tomorrow morning",
        "cbsa gave me a date in 3 days",
        "c'est pour ce soir le vol",
    ],
)
def test_a_close_removal_date_is_urgent(text: str) -> None:
    assert safety.assess(text, "en", TODAY, 30).flags == ["urgent_date"]


@pytest.mark.parametrize(
    "text",
    [
        "my removal is in march",
        "i have a doctor appointment tomorrow",  # a date, but not a removal
        "my removal date was last year",
        "what is a removal order",
    ],
)
def test_other_dates_are_not_urgent(text: str) -> None:
    assert safety.assess(text, "en", TODAY, 30).urgent_date is None


def test_the_operator_threshold_decides() -> None:
    text = "my removal is in two weeks"
    assert safety.assess(text, "en", TODAY, 30).urgent_date == date(2026, 12, 15)
    assert safety.assess(text, "en", TODAY, 7).urgent_date is None


@pytest.mark.parametrize(
    ("text", "fear"),
    [
        ("will they detain me when i go to the cbsa office", True),
        ("im scared they lock me up", True),
        ("can cbsa arrest me at the interview?", True),
        ("j'ai peur qu'ils m'arretent au rendez-vous", True),
        ("est-ce qu'ils vont me mettre en detention", True),
        ("im afraid they will come and get me if i give my address", True),
        ("they kept my friend at the holding centre, will it happen to me?", True),
        ("si je vous appelle ils vont venir me chercher?", True),
        ("i was arrested in 2019", False),  # a past fact: the criminality question
        ("j'ai ete arrete une fois en 2018", False),
        ("hello", False),
    ],
)
def test_detention_fear(text: str, fear: bool) -> None:
    assert safety.fears_detention(text) is fear


def test_empty_and_media_only_messages_raise_nothing() -> None:
    assert safety.assess("", "en", TODAY, 30) == safety.Signals()
    assert safety.assess("   ", "fr", TODAY, 30).flags == []


def test_very_long_and_odd_input_is_handled() -> None:
    assert safety.assess("a" * 5000, "en", TODAY, 30).flags == []
    assert safety.assess("\ud800 je veux mourir \x00", "fr", TODAY, 30).flags == ["crisis"]


def test_the_blind_safety_set_shares_no_message_with_the_training_data() -> None:
    """A mechanical check only (nobody reads the blind set to tune): no blind message may be
    a training example, or the set would measure memory instead of recall."""
    import yaml

    from bot.runtime.evaluation import EVAL_DIR
    from bot.settings import PROJECT_ROOT

    def key(text: str) -> str:
        return " ".join(safety._key(text).split())

    trained: set[str] = set()
    for path in (PROJECT_ROOT / "nlu" / "data").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    trained.add(key(line.strip()[2:]))
    texts: list[str] = []
    for folder in ("safety", "safety_dev", "safety_v3"):  # blind sets, and the dev set
        blind = EVAL_DIR / folder
        texts += [
            str(item["text"])
            for path in blind.glob("*_*.yml")
            for item in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
        ]
        texts += [
            str(turn)
            for spec in yaml.safe_load((blind / "scenarios.yml").read_text(encoding="utf-8"))[
                "scenarios"
            ]
            for turn in spec["turns"]
            if len(str(turn)) > 25  # short turns ("yes", "oui", "1") are answers, not messages
        ]
    # Counts only in the assertions: a failure must not print the blind messages.
    count, shared = len(texts), sum(key(t) in trained for t in texts)
    assert count > 200
    assert shared == 0


# -- languages the assistant does not speak: core crisis phrases, answered in EN and FR ------
@pytest.mark.parametrize(
    ("text", "concern"),
    [
        ("ya no quiero vivir", "self_harm"),
        ("me quiere matar", "violence"),
        ("mi hijo no respira", "medical"),
        ("vou me matar", "self_harm"),
        ("ele quer me matar", "violence"),
        ("meg akarok halni", "self_harm"),
        ("Öngyilkos leszek", "self_harm"),
        ("a férjem megver", "violence"),
        ("nem lélegzik a babám", "medical"),
        ("vreau să mor", "self_harm"),
        ("soțul mă bate", "violence"),
        ("copilul nu respiră", "medical"),
        ("ölmek istiyorum", "self_harm"),
        ("kendimi öldüreceğim", "self_harm"),
        ("kocam beni dövüyor", "violence"),
        ("bebeğim nefes almıyor", "medical"),
        ("Я хочу умереть", "self_harm"),
        ("муж меня бьёт", "violence"),
        ("ребёнок не дышит", "medical"),
        ("我想自杀", "self_harm"),
        ("我不想活了", "self_harm"),
        ("我老公打我", "violence"),
        ("我的孩子没有呼吸", "medical"),
        ("أريد أن أموت", "self_harm"),
        ("زوجي يضربني", "violence"),
        ("ابني لا يتنفس", "medical"),
    ],
)
def test_core_crisis_phrases_of_other_languages(text: str, concern: str) -> None:
    found = safety.crisis_match(text)
    assert found is not None, text
    assert (found.concern, found.language) == (concern, "other")


@pytest.mark.parametrize(
    "text",
    [
        "quiero volver a mi país, ayuda por favor",
        "Olá, quero voltar para o Brasil. Como funciona?",
        "szeretnék hazamenni Magyarországra",
        "mă bate gândul să mă întorc acasă",  # an idiom: "I'm thinking of going home"
        "ajutor cu actele, vă rog",
        "Merhaba, eve dönmek istiyorum",
        "помогите мне с документами",
        "Я хочу вернуться домой",
        "我想回国",
        "想死你了",  # "I miss you to death"
        "请打我电话",  # "please call me"
        "أريد العودة إلى بلدي",
    ],
)
def test_ordinary_messages_in_other_languages_are_not_a_crisis(text: str) -> None:
    assert safety.crisis_match(text) is None, text


def test_no_other_language_phrase_fires_on_ordinary_training_or_dev_messages() -> None:
    """Precision of the new phrases: none of the ordinary NLU training examples (6,000+) nor
    of the NLU dev set's ordinary messages is taken for a crisis in another language."""
    import yaml

    from bot.runtime.evaluation import load_set
    from bot.settings import PROJECT_ROOT

    texts = [e.text for e in load_set("dev") if e.intent != "urgent_help"]
    for path in (PROJECT_ROOT / "nlu" / "data").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if item.get("intent") != "urgent_help":
                texts += [
                    line.strip()[2:]
                    for line in str(item.get("examples") or "").splitlines()
                    if line.strip().startswith("- ")
                ]
    assert len(texts) > 7000
    hits = [t for t in texts if (found := safety.crisis_match(t)) and found.language == "other"]
    assert hits == []


# -- right after a safety reply ------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "I called 911, they are coming",
        "ok",
        "thanks",
        "Merci.",
        "ok thank you",
        "j'ai appelé le 911",
        "ils arrivent",
        "the ambulance is here",
        "i called the police and they're on their way",
        "I'm safe now, thanks",
        "je suis en sécurité",
    ],
)
def test_acknowledgements_after_the_crisis_answer_get_the_short_reply(text: str) -> None:
    assert safety.after_safety_reply(text, "crisis") == safety.AfterSafety.SUPPORT
    assert safety.after_safety_reply(text, "support") == safety.AfterSafety.SUPPORT


@pytest.mark.parametrize(
    "text",
    ["they are coming to kill me", "how long does the program take", "no", "ok but i took pills"],
)
def test_anything_more_after_the_crisis_answer_is_a_new_message(text: str) -> None:
    assert safety.after_safety_reply(text, "crisis") is None


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("no", safety.AfterSafety.CRISIS),
        ("non", safety.AfterSafety.CRISIS),
        ("not really", safety.AfterSafety.CRISIS),
        ("pas vraiment", safety.AfterSafety.CRISIS),
        ("no i'm not safe", safety.AfterSafety.CRISIS),
        ("I called 911, they are coming", safety.AfterSafety.CRISIS),  # something is happening
        ("yes", safety.AfterSafety.SAFE),
        ("yes i'm safe", safety.AfterSafety.SAFE),
        ("oui ça va", safety.AfterSafety.SAFE),
        ("ok thanks", safety.AfterSafety.SAFE),
        ("how long does it take to get a ticket", None),
    ],
)
def test_the_answer_to_are_you_safe(text: str, meaning: safety.AfterSafety | None) -> None:
    assert safety.after_safety_reply(text, "check") == meaning


def test_an_ordinary_reply_before_is_no_safety_context() -> None:
    assert safety.after_safety_reply("no", "") is None
    assert safety.after_safety_reply("", "crisis") is None


@pytest.mark.parametrize(
    ("text", "fear"),
    [
        ("Félek, hogy letartóztatnak a CBSA irodában", True),  # Hungarian
        ("tengo miedo de que me detengan en la oficina", True),  # Spanish
        ("letartóztattak 2019-ben", False),  # a past arrest, no fear: not a flag
        ("i was arrested in 2019 and felt bad about it", False),
    ],
)
def test_detention_fear_in_other_languages(text: str, fear: bool) -> None:
    assert safety.fears_detention(text) is fear
