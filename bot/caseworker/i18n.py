"""Words of the caseworker UI in English and French, and the texts sent to people.

``UI`` is the web app (the caseworker picks the language); ``CANNED`` and ``STATUS`` are sent to
the person in *their* language and are measured as SMS in ``tests/unit/test_caseworker_i18n.py``.
Canned replies state no program facts (amounts, rules): a caseworker adds those themselves.
"""

from __future__ import annotations

from bot.intake import vocabulary

LANGUAGES = ("en", "fr")

UI: dict[str, dict[str, str]] = {
    "app_title": {"en": "Caseworker queue", "fr": "File des intervenants"},
    "skip": {"en": "Skip to main content", "fr": "Aller au contenu principal"},
    "username": {"en": "Username", "fr": "Nom d'utilisateur"},
    "password": {"en": "Password", "fr": "Mot de passe"},
    "log_in": {"en": "Log in", "fr": "Se connecter"},
    "log_out": {"en": "Log out", "fr": "Se déconnecter"},
    "login_failed": {
        "en": "Sign-in failed: wrong username or password, or too many failed attempts "
        "(sign-in is then paused for a while). Try again later or ask an administrator.",
        "fr": "Connexion impossible : nom d'utilisateur ou mot de passe incorrect, ou trop de "
        "tentatives échouées (la connexion est alors suspendue pour un moment). Réessayez plus "
        "tard ou demandez à un administrateur.",
    },
    "login_throttled": {
        "en": "Too many sign-in attempts from this network. Wait a few minutes and try again.",
        "fr": "Trop de tentatives de connexion depuis ce réseau. Attendez quelques minutes et "
        "réessayez.",
    },
    "session_expired": {
        "en": "Your session has expired. Please log in again.",
        "fr": "Votre session a expiré. Veuillez vous reconnecter.",
    },
    "csrf_failed": {
        "en": "This form has expired. Go back, reload the page and try again.",
        "fr": "Ce formulaire a expiré. Revenez en arrière, rechargez la page et réessayez.",
    },
    "forbidden": {
        "en": "Your role does not give access to this page.",
        "fr": "Votre rôle ne donne pas accès à cette page.",
    },
    "not_found": {"en": "Not found.", "fr": "Introuvable."},
    "language": {"en": "Language", "fr": "Langue"},
    "queue": {"en": "Queue", "fr": "File"},
    # Erasure at a person's request by phone or in person (supervisors: routes/supervisor.py).
    "erase_title": {"en": "Erase this person's data", "fr": "Effacer les données de la personne"},
    "erase_hint": {
        "en": "For a request by phone or in person. Erases the conversations, intake, referrals "
        "and notes here, the assistant's memory, and the messages at Twilio and Telegram where "
        "possible. The person gets a receipt reference. This cannot be undone.",
        "fr": "Pour une demande par téléphone ou en personne. Efface les conversations, "
        "l'accueil, les demandes et les notes ici, la mémoire de l'assistant, et les messages "
        "chez Twilio et Telegram lorsque c'est possible. La personne reçoit une référence de "
        "reçu. Cette action est irréversible.",
    },
    "erase": {"en": "Erase…", "fr": "Effacer…"},
    "erase_confirm_title": {
        "en": "Erase everything about this person?",
        "fr": "Tout effacer au sujet de cette personne?",
    },
    "erase_confirm": {"en": "Yes, erase now", "fr": "Oui, effacer maintenant"},
    "erase_cancel": {"en": "No, go back", "fr": "Non, revenir"},
    "erased_done": {"en": "Erased.", "fr": "Effacé."},
    "reference": {"en": "Reference", "fr": "Référence"},
    "erased_give": {
        "en": "Give this reference to the person if they ask for proof; the audit log keeps it. "
        "Anything not finished yet (Twilio, Telegram) is retried until done.",
        "fr": "Donnez cette référence à la personne si elle demande une preuve; le journal "
        "d'audit la conserve. Ce qui n'est pas encore terminé (Twilio, Telegram) est réessayé "
        "jusqu'à la fin.",
    },
    "erased_notice": {
        "en": "This referral was erased at the person's request.",
        "fr": "Cette demande a été effacée à la demande de la personne.",
    },
    "audit_log": {"en": "Audit log", "fr": "Journal d'audit"},
    "export": {"en": "Export", "fr": "Exporter"},
    "numbers": {"en": "Numbers", "fr": "Chiffres"},
    "accounts": {"en": "Accounts", "fr": "Comptes"},
    "signed_in_as": {"en": "Signed in as", "fr": "Connecté en tant que"},
    # queue
    "filters": {"en": "Filters", "fr": "Filtres"},
    "apply": {"en": "Apply", "fr": "Appliquer"},
    "any": {"en": "Any", "fr": "Tous"},
    "status": {"en": "Status", "fr": "Statut"},
    "channel": {"en": "Channel", "fr": "Canal"},
    "screening": {"en": "Screening", "fr": "Présélection"},
    "assignee": {"en": "Assigned to", "fr": "Assigné à"},
    "me": {"en": "Me", "fr": "Moi"},
    "unassigned": {"en": "Unassigned", "fr": "Non assigné"},
    "active": {"en": "Open or claimed", "fr": "Ouvert ou pris en charge"},
    "waiting_since": {"en": "Waiting since", "fr": "En attente depuis"},
    "priority": {"en": "Priority", "fr": "Priorité"},
    "kind": {"en": "Type", "fr": "Type"},
    "flags": {"en": "Flags", "fr": "Signalements"},
    "no_referrals": {
        "en": "No referrals match these filters.",
        "fr": "Aucune demande ne correspond à ces filtres.",
    },
    "count_open": {"en": "Open", "fr": "Ouvertes"},
    "count_urgent": {"en": "Urgent referrals", "fr": "Demandes urgentes"},
    "urgent_arrived": {
        "en": "A new urgent referral is at the top of the queue.",
        "fr": "Une nouvelle demande urgente est en haut de la file.",
    },
    "count_claimed": {"en": "Claimed", "fr": "Prises en charge"},
    "count_mine": {"en": "Mine", "fr": "Les miennes"},
    "count_unassigned": {"en": "Unassigned", "fr": "Non assignées"},
    "live_note": {
        "en": "This list updates by itself.",
        "fr": "Cette liste se met à jour d'elle-même.",
    },
    "new_messages": {"en": "new message(s)", "fr": "nouveau(x) message(s)"},
    "new_messages_hint": {
        "en": "New messages: what the person wrote after the referral arrived (after their "
        "intake was sent) and since the last caseworker reply.",
        "fr": "Nouveaux messages : ce que la personne a écrit après l'arrivée de la demande "
        "(après l'envoi de son formulaire) et depuis la dernière réponse d'un intervenant.",
    },
    "priority_hint": {
        "en": "Urgent referrals come first, then those with other flags, then the longest "
        "waiting. Urgent flags:",
        "fr": "Les demandes urgentes passent en premier, puis celles avec d'autres "
        "signalements, puis les plus anciennes. Signalements urgents :",
    },
    "person": {"en": "Person", "fr": "Personne"},
    "no_name": {"en": "No name given", "fr": "Aucun prénom donné"},
    "citizenship_to_return": {"en": "Citizenship → return", "fr": "Citoyenneté → retour"},
    "pages": {"en": "Pages", "fr": "Pages"},
    "page": {"en": "Page", "fr": "Page"},
    "previous_page": {"en": "Previous", "fr": "Précédente"},
    "next_page_queue": {"en": "Next", "fr": "Suivante"},
    "referrals_total": {"en": "referral(s)", "fr": "demande(s)"},
    "referral": {"en": "Referral", "fr": "Demande"},
    # referral page
    "intake": {"en": "Intake", "fr": "Formulaire d'accueil"},
    "no_intake": {
        "en": "No intake answers yet (the person asked to talk to someone).",
        "fr": "Aucune réponse au formulaire pour l'instant (la personne a demandé "
        "à parler à quelqu'un).",
    },
    "screening_outcome": {"en": "Screening outcome", "fr": "Résultat de la présélection"},
    "reasons": {"en": "Reasons", "fr": "Motifs"},
    "no_screening": {"en": "Not screened.", "fr": "Aucune présélection."},
    "no_flags": {"en": "No flags.", "fr": "Aucun signalement."},
    "consent": {"en": "Consent", "fr": "Consentement"},
    "no_consent": {
        "en": "No consent record: the person did not reach the intake form's consent question.",
        "fr": "Aucun consentement enregistré : la personne n'a pas atteint la question de "
        "consentement du formulaire.",
    },
    "consent_given": {"en": "Given", "fr": "Donné"},
    "consent_declined": {"en": "Declined", "fr": "Refusé"},
    "consent_version": {"en": "Wording version", "fr": "Version du texte"},
    "as_typed": {"en": "As typed, not understood:", "fr": "Tel qu'écrit, non compris :"},
    "as_said": {"en": "as said, not a date", "fr": "tel que dit, pas une date"},
    "urgent": {"en": "Urgent", "fr": "Urgent"},
    "urgent_because": {"en": "because of:", "fr": "en raison de :"},
    "raised_priority": {"en": "Higher priority", "fr": "Priorité accrue"},
    "raised_by": {"en": "raised by:", "fr": "en raison de :"},
    "normal_priority": {"en": "Normal", "fr": "Normale"},
    "contact_details": {"en": "Contact details", "fr": "Coordonnées"},
    "reveal": {"en": "Reveal (recorded)", "fr": "Afficher (consigné)"},
    "reveal_note": {
        "en": "Masked. Revealing them is recorded in the audit log.",
        "fr": "Masquées. Leur affichage est consigné dans le journal d'audit.",
    },
    "address_on_channel": {"en": "Address on the channel", "fr": "Adresse sur le canal"},
    "conversation": {"en": "Conversation", "fr": "Conversation"},
    "conversation_status": {"en": "Conversation", "fr": "Conversation"},
    "author_person": {"en": "Person", "fr": "Personne"},
    "author_assistant": {"en": "Assistant", "fr": "Assistant"},
    "author_system": {"en": "System", "fr": "Système"},
    "author_caseworker": {"en": "Caseworker", "fr": "Intervenant"},
    "notes": {"en": "Notes between caseworkers", "fr": "Notes entre intervenants"},
    "add_note": {"en": "Add note", "fr": "Ajouter une note"},
    "note": {"en": "Note", "fr": "Note"},
    "no_notes": {"en": "No notes.", "fr": "Aucune note."},
    "actions": {"en": "Actions", "fr": "Actions"},
    "claim": {"en": "Claim", "fr": "Prendre en charge"},
    "assign": {"en": "Assign", "fr": "Assigner"},
    "unassign": {"en": "Unassign", "fr": "Désassigner"},
    "take_over": {"en": "Take over the conversation", "fr": "Prendre la conversation"},
    "hand_back": {"en": "Hand back to the assistant", "fr": "Rendre à l'assistant"},
    "reply": {"en": "Reply to the person", "fr": "Répondre à la personne"},
    "reply_text": {"en": "Message", "fr": "Message"},
    "send": {"en": "Send", "fr": "Envoyer"},
    "canned": {"en": "Canned reply", "fr": "Réponse type"},
    "none": {"en": "None", "fr": "Aucune"},
    "reply_takes_over": {
        "en": "Sending takes over the conversation: the assistant stays silent until you "
        "hand it back.",
        "fr": "L'envoi vous donne la conversation : l'assistant se tait jusqu'à ce que "
        "vous la lui rendiez.",
    },
    "sms_hint": {
        "en": "SMS: one message holds 160 plain characters, or only 70 as soon as there is an "
        "accent such as é or ç. Keep it short.",
        "fr": "SMS : un message contient 160 caractères simples, ou seulement 70 dès qu'il y a "
        "un accent comme é ou ç. Soyez bref.",
    },
    # WhatsApp's 24-hour window (bot/channels/window.py): what happens to a reply sent now.
    "whatsapp_window_open": {
        "en": "WhatsApp: the person wrote within the last 24 hours, so your reply is sent now. "
        "The window closes at {time} unless they write again.",
        "fr": "WhatsApp : la personne a écrit dans les dernières 24 heures, votre réponse part "
        "donc maintenant. La fenêtre se ferme à {time} si elle n'écrit pas d'ici là.",
    },
    "whatsapp_window_notify": {
        "en": "WhatsApp: the person last wrote more than 24 hours ago. Your reply will be held; "
        'they get the approved notice ("You have a new message... reply to read it"), and '
        "your reply is delivered as soon as they answer.",
        "fr": "WhatsApp : la personne a écrit il y a plus de 24 heures. Votre réponse sera "
        "retenue; elle reçoit l'avis approuvé (« Vous avez un nouveau message... répondez pour "
        "le lire ») et votre réponse lui est remise dès qu'elle répond.",
    },
    "whatsapp_window_notified": {
        "en": "WhatsApp: the window is closed and the person has been notified. {held} "
        "message(s) wait for their answer; your reply will wait too and go out, in order, as "
        "soon as they write.",
        "fr": "WhatsApp : la fenêtre est fermée et la personne a été avisée. {held} message(s) "
        "attendent sa réponse; votre réponse attendra aussi et partira, dans l'ordre, dès "
        "qu'elle écrira.",
    },
    "whatsapp_window_no_template": {
        "en": "WhatsApp: the person last wrote more than 24 hours ago and no notice template is "
        "configured. Your reply will be held until they write again, and they will not be told "
        "it is waiting.",
        "fr": "WhatsApp : la personne a écrit il y a plus de 24 heures et aucun modèle d'avis "
        "n'est configuré. Votre réponse sera retenue jusqu'à ce qu'elle écrive de nouveau, sans "
        "qu'elle sache qu'un message l'attend.",
    },
    "close": {"en": "Close", "fr": "Fermer"},
    "outcome": {"en": "Outcome", "fr": "Résultat"},
    "reopen": {"en": "Reopen", "fr": "Rouvrir"},
    "notify_person": {
        "en": "Send the person a short status message",
        "fr": "Envoyer un court message de suivi à la personne",
    },
    "empty_reply": {
        "en": "Write a message or pick a canned reply.",
        "fr": "Écrivez un message ou choisissez une réponse type.",
    },
    "reply_too_long": {
        "en": "This reply is too long to send. Shorten it and try again.",
        "fr": "Cette réponse est trop longue pour être envoyée. Raccourcissez-la, puis réessayez.",
    },
    "opted_out": {
        "en": "This person has opted out of messages: nothing was sent.",
        "fr": "Cette personne a refusé les messages : rien n'a été envoyé.",
    },
    "already_open": {
        "en": "This person already has another open referral: work on that one.",
        "fr": "Cette personne a déjà une autre demande ouverte : traitez celle-là.",
    },
    "bad_outcome": {"en": "Choose an outcome.", "fr": "Choisissez un résultat."},
    "done": {"en": "Done.", "fr": "C'est fait."},
    "sent": {"en": "Sent.", "fr": "Envoyé."},
    "closed_at": {"en": "Closed", "fr": "Fermée"},
    "yes": {"en": "Yes", "fr": "Oui"},
    "no": {"en": "No", "fr": "Non"},
    # supervisor
    "action": {"en": "Action", "fr": "Action"},
    "who": {"en": "Who", "fr": "Qui"},
    "when": {"en": "When", "fr": "Quand"},
    "details": {"en": "Details", "fr": "Détails"},
    "from_date": {"en": "From (YYYY-MM-DD)", "fr": "Du (AAAA-MM-JJ)"},
    "to_date": {"en": "To (YYYY-MM-DD)", "fr": "Au (AAAA-MM-JJ)"},
    "next_page": {"en": "Older entries", "fr": "Entrées plus anciennes"},
    "export_warning": {
        "en": "This file holds personal data about people in a vulnerable situation. Download "
        "it only to a protected device, share it only with authorized staff, and delete it "
        "when you are done. The export is recorded in the audit log.",
        "fr": "Ce fichier contient des données personnelles sur des personnes en situation de "
        "vulnérabilité. Téléchargez-le seulement sur un appareil protégé, ne le partagez "
        "qu'avec du personnel autorisé et supprimez-le une fois terminé. L'exportation est "
        "consignée dans le journal d'audit.",
    },
    "download_csv": {"en": "Download CSV", "fr": "Télécharger le CSV"},
    "labels_language": {"en": "Language of the labels", "fr": "Langue des libellés"},
    "labels_language_hint": {
        "en": "Each row keeps the codes (for other systems) and adds the same labels as these "
        "pages, in this language.",
        "fr": "Chaque ligne garde les codes (pour d'autres systèmes) et ajoute les mêmes "
        "libellés que ces pages, dans cette langue.",
    },
    "per_week": {"en": "Referrals per week", "fr": "Demandes par semaine"},
    "by_outcome": {"en": "By outcome", "fr": "Par résultat"},
    "by_language": {"en": "By language", "fr": "Par langue"},
    "median_first_reply": {
        "en": "Median time to first caseworker reply",
        "fr": "Délai médian avant la première réponse d'un intervenant",
    },
    "week": {"en": "Week", "fr": "Semaine"},
    "count": {"en": "Count", "fr": "Nombre"},
    "not_yet": {"en": "No data yet", "fr": "Pas encore de données"},
    "undelivered_title": {"en": "Replies not delivered", "fr": "Réponses non remises"},
    "undelivered_hint": {
        "en": "Replies the assistant or a caseworker sent that never reached the person, after "
        "every retry (conversations affected: {n}).",
        "fr": "Réponses de l'assistant ou d'un intervenant qui ne sont jamais parvenues à la "
        "personne, après toutes les tentatives (conversations touchées : {n}).",
    },
    "undelivered_alert": {
        "en": "{n} message(s) to this person could not be delivered, after every retry. Read "
        "the conversation below and reach them another way if needed.",
        "fr": "{n} message(s) à cette personne n'ont pas pu être remis, après toutes les "
        "tentatives. Lisez la conversation ci-dessous et joignez-la autrement au besoin.",
    },
    "still_open": {"en": "Not closed", "fr": "Non fermée"},
    "unknown": {"en": "Unknown", "fr": "Inconnue"},
    # accounts
    "display_name": {"en": "Name", "fr": "Nom"},
    "role": {"en": "Role", "fr": "Rôle"},
    "create_account": {"en": "Create account", "fr": "Créer le compte"},
    "unlock": {"en": "Unlock", "fr": "Déverrouiller"},
    "locked_label": {"en": "Locked", "fr": "Verrouillé"},
    "password_rules": {
        "en": "At least 12 characters.",
        "fr": "Au moins 12 caractères.",
    },
    "user_exists": {"en": "This username is taken.", "fr": "Ce nom d'utilisateur est déjà pris."},
    "bad_role": {"en": "Choose a role from the list.", "fr": "Choisissez un rôle dans la liste."},
    "my_password": {"en": "My password", "fr": "Mon mot de passe"},
    "change_password": {"en": "Change my password", "fr": "Changer mon mot de passe"},
    "current_password": {"en": "Current password", "fr": "Mot de passe actuel"},
    "new_password": {"en": "New password", "fr": "Nouveau mot de passe"},
    "confirm_password": {"en": "New password, again", "fr": "Nouveau mot de passe, à nouveau"},
    "password_change_note": {
        "en": "Your other signed-in browsers will be signed out.",
        "fr": "Vos autres navigateurs connectés seront déconnectés.",
    },
    "wrong_password": {
        "en": "The current password is not right.",
        "fr": "Le mot de passe actuel n'est pas le bon.",
    },
    "passwords_differ": {
        "en": "The two new passwords differ.",
        "fr": "Les deux nouveaux mots de passe sont différents.",
    },
    "password_changed": {"en": "Password changed.", "fr": "Mot de passe changé."},
    "active_label": {"en": "Active", "fr": "Actif"},
    "inactive_label": {"en": "Deactivated", "fr": "Désactivé"},
    "deactivate": {"en": "Deactivate", "fr": "Désactiver"},
    "reactivate": {"en": "Reactivate", "fr": "Réactiver"},
    "set_password": {"en": "Set a new password", "fr": "Définir un nouveau mot de passe"},
    "cannot_deactivate_self": {
        "en": "You cannot deactivate your own account.",
        "fr": "Vous ne pouvez pas désactiver votre propre compte.",
    },
    "bad_password": {
        "en": "The password must have at least 12 characters.",
        "fr": "Le mot de passe doit compter au moins 12 caractères.",
    },
    "bad_username": {
        "en": "Username: 2-64 letters, digits or . _ -",
        "fr": "Nom d'utilisateur : 2 à 64 lettres, chiffres ou . _ -",
    },
}

# Values shown with readable names. Unknown values fall back to a humanised form of the code.
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "status": vocabulary.STATUS_LABELS,
    "kind": vocabulary.KIND_LABELS,
    "conversation": {
        "bot": {"en": "Assistant answering", "fr": "L'assistant répond"},
        "handoff_requested": {"en": "Waiting for a caseworker", "fr": "Attend un intervenant"},
        "human": {
            "en": "Caseworker has it (assistant silent)",
            "fr": "Intervenant (assistant muet)",
        },
        "closed": {"en": "Closed", "fr": "Fermée"},
    },
    "outcome": {
        "enrolled": {"en": "Enrolled", "fr": "Inscrit"},
        "referred_elsewhere": {"en": "Referred elsewhere", "fr": "Orienté ailleurs"},
        "not_eligible": {"en": "Not eligible", "fr": "Non admissible"},
        "no_response": {"en": "No response", "fr": "Aucune réponse"},
        "withdrawn": {"en": "Withdrawn", "fr": "Retiré"},
    },
    "screening": vocabulary.OUTCOME_LABELS,
    "channel": {
        "web": {"en": "Web chat", "fr": "Clavardage Web"},
        "sms": {"en": "SMS", "fr": "SMS"},
        "telegram": {"en": "Telegram", "fr": "Telegram"},
        "whatsapp": {"en": "WhatsApp", "fr": "WhatsApp"},
    },
    "language": {
        "en": {"en": "English", "fr": "Anglais"},
        "fr": {"en": "French", "fr": "Français"},
    },
    "delivery": {
        "queued": {"en": "queued", "fr": "en file"},
        "sent": {"en": "sent", "fr": "envoyé"},
        "delivered": {"en": "delivered", "fr": "remis"},
        "read": {"en": "read", "fr": "lu"},
        "held": {
            "en": "held until the person writes (WhatsApp)",
            "fr": "retenu jusqu'à ce que la personne écrive (WhatsApp)",
        },
        "failed": {"en": "not delivered", "fr": "non remis"},
        "suppressed": {"en": "not sent (opted out)", "fr": "non envoyé (désabonnement)"},
    },
    "role": {
        "caseworker": {"en": "Caseworker", "fr": "Intervenant"},
        "supervisor": {"en": "Supervisor", "fr": "Superviseur"},
        "admin": {"en": "Administrator", "fr": "Administrateur"},
    },
}

OUTCOMES = tuple(VALUES["outcome"])

# Intake fields and values, screening outcomes and flags: bot/intake/vocabulary.py.

# Sent to the person, in their language. No program facts.
CANNED: dict[str, dict[str, str]] = {
    "hello": {
        "en": "Hello, I am a caseworker with the program. I have read your messages and I "
        "am here to help.",
        "fr": "Bonjour, je suis intervenant du programme. J'ai lu vos messages et je suis "
        "là pour vous aider.",
    },
    "best_time": {
        "en": "When is a good time to call you? Is it safe to call this number?",
        "fr": "Quand puis-je vous appeler? Est-ce sûr d'appeler ce numéro?",
    },
    "received": {
        "en": "Thank you, we received your information. A caseworker will contact you soon.",
        "fr": "Merci, nous avons reçu vos renseignements. Un intervenant vous contactera bientôt.",
    },
    "check_later": {
        "en": "I need to check this with my team. I will write back to you.",
        "fr": "Je dois vérifier auprès de mon équipe. Je vous réécrirai.",
    },
}
CANNED_LABELS: dict[str, dict[str, str]] = {
    "hello": {"en": "Introduce myself", "fr": "Me présenter"},
    "best_time": {"en": "Ask when to call", "fr": "Demander quand appeler"},
    "received": {"en": "Information received", "fr": "Renseignements reçus"},
    "check_later": {"en": "I will check and write back", "fr": "Je vérifie et je réécris"},
}

# Optional status messages on claim and close.
STATUS: dict[str, dict[str, str]] = {
    "claimed": {
        "en": "A caseworker is now looking at your request and will write to you here.",
        "fr": "Un intervenant examine maintenant votre demande et vous écrira ici.",
    },
    "closed": {
        "en": "Your request is now closed. You can write here any time if you need help.",
        "fr": "Votre demande est maintenant fermée. Écrivez-nous ici au besoin.",
    },
}


def ui(key: str, language: str) -> str:
    return UI[key].get(language) or UI[key]["en"]


def value(group: str, code: str | None, language: str) -> str:
    if not code:
        return ""
    entry = VALUES.get(group, {}).get(code)
    return vocabulary.pick(entry, language) if entry else vocabulary.humanise(code)


def person_language(language: str | None) -> str:
    return language if language in LANGUAGES else "en"
