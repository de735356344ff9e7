"""Messages the app itself sends (not the assistant's answers, which live in nlu/domain/).

Every key has an English and a French text; ``tests/unit/test_i18n.py`` enforces it and measures
the SMS cost of each.
"""

from __future__ import annotations

from bot.language import Language

MESSAGES: dict[str, dict[Language, str]] = {
    # Sent once when Rasa does not answer; the message is kept and answered when it is back.
    "engine_unavailable": {
        "en": "Thanks, we got your message. The assistant is briefly unavailable and will "
        "answer you shortly.",
        "fr": "Merci, nous avons bien reçu votre message. L'assistant est momentanément "
        "indisponible et vous répondra sous peu.",
    },
    # Keyword layer (bot/keywords.py). Short: they go out by SMS, measured in tests.
    "opted_out": {
        "en": "You will get no more messages from us. To start again, reply START.",
        "fr": "Vous ne recevrez plus de messages de notre part. Pour recommencer, "
        "répondez REPRENDRE.",
    },
    "opted_in": {
        "en": "Welcome back. You can ask your questions again. Reply STOP to stop messages.",
        "fr": "Bon retour. Vous pouvez de nouveau poser vos questions. Répondez ARRET pour "
        "ne plus recevoir de messages.",
    },
    "help": {
        "en": "Automated assistant of the AVRR program (IOM with CBSA, Toronto area). "
        "Reply HUMAN to reach a caseworker. Reply STOP to stop messages.",
        "fr": "Assistant automatisé du programme AVRR (OIM avec l'ASFC, région de Toronto). "
        "Répondez HUMAIN pour joindre un intervenant, ARRET pour ne plus rien recevoir.",
    },
    # A message clearly in another language (bot/language.py: unsupported_language): the same
    # reply in both languages, the conversation's language first, with a person button.
    "unsupported_language": {
        "en": "Sorry, I can only answer in English or French. To reach a person, reply HUMAN "
        "or use the button.\nDésolé, je réponds seulement en anglais ou en français. Pour "
        "joindre une personne, répondez HUMAIN ou utilisez le bouton.",
        "fr": "Désolé, je réponds seulement en anglais ou en français. Pour joindre une "
        "personne, répondez HUMAIN ou utilisez le bouton.\nSorry, I can only answer in English "
        "or French. To reach a person, reply HUMAN or use the button.",
    },
    "person_button_bilingual": {
        "en": "Talk to a person / Parler à une personne",
        "fr": "Parler à une personne / Talk to a person",
    },
    "text_only": {
        "en": "Sorry, I can only read text. Please write your question in a message.",
        "fr": "Désolé, je peux seulement lire du texte. Écrivez votre question dans un message.",
    },
    "delete_ask": {
        "en": "Erase all your messages and answers? Nothing more will be sent to you after.",
        "fr": "Effacer tous vos messages et réponses? Plus rien ne vous sera envoyé ensuite.",
    },
    "delete_yes": {"en": "Erase my data", "fr": "Effacer mes données"},
    "delete_no": {"en": "Keep my data", "fr": "Garder mes données"},
    "delete_kept": {
        "en": "OK, nothing was erased.",
        "fr": "D'accord, rien n'a été effacé.",
    },
    # The receipt of a completed erasure (bot/erasure.py): the reference is the person's proof,
    # and what to quote if they ask about it. "{reference}" is "ER-XXXX-XXXX".
    "erased": {
        "en": "Your messages and answers were erased. Receipt reference: {reference}. "
        "Keep it if you want proof. Nothing more will be sent to you.",
        "fr": "Vos messages et réponses ont été effacés. Référence du reçu : {reference}. "
        "Gardez-la comme preuve. Plus rien ne vous sera envoyé.",
    },
    # Rate limits (bot/ratelimit.py, bot/channels/web.py): the web chat shows them as the
    # answer to a refused message. Danger still has its way out (content/crisis.yml: 911).
    "rate_limited": {
        "en": "You are sending messages too quickly. Please wait a moment and try again. "
        "If you are in danger now, call 911.",
        "fr": "Vous envoyez des messages trop rapidement. Attendez un instant, puis "
        "réessayez. Si vous êtes en danger maintenant, composez le 911.",
    },
    "contact_rate_limited": {
        "en": "Many requests to talk to a person came from your connection, so we cannot take "
        "this one right now. Please try again later. If you are in danger now, call 911.",
        "fr": "Beaucoup de demandes pour parler à une personne sont venues de votre "
        "connexion : nous ne pouvons pas prendre celle-ci pour le moment. Veuillez réessayer "
        "plus tard. Si vous êtes en danger maintenant, composez le 911.",
    },
    # WhatsApp numbered options: this line, then "*1* <title>" on a line each.
    "whatsapp_options_intro": {
        "en": "Reply with the number of your choice:",
        "fr": "Répondez avec le numéro de votre choix :",
    },
    # What the operator's approved WhatsApp template says (bot/channels/window.py): sent by its
    # content SID outside the 24-hour window; this text is the record of it in the conversation.
    "whatsapp_notice": {
        "en": "You have a new message from the AVRR program. Reply to this message to read it.",
        "fr": "Vous avez un nouveau message du programme AVRR. Répondez à ce message pour le lire.",
    },
    # SMS numbered options: "Reply 1 for <title>, 2 for <title>."
    "options_intro": {"en": "Reply", "fr": "Répondez"},
    "options_item": {"en": "{n} for {title}", "fr": "{n} pour {title}"},
}


def t(key: str, language: Language) -> str:
    return MESSAGES[key][language]


def both(key: str) -> str:
    """English, then French: for an answer given before the person's language is known."""
    return f"{MESSAGES[key]['en']} / {MESSAGES[key]['fr']}"
