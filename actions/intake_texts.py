"""Every text of the intake, in English and Canadian French.

Each entry is one message; ``tests/unit/test_intake_texts.py`` checks that both languages
exist and that each message fits in 3 SMS segments (``bot/sms.py``). Program facts cited:
§5.8 (information shared with CBSA), Q32 (fear of return: legal advice first).
"""

from __future__ import annotations

from actions.i18n import Language

# Change this whenever the consent wording below changes: each consent is stored with it.
CONSENT_VERSION = "2026-11-27.1"

Texts = dict[str, dict[Language, str]]

TEXTS: Texts = {
    # -- consent (three messages: what and why; who sees it; the question) ----------------
    "consent_what": {
        "en": "Before we start: I will ask about 15 short questions about your situation "
        "(where you live, your refugee claim, who travels with you, your needs), so that a "
        "program caseworker can understand your case and contact you about your options.",
        "fr": "Avant de commencer : je vais vous poser environ 15 courtes questions sur votre "
        "situation, pour qu'un intervenant du programme puisse vous joindre au sujet de vos "
        "options.",
    },
    "consent_who": {
        "en": "Who sees your answers: the program's caseworkers. The program is a partnership "
        "with the Canada Border Services Agency (CBSA), so information about your case may be "
        "shared with the CBSA. Your answers are kept for your case until you ask us to delete "
        "them.",
        "fr": "Vos réponses sont vues par les intervenants. Le programme est un partenariat "
        "avec l'ASFC : elles peuvent lui être transmises. Elles sont gardées jusqu'à ce que "
        "vous demandiez leur suppression.",
    },
    "consent_ask": {
        "en": "Answering is voluntary: you can skip a question, stop at any time (write STOP) "
        "or ask us to delete your answers. Do you agree to continue?",
        "fr": "Répondre est volontaire : vous pouvez passer une question, arrêter en tout temps "
        "(écrivez ARRET) ou demander la suppression de vos réponses. Acceptez-vous de "
        "continuer?",
    },
    "consent_example": {
        "en": "Please answer yes or no.",
        "fr": "Veuillez répondre oui ou non.",
    },
    "consent_pilot_closed": {
        "en": "This is not an application to the 2012-2015 pilot, which is closed.",
        "fr": "Ce n'est pas une demande au projet pilote de 2012-2015, qui est terminé.",
    },
    # -- questions ---------------------------------------------------------------------
    "ask_first_name": {
        "en": 'Thank you. What first name should we use for you? (You can write "skip".)',
        "fr": "Merci. Quel prénom voulez-vous qu'on utilise? (Vous pouvez écrire « passer ».)",
    },
    "ex_first_name": {
        "en": 'For example: "Ana", or "skip".',
        "fr": "Par exemple : « Ana », ou « passer ».",
    },
    "ask_location": {
        "en": "Do you live in the Greater Toronto Area (GTA)? If not, in which city?",
        "fr": "Habitez-vous dans la région du Grand Toronto (RGT)? Sinon, dans quelle ville?",
    },
    "ex_location": {
        "en": 'For example: "yes", "Brampton" or "no, Ottawa".',
        "fr": "Par exemple : « oui », « Brampton » ou « non, Ottawa ».",
    },
    "ask_status": {
        "en": "Which best describes your immigration situation?",
        "fr": "Qu'est-ce qui décrit le mieux votre situation d'immigration?",
    },
    "ex_status": {
        "en": 'Please choose one of the options, for example "1" or "claim refused".',
        "fr": "Veuillez choisir une des options, par exemple « 1 » ou « demande refusée ».",
    },
    "ask_decision_date": {
        "en": "If you know it, what is the date of the final decision or of the removal "
        'order? (You can write "I don\'t know".)',
        "fr": "Si vous la connaissez, quelle est la date de la décision finale ou de la "
        "mesure de renvoi? (Vous pouvez écrire « je sais pas ».)",
    },
    "ex_decision_date": {
        "en": 'For example: "March 3", "03/03/2026" or "last week".',
        "fr": "Par exemple : « 3 mars », « 03/03/2026 » ou « la semaine dernière ».",
    },
    "ask_citizenship": {
        "en": "What is your country of citizenship?",
        "fr": "De quel pays avez-vous la citoyenneté?",
    },
    "ex_citizenship": {
        "en": 'Please write the country name, for example "Hungary" or "Mexico".',
        "fr": "Écrivez le nom du pays, par exemple « Hongrie » ou « Mexique ».",
    },
    "ask_return_country": {
        "en": 'Which country do you want to return to? You can write "same".',
        "fr": "Dans quel pays voulez-vous retourner? Vous pouvez écrire « le même ».",
    },
    "ex_return_country": {
        "en": 'For example: "same" or "Colombia".',
        "fr": "Par exemple : « le même » ou « Colombie ».",
    },
    "ask_party": {
        "en": "Who would travel with you? How many adults and children, counting you?",
        "fr": "Qui voyagerait avec vous? Combien d'adultes et d'enfants, en vous comptant?",
    },
    "ex_party": {
        "en": 'For example: "just me", "me and 2 kids" or "2 adults, 1 child".',
        "fr": "Par exemple : « seul », « moi et 2 enfants » ou « 2 adultes, 1 enfant ».",
    },
    "ask_age": {
        "en": 'How old are you? (You can write "skip".)',
        "fr": "Quel âge avez-vous? (Vous pouvez écrire « passer ».)",
    },
    "ex_age": {
        "en": 'Please write your age in years, for example "34", or "skip".',
        "fr": "Écrivez votre âge en années, par exemple « 34 », ou « passer ».",
    },
    "ask_passport": {
        "en": "Do you have a valid passport or travel document?",
        "fr": "Avez-vous un passeport ou un titre de voyage valide?",
    },
    "ex_passport": {
        "en": "Please answer yes, no or I don't know.",
        "fr": "Veuillez répondre oui, non ou je sais pas.",
    },
    "ask_health": {
        "en": "Do you, or anyone travelling with you, have health or mobility needs for the "
        'trip? Describe them briefly, or write "no".',
        "fr": "Vous ou une personne qui voyage avec vous avez-vous des besoins de santé ou de "
        "mobilité pour le voyage? Décrivez-les brièvement, ou écrivez « non ».",
    },
    "ex_health": {
        "en": 'For example: "no" or "I use a wheelchair".',
        "fr": "Par exemple : « non » ou « j'ai besoin d'un fauteuil roulant ».",
    },
    "ask_safety": {
        "en": "Do you have concerns about your safety if you return?",
        "fr": "Craignez-vous pour votre sécurité si vous retournez?",
    },
    "ex_safety": {
        "en": "Please answer yes, no or prefer not to say.",
        "fr": "Veuillez répondre oui, non ou je préfère ne pas le dire.",
    },
    "safety_note": {  # Q32
        "en": "Thank you for telling me. If you fear for your safety, please speak with a "
        "lawyer or legal clinic about your legal options before making any decision.",
        "fr": "Merci de me le dire. Si vous craignez pour votre sécurité, consultez un avocat "
        "ou une clinique juridique au sujet de vos recours avant de prendre une décision.",
    },
    "ask_criminality": {
        "en": "Have you been charged with or convicted of a crime in Canada? You don't have "
        "to answer. This answer alone decides nothing: a caseworker reviews every case.",
        "fr": "Avez-vous été accusé ou reconnu coupable d'un crime au Canada? Vous n'êtes pas "
        "obligé de répondre. Cette réponse ne décide rien : un intervenant examine chaque cas.",
    },
    "ex_criminality": {
        "en": "Please answer yes, no or prefer not to say.",
        "fr": "Veuillez répondre oui, non ou je préfère ne pas le dire.",
    },
    "ask_prior_return": {
        "en": "Have you had help with an assisted return before, from any country?",
        "fr": "Avez-vous déjà reçu une aide au retour, de n'importe quel pays?",
    },
    "ex_prior_return": {
        "en": "Please answer yes, no or I don't know.",
        "fr": "Veuillez répondre oui, non ou je sais pas.",
    },
    "ask_contact": {
        "en": 'How and when can a caseworker contact you? For example: "here, weekday evenings".',
        "fr": "Comment et quand un intervenant peut-il vous joindre? Par exemple : « ici, "
        "en soirée la semaine ».",
    },
    "ex_contact": {
        "en": 'For example: "here, any time" or "mornings".',
        "fr": "Par exemple : « ici, n'importe quand » ou « le matin ».",
    },
    "ask_phone": {
        "en": "If you wish, share a phone number a caseworker can call. This is optional: "
        'write "skip" if you prefer to stay here.',
        "fr": "Si vous le souhaitez, donnez un numéro de téléphone où un intervenant peut "
        "vous appeler. C'est facultatif : écrivez « passer » pour rester ici.",
    },
    "ex_phone": {
        "en": 'That number does not look valid. For example: "416 555 0123", or "skip".',
        "fr": "Ce numéro ne semble pas valide. Par exemple : « 416 555 0123 », ou « passer ».",
    },
    "ask_notes": {
        "en": 'Is there anything else you want the caseworker to know? (Write "no" if not.)',
        "fr": "Voulez-vous dire autre chose à l'intervenant? (Écrivez « non » sinon.)",
    },
    "ex_notes": {
        "en": 'Write your message, or "no".',
        "fr": "Écrivez votre message, ou « non ».",
    },
    "skipped": {
        "en": "OK, let's skip that question.",
        "fr": "D'accord, on passe cette question.",
    },
    "not_understood": {
        "en": "Sorry, I didn't understand that answer.",
        "fr": "Désolé, je n'ai pas compris cette réponse.",
    },
    # -- summary and correction --------------------------------------------------------
    "summary_title": {"en": "Here are your answers:", "fr": "Voici vos réponses :"},
    "summary_sms": {
        "en": "I have your answers to {count} questions. To protect your privacy on a shared "
        "phone, I won't repeat them here.",
        "fr": "J'ai vos réponses à {count} questions. Pour protéger votre vie privée, je ne "
        "les répète pas ici.",
    },
    "confirm_ask": {
        "en": 'Reply "send" to send them to a caseworker, or tell me what to change (for '
        'example "change country").',
        "fr": "Répondez « envoyer » pour les transmettre à un intervenant, ou dites-moi quoi "
        "corriger (par exemple « corriger le pays »).",
    },
    "confirm_which": {
        "en": 'Which answer do you want to change? For example "change country" or "change '
        'date". Or reply "send".',
        "fr": "Quelle réponse voulez-vous corriger? Par exemple « corriger le pays » ou "
        "« corriger la date ». Ou répondez « envoyer ».",
    },
    "confirm_change_ok": {"en": "OK, let's change that.", "fr": "D'accord, corrigeons cela."},
    "confirm_choices": {
        "en": "Please choose: send your answers as they are, or the answer you want to change.",
        "fr": "Choisissez : envoyer vos réponses telles quelles, ou la réponse à corriger.",
    },
    "as_written": {"en": '"{value}" (as you wrote it)', "fr": "« {value} » (tel quel)"},
    # -- the end of the form -----------------------------------------------------------
    "declined": {
        "en": "OK, I won't ask you any personal questions, and nothing was kept. You can still "
        "ask me about the program, or ask to talk to a person.",
        "fr": "D'accord, je ne vous poserai aucune question personnelle et rien n'a été "
        "conservé. Vous pouvez encore me poser des questions ou demander à parler à une "
        "personne.",
    },
    "paused": {
        "en": 'OK, we can stop here. I saved your answers. Write "continue" when you want to '
        'go on, or "start over".',
        "fr": "D'accord, on arrête ici. J'ai gardé vos réponses. Écrivez « continuer » quand "
        "vous voulez reprendre, ou « recommencer ».",
    },
    "stuck": {
        "en": "I'm not sure what you want to do, so I have not sent anything. Your answers are "
        'saved: write "continue" to see them again, or ask to talk to a person.',
        "fr": "Je ne suis pas sûr de ce que vous voulez faire, alors je n'ai rien envoyé. Vos "
        "réponses sont gardées : écrivez « continuer » pour les revoir, ou demandez à parler "
        "à une personne.",
    },
    "restarted": {
        "en": "OK, let's start over. I cleared your earlier answers.",
        "fr": "D'accord, on recommence. J'ai effacé vos réponses précédentes.",
    },
    "no_question_to_skip": {
        "en": "There is no question in progress right now. You can ask me about the program, "
        'or write "I want to go home" to start.',
        "fr": "Il n'y a pas de question en cours. Vous pouvez me poser des questions sur le "
        "programme, ou écrire « je veux rentrer chez moi » pour commencer.",
    },
    "sent_likely_eligible": {
        "en": "Thank you. I sent your answers to the program's caseworkers. Your situation "
        "looks like the one the program was designed for; only the CBSA could decide "
        "eligibility, and a caseworker will explain your options.",
        "fr": "Merci. J'ai transmis vos réponses aux intervenants. Votre situation ressemble à "
        "celle que visait le programme; seule l'ASFC décidait de l'admissibilité.",
    },
    "sent_needs_review": {
        "en": "Thank you. I sent your answers to the program's caseworkers. Some of your "
        "answers need a caseworker to look at them more closely.",
        "fr": "Merci. J'ai transmis vos réponses aux intervenants. Certaines réponses doivent "
        "être examinées de plus près par un intervenant.",
    },
    "sent_likely_not_eligible": {
        "en": "Thank you. I sent your answers to the program's caseworkers. From your answers, "
        "this program may not fit your situation, but a caseworker will still look at them. "
        "A lawyer or legal clinic can also advise you on other options.",
        "fr": "Merci. J'ai transmis vos réponses. Ce programme ne correspond "
        "peut-être pas à votre situation, mais un intervenant va les examiner. Un avocat ou "
        "une clinique juridique peut vous conseiller.",
    },
    "next_steps": {
        "en": "A caseworker will reply here as soon as possible. Meanwhile, you can keep "
        "asking me questions, or ask to talk to a person.",
        "fr": "Un intervenant vous répondra ici dès que possible. En attendant, vous pouvez "
        "me poser d'autres questions ou demander à parler à une personne.",
    },
    "sent_failed": {
        "en": "Sorry, I could not send your answers just now. They are saved. Please write "
        '"continue" in a few minutes to try again.',
        "fr": "Désolé, je n'ai pas pu transmettre vos réponses pour l'instant. Elles sont "
        "gardées. Écrivez « continuer » dans quelques minutes pour réessayer.",
    },
    # -- interruptions and coming back -------------------------------------------------
    "handoff_in_form": {
        "en": "OK. I passed your request to the program's caseworkers, with the answers you "
        "gave so far. A caseworker will reply here as soon as possible. Meanwhile, you can "
        'keep answering, or write "later" to stop.',
        "fr": "D'accord. J'ai transmis votre demande aux intervenants, avec vos réponses. Un "
        "intervenant vous répondra ici dès que possible. D'ici là, vous pouvez continuer ou "
        "écrire « plus tard ».",
    },
    "welcome_back": {
        "en": "Welcome back. You started answering my questions earlier. Do you want to "
        "continue where you left off, or start over?",
        "fr": "Bon retour. Vous aviez commencé à répondre à mes questions. Voulez-vous "
        "continuer là où vous étiez, ou recommencer?",
    },
    "already_sent": {
        "en": "You already sent your answers to a caseworker. Do you want to start over to "
        "update them?",
        "fr": "Vous avez déjà transmis vos réponses à un intervenant. Voulez-vous recommencer "
        "pour les mettre à jour?",
    },
    "nothing_to_continue": {
        "en": "There are no saved answers to continue, so let's start.",
        "fr": "Il n'y a pas de réponses à reprendre, alors commençons.",
    },
    # -- buttons -----------------------------------------------------------------------
    "btn_yes": {"en": "Yes", "fr": "Oui"},
    "btn_no": {"en": "No", "fr": "Non"},
    "btn_dont_know": {"en": "I don't know", "fr": "Je sais pas"},
    "btn_prefer_not": {"en": "Prefer not to say", "fr": "Je préfère ne pas le dire"},
    "btn_skip": {"en": "Skip", "fr": "Passer"},
    "btn_same": {"en": "Same country", "fr": "Le même pays"},
    "btn_send": {"en": "Send", "fr": "Envoyer"},
    "btn_change": {"en": "Change an answer", "fr": "Corriger une réponse"},
    "btn_continue": {"en": "Continue", "fr": "Continuer"},
    "btn_restart": {"en": "Start over", "fr": "Recommencer"},
    "btn_person": {"en": "Talk to a person", "fr": "Parler à une personne"},
    "status_refused": {"en": "Claim refused", "fr": "Demande refusée"},
    "status_appeal_pending": {"en": "Appeal or review pending", "fr": "Appel ou examen en cours"},
    "status_removal_order": {"en": "Removal order received", "fr": "Mesure de renvoi reçue"},
    "status_withdrawn": {"en": "Claim withdrawn", "fr": "Demande retirée"},
    "status_other": {"en": "Other", "fr": "Autre"},
    "status_unknown": {"en": "I don't know", "fr": "Je sais pas"},
}

# The summary's field and value labels are in bot/intake/vocabulary.py (one vocabulary).


def text(key: str, language: Language, **values: object) -> str:
    template = TEXTS[key][language]
    return template.format(**values) if values else template
