"""Messages in a language the assistant does not speak (issue 10, item 6): detected without
misfiring on English or French, and answered by the app in both languages."""

from __future__ import annotations

import pytest
import yaml

from bot import language
from bot.conversation import Command, engine_input
from bot.settings import PROJECT_ROOT

FOREIGN = [
    # Spanish, Portuguese, Hungarian, Chinese: the languages of the issue
    ("es", "hola necesito ayuda para volver a mi pais"),
    ("es", "Buenos días, ¿me pueden ayudar? No hablo inglés."),
    ("es", "quiero regresar a colombia con mis hijos, cuanto dinero dan"),
    ("es", "me negaron el asilo y no se que hacer"),
    ("pt", "olá, preciso de ajuda para voltar ao brasil"),
    ("pt", "Bom dia, eu não falo inglês. Vocês podem me ajudar?"),
    ("pt", "quero voltar pra casa com minha família"),
    ("hu", "Jó napot, segítségre van szükségem"),
    ("hu", "szia, nem beszélek angolul"),
    ("hu", "haza szeretnék menni Magyarországra a gyerekeimmel"),
    ("hu", "koszonom"),
    ("zh", "我想回家"),
    ("zh", "你好，我需要帮助，我的难民申请被拒绝了"),
    ("zh", "谢谢"),
    # Other languages of people who claimed asylum in Canada
    ("ro", "Bună ziua, vreau să mă întorc acasă"),
    ("ro", "buna ziua am nevoie de ajutor, nu vorbesc engleza"),
    ("ar", "مرحبا، أريد المساعدة للعودة إلى بلدي"),
    ("ar", "شكرا"),
    ("ru", "Здравствуйте, мне нужна помощь"),
    ("tl", "kumusta po, gusto ko pong umuwi sa pilipinas"),
    ("tl", "salamat po"),
    ("tr", "Merhaba, yardım istiyorum"),
    ("pl", "Dzień dobry, potrzebuję pomocy"),
    ("cs", "dobrý den, chci se vrátit domů"),
    ("hr", "zdravo, trebam pomoć, želim se vratiti kući"),
    ("de", "Guten Tag, ich brauche Hilfe"),
    ("it", "buongiorno, voglio tornare a casa"),
    ("vi", "Xin chào, tôi cần giúp đỡ"),
    ("vi", "tôi muốn về nhà"),
    ("sw", "habari, nataka msaada tafadhali"),
    ("so", "waxaan rabaa caawimaad fadlan"),
    ("ja", "こんにちは、助けてください"),
    ("ko", "안녕하세요 도와주세요"),
    ("am", "ሰላም እርዳታ እፈልጋለሁ"),
    ("hi", "नमस्ते मुझे मदद चाहिए"),
    ("el", "Γεια σας, χρειάζομαι βοήθεια"),
]

ENGLISH_OR_FRENCH = [
    "Hungary",
    "I am from Hungary",
    "im from hungary, can i go back",
    "je viens de Hongrie",
    "oui",
    "ok",
    "1",
    "no",
    "si",
    "hola",  # English speakers say it too: the greet intent
    "gracias",
    "ciao",
    "merci",
    "cmb",
    "jsp",
    "pls help",
    "thx",
    "my name is José Fernández",
    "je m'appelle María González",
    "I want to go back to São Paulo",
    "je retourne à Bogotá",
    "Kraków",
    "Łódź",
    "Budapest",
    "São Tomé e Príncipe",
    "Đorđe Petrović",
    "Szabó László",
    "Türkiye",
    "Nguyễn Văn Thắng",
    "jsuis déjà parti",
    "ça coûte combien",
    "où est le bureau",
    "wat if i change my mind",
    "c quoi ce programme",
    "hello 你好",
    "👍👍",
    "STOP",
    "HUMAIN",
    "agent",
    "asdfgh",
    "how do i get a sin number",
    "my kids are in buenos aires",
    "can you do me a favor",
    "most people in my van",
    "um my sim card is broken",
    "j'ai eu peur",
    "j'ai mal au dos",
    "je suis las",
    "El Salvador",
]


@pytest.mark.parametrize(("expected", "text"), FOREIGN)
def test_messages_in_other_languages_are_recognised(expected: str, text: str) -> None:
    assert language.unsupported_language(text) == expected


@pytest.mark.parametrize("text", ENGLISH_OR_FRENCH)
def test_short_english_and_french_names_and_countries_are_not_foreign(text: str) -> None:
    assert language.unsupported_language(text) is None


def _own_messages() -> list[str]:
    """Every English and French message the project has: training data and the dev set (the
    blind test set is left alone)."""
    paths = sorted((PROJECT_ROOT / "nlu" / "data").glob("*.yml"))
    paths += sorted((PROJECT_ROOT / "nlu" / "eval").glob("dev_*.yml"))
    texts = []
    for path in paths:
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in block:
                texts += [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip()]
    return texts


def test_no_false_positive_on_the_english_and_french_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    texts = _own_messages()
    wrong = [(t, language.unsupported_language(t)) for t in texts]
    wrong = [(t, code) for t, code in wrong if code is not None]
    with capsys.disabled():
        print(f"\n[language] other-language false positives: {len(wrong)}/{len(texts)}")
    assert len(texts) > 5000
    assert wrong == []


def test_foreign_word_lists_hold_no_english_or_french_word() -> None:
    vocabulary = {word for text in _own_messages() for word in language.normalise(text).split()}
    for code, words in language._FOREIGN.items():
        assert not words & (language._EN | language._FR), code
        # Words of the EN/FR data: only Spanish greetings ("hola"; "buenos aires").
        assert words & vocabulary <= {"hola", "buenos"}, code


INTENTS = frozenset({"program_what", "human_handoff"})


@pytest.mark.parametrize("current", ["en", "fr", None])
def test_the_keyword_layer_answers_another_language_itself(current: str | None) -> None:
    step = engine_input("hola necesito ayuda por favor", current, None, "en", INTENTS)  # type: ignore[arg-type]
    assert step.command == Command.UNSUPPORTED_LANGUAGE
    assert step.language == (current or "en")  # the conversation's language does not change


def test_keywords_and_buttons_still_win_over_the_detector() -> None:
    assert engine_input("HUMAIN", None, None, "en", INTENTS).text == "/human_handoff"
    assert engine_input("/human_handoff", "en", None, "en", INTENTS).command is None
    assert engine_input("/program_what", "en", None, "en", INTENTS).command is None
    assert engine_input("je veux rentrer chez moi", None, None, "en", INTENTS).command is None
