"""Which language a person writes in, and when the conversation should switch.

Rules (issue 2): the first message sets the language; later, only a clear switch changes it:
an explicit request ("English", "en français", a language button) or a message long enough to
be sure that is plainly in the other language. Short or ambiguous messages ("ok", "1",
"merci") keep the current language, so a French speaker who types "ok" is not flipped to English.

A word-list scorer rather than a statistical detector: SMS text is short, unaccented and full
of abbreviations ("cmb", "jsp", "pls") that general detectors get wrong, and a list is easy to
review and extend.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")

# Words that are frequent in one language and rare in the other. Compared without accents.
_EN_WORDS = frozenset(
    """
    the an and or but is are was were be been am i im i'm you your u ur r my me we our they
    their he she it its it's this that these those what wat wot how hw who why when where which
    can cant can't could would should will wont won't do does did dont don't didnt have has had
    not no yes yeah yep ya please pls plz thanks thank thx ty hello hi hey bye goodbye with
    without for from to of in on at about into if then than so just only also too very much many
    any some get got give go going come back home help need want know idk dunno there here
    program money cash ticket plane apply eligible still open run runs who speak talk
    person someone human english people refugee claim refused family kids children country leave
    return free cost pay paid work live living toronto
    """.split()
)
_FR_WORDS = frozenset(
    """
    allo allô
    le la les un une des du de d l au aux et ou mais est sont etait etre suis es sommes je j jai
    j'ai tu t te toi vous votre vos mon ma mes ton ta tes nous notre il elle ils elles on ce c
    c'est cest ca ça cette ces qui que quoi qu quel quelle quels quelles comment combien cmb
    pourquoi pk pq quand qd ou où avec sans pour par dans sur sous chez si alors donc aussi tres
    très beaucoup peu pas ne n plus rien tout tous tt oui ouais non merci mrc bonjour bjr salut
    slt bonsoir svp stp sil s'il plait plaît aide aider besoin veux veut voudrais peux peut
    pouvez faut sais jsp sait avoir fait faire aller rentrer retour retourner partir programme
    argent billet avion demande asile refuse refusé debouté débouté famille enfants pays quitter
    gratuit payer payé travail vis habite parler quelqu'un quelqu personne francais français
    anglais langue
    """.split()
)

# Explicit requests to use a language. Matched on the whole (normalised) message.
_SWITCH_PATTERNS: dict[Language, re.Pattern[str]] = {
    "en": re.compile(
        r"^(?:(?:in|speak|use|switch to|talk in|reply in|answer in|en|parle[rz]?|parlez)\s+)?"
        r"(?:english|anglais|eng)(?:\s+(?:please|pls|plz|svp|stp|s'il vous plait))?$"
    ),
    "fr": re.compile(
        r"^(?:(?:in|speak|use|switch to|talk in|reply in|answer in|en|parle[rz]?|parlez)\s+)?"
        r"(?:french|francais|fr)(?:\s+(?:please|pls|plz|svp|stp|s'il vous plait))?$"
    ),
}
_MENU_PATTERN = re.compile(r"^(?:language|langue|languages|langues)$")  # also "/language"

# A mid-conversation switch needs this many known words and a clear lead over the other language.
_MIN_WORDS_TO_SWITCH = 3
_MIN_LEAD_TO_SWITCH = 2


def normalise(text: str) -> str:
    """Lowercase, strip accents and punctuation (apostrophes kept), squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    no_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w'\s]", " ", no_accents.replace("’", "'"))
    return " ".join(cleaned.split())


def _strip(word: str) -> str:
    return normalise(word)


_EN = frozenset(_strip(w) for w in _EN_WORDS)
_FR = frozenset(_strip(w) for w in _FR_WORDS)


def scores(text: str) -> dict[Language, int]:
    """How many words of the message belong to each language's list."""
    norm = normalise(text)
    # "j'ai" counts as "j'ai", "j" and "ai"; elisions are a strong French signal.
    tokens = norm.split()
    expanded = tokens + [part for tok in tokens if "'" in tok for part in tok.split("'") if part]
    en = sum(1 for tok in expanded if tok in _EN)
    fr = sum(1 for tok in expanded if tok in _FR)
    # Accented letters are French evidence that survives missing vocabulary.
    if re.search(r"[àâçéèêëîïôûùüÿœ]", text.lower()):
        fr += 1
    return {"en": en, "fr": fr}


def detect(text: str) -> Language | None:
    """The language of a message, or None when the message does not say."""
    s = scores(text)
    if s["en"] == s["fr"]:
        return None
    return "en" if s["en"] > s["fr"] else "fr"


def explicit_switch(text: str) -> Language | None:
    """The language a person explicitly asks for ("English", "en français svp"), if any."""
    norm = normalise(text)
    for lang, pattern in _SWITCH_PATTERNS.items():
        if pattern.match(norm):
            return lang
    return None


def asks_for_language_menu(text: str) -> bool:
    return bool(_MENU_PATTERN.match(normalise(text)))


def resolve(current: Language | None, text: str, hint: str | None, default: Language) -> Language:
    """The language to answer this message in, given the conversation's current one.

    ``hint`` is a channel's guess (Telegram's ``language_code``), used only when the message
    itself does not tell and the conversation has no language yet.
    """
    switch = explicit_switch(text)
    if switch:
        return switch
    if current is None:
        detected = detect(text)
        if detected:
            return detected
        hinted = (hint or "").split("-")[0].lower()
        return hinted if hinted in LANGUAGES else default  # type: ignore[return-value]
    s = scores(text)
    other: Language = "fr" if current == "en" else "en"
    if s[other] >= _MIN_WORDS_TO_SWITCH and s[other] - s[current] >= _MIN_LEAD_TO_SWITCH:
        return other
    return current


# -- languages the assistant does not speak ---------------------------------------------------
#
# Issue 10: a message in Spanish, Hungarian, Portuguese, Chinese... used to get an English or
# French "did you mean" menu. The app now answers such a message itself, in English and French:
# which languages the assistant speaks and how to reach a person (bot/conversation.py).
#
# Deterministic and reviewable, like the EN/FR scorer above: a general statistical detector
# misreads short, unaccented SMS ("ok", "jveux", "cmb"), names and country names, and a wrong
# "we don't speak your language" to an English or French speaker is worse than a menu. So:
# - a message mostly in a non-Latin script (at least 2 letters) is in that script's language;
# - a Latin-script message is foreign only with at least 2 points of evidence for one language
#   (its frequent words, which are not English or French words, then its own letters such as
#   ñ, ő, ã, ș, ł if it has a word), and more evidence for it than for English and for French.

# Unicode script (first word of a letter's Unicode name) -> the language we name for it.
_SCRIPTS: dict[str, str] = {
    "CJK": "zh",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "ARABIC": "ar",
    "CYRILLIC": "ru",
    "GREEK": "el",
    "HEBREW": "he",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "GURMUKHI": "pa",
    "GUJARATI": "gu",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "SINHALA": "si",
    "THAI": "th",
    "LAO": "lo",
    "KHMER": "km",
    "MYANMAR": "my",
    "TIBETAN": "bo",
    "ETHIOPIC": "am",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
}

# Frequent words of each language, without accents, that are NOT English or French words (a
# test checks none is in the EN/FR lists above, and measures false positives on the training
# data). Left out on purpose: short shared words ("de", "la", "no", "si", "en", "a", "e", "na"),
# English or French words ("most", "bien", "favor", "eu", "ile", "dove"), names ("Ben", "Sam",
# "Dan", "Ted", "Leo") and Canadian terms ("sin": social insurance number; "El Salvador").
_FOREIGN_WORDS: dict[str, str] = {
    "es": """hola buenos buenas dias tardes noches gracias necesito ayuda ayudar ayudame quiero
        negaron rechazaron rechazado rechazada
        quisiera puedo puede pueden tengo tiene tienen estoy esta estan somos hablo habla
        hablas hablan espanol usted ustedes por porque pero como donde cuando cuanto cuanta
        los uno del muy mas tambien aqui ahora hoy manana regresar volver pais dinero
        trabajo hijos ninos esposo esposa hermano con para hasta desde hay hacer saber
        programa retorno refugiado asilo solicitud deportacion deportado irme llamo senor
        senora disculpe perdon entiendo ingles frances mi""",
    "pt": """ola obrigado obrigada bom boa dia noite preciso ajuda ajudar quero posso tenho estou
        recusado recusaram negaram
        sou falo fala portugues voce voces vc vcs por porque como onde quando quanto nao
        muito tambem aqui agora hoje amanha voltar pais casa dinheiro trabalho filhos meu
        minha meus minhas sua sem para pra uma das ele ela isso isto esse essa retorno
        refugiado asilo pedido embora sair deportacao entendo ingles frances obg tb bem""",
    "hu": """szia sziasztok szervusz jonapot napot kerem koszonom koszi koszonjuk segitseg
        segitsegre segits segitsen segitseget nem igen hogy van vagyok vagy vannak szeretnek
        szeretnem tudok tudom tudna magyar magyarul beszel beszelek beszelsz angolul
        franciaul haza hazamenni menni akarok kell nekem engem egy mit miert hol mikor
        mennyi penz csalad gyerek gyerekek gyerekeim orszag menekult kerelem elutasitottak
        vissza visszamenni udv legyszi lehet itt ott holnap ezt azt nincs senki valaki""",
    "ro": """buna ziua seara multumesc multumim rog ajutor ajuta ajutati ajutorul vreau sunt este
        pentru acasa bani copii tara romana romaneste vorbesc vorbiti engleza franceza unde
        cand imi ea noi voi foarte acum azi maine aici acolo trebuie putea poate cerere azil
        refugiat intoarcere intoarce plec plecare""",
    "it": """buongiorno buonasera grazie aiuto voglio sono sei gli della dello nella che quando
        quanto perche anche molto oggi domani adesso tornare soldi famiglia figli paese
        italiano parla parlo inglese francese aiutare aiutami richiesta rifugiato mio miei
        tuo questo questa sto""",
    "de": """hallo guten morgen abend danke bitte hilfe ich ist sind habe haben nicht nein und
        oder aber ohne fur auf ein eine einen mein meine wie wo wann warum wer kann konnen
        mochte brauche spreche sprechen deutsch englisch franzosisch geld familie kinder
        zuruck hause heimat asyl antrag abgelehnt heute jetzt das der dem wir sie auch sehr
        noch""",
    "pl": """dzien dobry czesc dziekuje prosze pomoc pomocy chce moge jestem nie tak sie jak
        gdzie kiedy dlaczego pieniadze rodzina dzieci domu wrocic powrot polski polsku mowie
        mowisz angielski francuski azyl wniosek dzisiaj jutro teraz tutaj bardzo moja moje
        moj mnie jego jej oni wy bo""",
    "cs": """dobry dekuji dakujem prosim pomoc chci chcem muzu mozem jsem som neni ano jak kde
        kdy proc preco penize peniaze rodina deti domu domov vratit cesky slovensky mluvim
        hovorim anglicky francouzsky azyl zadost dnes zitra tady velmi moje muj moja ahoj""",
    "hr": """dobar hvala molim pomoc trebam zelim mogu imam nije sto sta kako gdje gde kada zasto
        koliko novac novci obitelj porodica djeca deca kuci kuca vratiti hrvatski srpski
        bosanski engleski francuski govorim azil zahtjev danas sutra sada ovdje ovde jako
        moja moj moje meni zdravo bok""",
    "tr": """merhaba selam tesekkur tesekkurler ederim lutfen yardim istiyorum sen siz onlar var
        yok evet hayir bir nasil nerede zaman neden kac cocuk cocuklar donmek turkce
        ingilizce fransizca konusuyorum iltica basvuru bugun yarin simdi burada cok benim
        bana beni sadece ama icin""",
    "tl": """kumusta magandang umaga hapon gabi salamat po opo tulong tulungan gusto ko ako ikaw
        siya kami tayo sila hindi ang ng mga paano saan kailan bakit ilan magkano pera
        pamilya anak bahay uwi umuwi babalik bumalik tagalog nagsasalita ngayon bukas dito
        doon natin namin niyo ninyo kayo wala meron kailangan pwede puwede naman yung yun
        nga""",
    "vi": """xin chao khong giup muon nha gia dinh tieng viet duoc dau""",
    "sw": """habari jambo asante tafadhali nataka msaada nisaidie ndiyo hapana mimi wewe sisi
        nyumbani pesa watoto kiswahili kiingereza kesho sasa hapa sana""",
    "so": """waan waxaan rabaa caawimaad mahadsanid fadlan aniga adiga lacag qoyska carruur
        guriga soomaali maanta berri hadda halkan iyo""",
    "sq": """pershendetje faleminderit lutem ndihme dua eshte nuk shqip neser""",
}
# One of these alone is enough ("szia", "merhaba"): greetings and thanks nobody writes in English
# or French. Not "hola": English speakers say it too (it is a greeting in the training data).
_FOREIGN_GREETINGS: dict[str, frozenset[str]] = {
    "pt": frozenset({"ola", "obrigado", "obrigada"}),
    "hu": frozenset({"szia", "sziasztok", "szervusz", "jonapot", "koszonom"}),
    "ro": frozenset({"multumesc"}),
    "it": frozenset({"buongiorno", "buonasera"}),
    "pl": frozenset({"dziekuje", "czesc"}),
    "cs": frozenset({"dekuji", "dakujem", "ahoj"}),
    "hr": frozenset({"hvala", "zdravo"}),
    "tr": frozenset({"merhaba", "tesekkurler"}),
    "tl": frozenset({"kumusta", "salamat"}),
    "sw": frozenset({"habari", "asante"}),
    "so": frozenset({"mahadsanid"}),
    "sq": frozenset({"pershendetje", "faleminderit"}),
}
# Letters that French and English do not use, each a point for the languages that do.
_FOREIGN_LETTERS: dict[str, tuple[str, ...]] = {
    "ñ¿¡": ("es",),
    "ãõ": ("pt",),
    "őű": ("hu",),
    "áíóú": ("es", "pt", "hu", "cs"),
    "öü": ("hu", "de", "tr"),
    "ășțţ": ("ro",),
    "ş": ("ro", "tr"),
    "łąężźśćń": ("pl",),
    "řěůťďň": ("cs",),
    "čšž": ("cs", "hr"),
    "đ": ("hr", "vi"),
    "ğı": ("tr",),
    "ß": ("de",),
    "ơư": ("vi",),
}

_FOREIGN = {code: frozenset(words.split()) for code, words in _FOREIGN_WORDS.items()}
_MIN_FOREIGN_EVIDENCE = 2
_MIN_SCRIPT_LETTERS = 2


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return "LATIN" if name.startswith("LATIN") else name.split(" ", 1)[0]


def _script_language(text: str) -> str | None:
    """The language of a message written mostly in a non-Latin script."""
    letters = [_script(ch) for ch in text if ch.isalpha()]
    others = [s for s in letters if s != "LATIN"]
    if len(others) < _MIN_SCRIPT_LETTERS or len(others) * 2 < len(letters):
        return None
    if "HIRAGANA" in others or "KATAKANA" in others:
        return "ja"  # Japanese mixes kana with Chinese characters
    top = max(set(others), key=others.count)
    return _SCRIPTS.get(top, "other")


def foreign_scores(text: str) -> dict[str, int]:
    """Evidence for each language the assistant does not speak (Latin script only)."""
    tokens = normalise(text).split()
    lowered = text.lower()
    found: dict[str, int] = {}
    for code, words in _FOREIGN.items():
        score = sum(1 for tok in tokens if tok in words)
        score += sum(2 for tok in tokens if tok in _FOREIGN_GREETINGS.get(code, ()))
        if score:
            found[code] = score
    # Letters only add to a language that has a word in the message: a name or a place alone
    # ("São Tomé e Príncipe", "Đorđe Petrović") is not a message in another language.
    for letters, codes in _FOREIGN_LETTERS.items():
        if any(ch in lowered for ch in letters):
            for code in codes:
                if code in found:
                    found[code] += 1
    # Vietnamese stacks tone marks on vowels (ạ ả ấ ầ...: the Latin Extended Additional block).
    if "vi" in found and any("\u1ea0" <= ch <= "\u1ef9" for ch in lowered):
        found["vi"] += 1
    return found


def unsupported_language(text: str) -> str | None:
    """The language (ISO 639-1 code, or "other" for an unnamed script) of a message clearly
    written in a language other than English or French; None when it is not clear."""
    by_script = _script_language(text)
    if by_script is not None:
        return by_script
    found = foreign_scores(text)
    if not found:
        return None
    code = max(found, key=lambda c: found[c])
    ours = scores(text)
    if found[code] >= _MIN_FOREIGN_EVIDENCE and found[code] > max(ours["en"], ours["fr"]):
        return code
    return None
