"""The safety layer's reviewed patterns: crisis, a close removal date, fear of detention.

Runs on every inbound message before anything else (``bot/conversation.py``), on every channel
and in every state, and again inside Rasa's actions (``actions/``), where the intent classifier's
``urgent_help`` adds a second, independent detector: recall never depends on one model.

What counts (EN and FR, with slang, SMS spelling and no accents):
- **crisis**: self-harm or suicidal thoughts (direct and indirect: "kms", "unalive", "no point
  living", "je veux plus etre la", "en finir"), violence or danger happening now, a medical
  emergency. A crisis stops any form, never starts one, and is answered with emergency guidance
  and a person (``bot/safety_reply.py``).
- **urgent date**: a removal / deportation / departure date within the operator's threshold
  (``urgent_within_days`` of ``content/screening.yml``).
- **detention fear**: fear of being detained or arrested (a question or a worry, not a past fact).

Fear of what happens *after* a return ("they will kill me if I go back") is not a crisis now: it
is the program's fear-of-return question, and screening's ``safety_fears`` flag.

Reviewing a change: add the message that was missed (or wrongly caught) to
``tests/unit/test_safety.py``; never to the blind set in ``nlu/eval/safety/``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.intake.dates import dates_in
from bot.intake.text import fold


class Concern(StrEnum):
    SELF_HARM = "self_harm"
    VIOLENCE = "violence"
    MEDICAL = "medical"


# Outside the intake form, the classifier's ``urgent_help`` alone (no reviewed pattern in the
# message) gets the whole crisis answer, flag and urgent referral only at this confidence or
# more; under it, the gentle check (``answer_check``). Chosen on the DEV sets (never a blind
# one) with ``scripts/safety_bar.py``; docs/safety.md, measurement log (2026-12-01, round 2).
# At 0.5 the dev look-alikes the classifier took for a crisis (0.37-0.48 on this model, up to
# 0.77 on the previous one) get the check instead, and of the 72 dev crisis messages the
# classifier alone recognises, 71 are at 0.5 or more. Inside the form the rules of
# actions/intake.py stay.
# Used by actions/knowledge.py (answer or check) and bot/runtime/safety_evaluation.py.
CLASSIFIER_ONLY_BAR = 0.5

# Flag ids raised by this layer (labels and priorities: content/screening.yml).
CRISIS = "crisis"
URGENT_DATE = "urgent_date"
DETENTION_FEAR = "detention_fear"
FLAGS = (CRISIS, URGENT_DATE, DETENTION_FEAR)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


# Matched on ``_key(text)``: lower case, no accents, apostrophes and punctuation as spaces.
# Each concern has strong patterns (a crisis whatever else the message says) and contextual ones
# that also describe fear of a return ("they will kill me if I go back", "je veux plus etre la,
# je veux rentrer"): those count only when the message is not about going back.
_SELF_HARM_EN = _any(
    r"suicid\w*",
    r"kill(?:ing)? my ?self",
    r"kil+ my ?self",
    r"kms",
    r"unalive(?: my ?self)?",
    r"end(?:ing)? my (?:own )?life",
    r"end it all",
    r"take my (?:own )?life",
    r"(?:want|wanna|wish|ready) (?:to )?die",
    r"wish i (?:was|were) dead",
    r"better off dead",
    r"(?:dont|do not|don t|cant|can t) see (?:why|the point|a reason) (?:i should |to )?(?:wake up|"
    r"live|go on|keep going|be alive)",
    r"(?:easier|better) (?:life|lives)? ?(?:if|without) (?:i was|i were|im|i am) gone",
    r"if i (?:was|were) gone",
    r"(?:im|i am|i m) (?:only |just )?a burden",
    r"cut(?:ting)? (?:again|myself|my (?:arms?|wrists?|legs?))",
    r"going deeper next time",
    r"standing on (?:the|a|my) (?:bridge|roof|edge|ledge|balcony|tracks)",
    r"(?:sleep|close my eyes) and never wake up",
    r"never wake up again",
    r"(?:not|never|dont want to|don t want to) wake up",
    r"how many (?:\w+ )?(?:pills|tablets|tylenol|advil|meds|sleeping pills)\w* (?:would it take|"
    r"does it take|to (?:die|not wake|end|sleep forever))",
    r"(?:tell|say to) my (?:wife|husband|kids|children|son|daughter|mom|mother|family|parents) "
    r"(?:i am|im|i m|that i am|that im) sorry",
    r"(?:wont|won t|will not) be (?:alive|around|here) "
    r"(?:by then|anymore|much longer|tomorrow|for)",
    r"(?:dont|don t|do not) plan (?:on|to) be(?:ing)? (?:around|alive|here)",
    r"(?:wont|won t) be (?:at|there for) .{0,40}(?:or anywhere|ever again)",
    r"wrote (?:letters|a letter|notes?|goodbye) (?:to|for) (?:everyone|everybody|my)",
    r"no more strength",
    r"(?:wont|won t|will not) need (?:it|them|this|my \w+) "
    r"(?:anymore|where i m going|where im going)",
    r"(?:ending|end|finish) it (?:tonight|today|now)",
    r"(?:pain|suffering|everything) to stop "
    r"(?:forever|for good|permanently)",
    r"want everything to stop",
    r"(?:bought|got|have) (?:a |the )?"
    r"(?:rope|razor|belt) (?:today|ready|with me|next to me)",
    r"bought (?:a |some )?rope",
    r"(?:no longer|not) alive",
    r"only way out",
    r"(?:took|taken|swallowed) (?:like |about |around )?"
    r"\d+ (?:sleeping )?(?:pills|tablets|meds)",
    r"(?:hanging|hang) (?:himself|herself|myself)",
    r"(?:stepping|step|walking|walk) (?:off|into) (?:the )?(?:balcony|roof|ledge|lake|river|sea|"
    r"water|traffic|train)",
    r"(?:tonight|today) is my last (?:night|day)",
    r"waiting for the end",
    r"done with (?:life|living|everything) (?:fr|for real|now)?",
    r"do something stupid",
    r"giv(?:e|ing|en) away (?:my|all my) (?:stuff|things|belongings)",
    r"world would be (?:lighter|better|easier) without me",
    r"(?:a bottle|a box|a pack) of pills "
    r"(?:next to me|in front of me|with me)",
    r"(?:not|never) planning to be (?:here|around|alive)",
    r"(?:razor|blade) (?:in my hand|with me|next to me)",
    r"hate myself so much",
    r"saving (?:up )?(?:my |the |all my )?(?:pills|meds|tablets)",
    r"tonight is the night",
    r"jump(?:ing)? off my (?:balcony|roof|building|bridge)",
    r"(?:will|going to|gonna|wants to|want to) end (?:his|her|their|my) (?:own )?life",
    r"(?:took|taken|did|done) (?:way )?too much (?:\w+ )?(?:fent|fentanyl|heroin|oxy|xanax|pills|"
    r"meds|drugs|dope)",
    r"(?:disappear|gone) (?:permanently|forever|for good)",
    r"stop existing",
    r"(?:not|no longer) (?:want to )?exist(?: anymore)?$",
    r"(?:this is|its|it s) my last message(?! for (?:today|now|tonight|the day))",
    r"last message to (?:anyone|everyone|you all)",
    r"finish my (?:life|days)",
    r"(?:drink|drinking|swallow|swallowing) (?:the |some )?bleach",
    r"(?:have|got) the bleach",
    r"tired of (?:this )?life(?! here| in canada| in this country)",
    r"(?:want to|wanna|going to|gonna|ready to) end it"
    r"(?: honestly| all| tonight| for good| today|$)",
    r"(?:is going to|wants to|gonna|will|said (?:he|she|they) (?:will|would|is going to)) "
    r"(?:kill|hang|hurt|cut) (?:himself|herself|themself|themselves)",
    r"(?:hang|hanging|cut|cutting|hurt|hurting|harm|harming) my ?self",
    r"self ?harm\w*",
    r"jump(?:ing)? (?:off (?:a|the) (?:bridge|building|roof|balcony)|in front of (?:a|the) "
    r"(?:train|subway|car|bus))",
    r"(?:took|taken|swallowed|swallow|take) (?:all|a lot of|too many|a bunch of|a whole|the whole|"
    r"so many|\d+) (?:of )?(?:my |the |these |those )?(?:sleeping )?(?:pills|tablets|meds|"
    r"medication|medicine)",
    r"swallowed (?:my |the |some )?(?:pills|tablets|meds)",
    r"(?:i have|i ve got|ive got|got) (?:the |some |a lot of |all my |my )?(?:pills|tablets|"
    r"a rope|a knife) (?:here|ready|with me|in my hand|in front of me)",
    r"(?:took|drank|swallowed|drink) (?:some )?(?:poison|bleach)",
    r"no (?:point|reason) (?:in )?(?:living|to live|being alive|going on|to go on|to keep going)",
    r"(?:dont|do not|don t|no longer|not|never) (?:want|wanna) (?:to )?(?:live|be alive|exist|"
    r"wake up)(?! (?:in|here|there|at|with|like|this))",
    r"tired of (?:living|life|being alive)",
    r"not worth living",
    r"(?:life is|lifes) not worth",
    r"(?:im|i m|i am) (?:going to|gonna|about to) jump(?: off)?$",
    r"(?:everyone|everybody|they|my family|my kids) (?:would be|is|are|will be) better (?:off )?"
    r"without me",
    r"nothing (?:left )?to live for",
    r"(?:goodbye|bye) (?:forever|world)",
)
_SELF_HARM_FR = _any(
    r"(?:me|m) (?:suicider|suicide|pendre|foutre en l air|jeter (?:du|d un|sous|par))",
    r"(?:je|j|jv|jvais|jveux|jvx|veux|vais|envie de|pense a|penser a|voudrais) (?:\w+ ){0,2}"
    r"(?:me|m) (?:tuer|tue)(?! a )",
    r"(?:je|j) ?(?:veux|vx|ve|voudrais|ai envie de) (?:me )?(?:mourir|crever)",
    r"(?:jveux|jvx|jve) (?:me )?(?:mourir|crever|en finir)",
    r"envie de (?:mourir|crever|en finir)",
    r"en finir(?! avec (?:ce|cette|le|la|les|mon|ma|mes) (?:dossier|procedure|demande|processus|"
    r"papiers|formulaire|attente))",
    r"mettre fin a (?:mes|ma) (?:jours|vie)",
    r"(?:ca|sa|c) ?(?:sert|vaut) (?:a )?rien de vivre",
    r"(?:plus|pas de|aucune) raison de vivre",
    r"(?:plus|pas) (?:la |l )?(?:force|envie|gout) de vivre",
    r"mieux sans moi",
    r"(?:pris|avale|avaler) (?:tous|toutes|plein de|trop de|une boite de|\d+) (?:mes |les |des )?"
    r"(?:pilules|medicaments|medocs|cachets|comprimes)",
    r"(?:bu|avale|avaler|boire) (?:du |de l |de la )?(?:poison|javel|eau de javel)",
    r"(?:j ai|jai|j) (?:les |des |mes )?(?:pilules|cachets|medicaments|medocs) (?:ici|la|pretes?|"
    r"devant moi)",
    r"(?:me|m) (?:scarifier|couper les veines|ouvrir les veines)",
    r"(?:je|j|jveux|jvx|jvais|veux|vais|envie de|pense a) (?:\w+ )?(?:me|m) faire du mal",
    r"pour mourir",
    r"peur de me faire du mal",
    r"(?:idees|pensees) (?:tres )?(?:sombres|suicidaires|noires)",
    r"dark thoughts",
    r"thoughts of (?:ending|killing|hurting)",
    r"pour en finir",
    r"(?:serai|serais) (?:plus|pu) (?:la|ici|vivant)",
    r"j en aurai (?:plus|pu) besoin",
    r"(?:dormir|m endormir) et (?:plus jamais|ne plus jamais|ne plus) (?:me )?reveiller",
    r"j en finis",
    r"(?:lettres?|mots) (?:a|pour) (?:ma famille|mes enfants|ma mere|mes parents)",
    r"disparaissais pour (?:de bon|toujours)",
    r"(?:achete|acheter|j ai) une corde",
    r"(?:pris|avale) (?:genre |environ |a peu pres )?\d+ (?:somniferes|pilules|cachets|comprimes)",
    r"(?:plus|pu) aucune raison de (?:continuer|vivre)",
    r"douleur s arrete pour (?:toujours|de bon)",
    r"(?:une boite|un pot|une plaquette) de (?:pilules|cachets|medicaments) a cote de moi",
    r"(?:tanne|tannee|ecoeure|ecoeuree|fatigue|fatiguee|ecoeure) de vivre",
    r"(?:je me suis|me suis|je me|jme) (?:encore )?(?:coupe|coupee|scarifie|scarifiee)\w*",
    r"(?:le )?gout de mourir",
    r"(?:vois|voit) (?:pu|plus|pas) (?:de|d autre) (?:sortie|issue)",
    r"(?:je vais|jvais|vais|je veux) tout (?:prendre|avaler)(?: ce soir| maintenant| d un coup|$)",
    r"(?:serait|seraient|serions) (?:tous )?mieux "
    r"(?:si (?:j etais|je serais|jetais) plus la|sans moi)",
    r"je suis (?:un|juste un|qu un) (?:poids|fardeau)",
    r"(?:ne|n) ?plus (?:jamais )?me reveiller",
    r"plus envie de me reveiller",
    r"(?:m endormir|dormir) (?:et|pour) ne plus",
    r"fatigu\w* de (?:la vie|vivre)",
    r"dites? (?:leur|lui|a (?:mes|ma|mon) \w+) que je (?:les|l|t|vous) aime",
    r"lettre d adieu",
    r"(?:mes|ma) derni\w* (?:mots|adieux)",
    r"(?:c est|cest|voici) mon dernier message"
    r"(?! pour (?:aujourd hui|ce soir|l instant|le moment))",
    r"(?:je suis|chu|chui|suis|jsuis) (?:sur|en haut) (?:du|le|d un) "
    r"(?:toit|pont|bord|balcon|corniche)",
    r"sauter (?:du|d un|de mon|par la|en bas du) (?:pont|toit|balcon|fenetre|immeuble|edifice)",
    r"(?:va|veut|voulait|vais|menace de) se (?:pendre|tuer|suicider|jeter|couper)",
    r"(?:pris|avale) (?:toute|tout) (?:la|le|ma|mon) (?:boite|pot|plaquette|flacon|bouteille)",
    r"(?:plus|pas) envie de rien",
    r"(?:serai|serais) (?:encore |toujours )?(?:en vie|vivant)",
    r"(?:veux|veut|vx|ve|jveux|jvx) (?:plus|pas|p) (?:exister|me reveiller)",
    r"ma vie (?:n a|na|a) plus (?:de|aucun) sens",
    r"plus (?:de|aucun) sens a (?:ma|la) vie",
)
_SELF_HARM_CONTEXTUAL = _any(
    r"(?:dont|do not|don t|no longer|not) (?:want|wanna) (?:to )?(?:be here|go on)",
    r"(?:cant|can t|cannot) (?:go on|do this anymore|take it anymore|live like this)",
    r"disappear (?:forever|for good)",
    r"(?:veux|veut|vx|ve|jveux|jvx) (?:plus|pas|p) (?:etre la|"
    r"vivre(?! (?:au|a|en|ici|dans|comme|sans|avec|la bas)))",
    r"(?:je|j) ?(?:vais|va) (?:me )?(?:mourir|crever)",
    r"plus la force de continuer",
    r"disparaitre pour (?:toujours|de bon)",
)

_VIOLENCE_EN = _any(
    r"(?:is|are|keeps?|keep|kept|started|start) (?:hitting|beating|hurting|attacking|choking|"
    r"strangling|raping|threatening|stabbing) me",
    r"(?:hits|beats|chokes|rapes) me",
    r"outside my (?:door|house|room|apartment)",
    r"(?:is|are|trying to) break(?:ing)? in(?:to)?",
    r"locked me in",
    r"(?:i m|im|i am) (?:not safe|unsafe) (?:here|now|at home|right now)",
    r"(?:im|i m|i am) being (?:threatened|abused|attacked|beaten|hurt|followed|held)",
    r"(?:need|call|get|send) (?:the )?police",
    r"call 911",
    r"(?:is|he s|hes|they re|theyre|are) breaking things",
    r"(?:im|i m|i am) hiding (?:in|from)",
    r"broke into my (?:apartment|house|room|place)",
    r"(?:with|has|holding) a (?:knife|gun|weapon) (?:outside|here|at|in front)",
    r"in danger (?:right )?now",
    r"(?:is|are|s) (?:beating|hitting|hurting|attacking|choking|stabbing) (?:her|him|them|my \w+)"
    r"(?: \w+){0,4} (?:right now|now)",
    r"(?:i )?can hear (?:her|him|them|someone) (?:screaming|"
    r"crying for help|being (?:hit|beaten))",
    r"(?:someone|somebody|a man|a guy) is following me",
)
_VIOLENCE_FR = _any(
    r"(?:me|m) (?:frappe|bat|etrangle|viole|agresse|poignarde|battre|frapper)",
    r"(?:me|m) fait du mal",
    r"devant (?:ma|la) porte",
    r"(?:je suis|jsuis|chu|chui|suis) en danger (?:la|maintenant|ici|en ce moment)",
    r"(?:pas|plus) en securite (?:ici|maintenant|chez moi|a la maison)",
    r"(?:quelqu un|un homme|un gars) me suit",
    r"(?:m a|ma|m ont) (?:frappe|battu|enferme)\w*",
    r"au secours",
    r"peur pour ma vie (?:maintenant|la(?! bas)|ici|en ce moment)",
    r"(?:quelqu un|on|il|elle|ils|mon (?:mari|conjoint|copain|patron|proprio|proprietaire)) "
    r"(?:me fait|m a fait|ma fait) mal",
    r"on m (?:attaque|agresse|menace|frappe)",
    r"(?:m a|ma|m ont) (?:agresse|viole|sequestre|attaque)\w*",
    r"(?:me )?sequestre\w*",
    r"(?:appelez|appeler|appelle) (?:le )?911",
    r"(?:besoin de|appelez|appeler) la police",
    r"danger maintenant",
    r"(?:entre|rentre) chez (?:moi|nous) de force",
    r"homme arme",
    r"se fait (?:battre|frapper|agresser|violer|tabasser)",
    r"on me suit",
    r"(?:j )?entends? les coups",
)
_VIOLENCE_CONTEXTUAL = _any(
    r"(?:someone|somebody|he|she|they|my (?:husband|wife|partner|boyfriend|girlfriend|father|"
    r"mother|boss|landlord)) (?:hurts|is hurting|beat|beats|hit|hits|attacked|abuses|is abusing|"
    r"raped|threatens|is threatening) me",
    r"(?:hit|beat|punched|kicked|stabbed|raped|choked|attacked) me (?:again|today|tonight|now|"
    r"just now)",
    r"(?:going to|gonna|will|wants to|want to|trying to|tried to|threatened to|threatens to) "
    r"(?:kill|hurt|beat|stab|shoot|rape) (?:me|us|my (?:kids|children|baby|son|daughter))",
    r"(?:has|with|got|have) a (?:knife|gun)",
    r"(?:he|she|they)(?: ll| will| is gonna| s gonna| is going to)? kills? me",
    r"in danger",
    r"(?:veut|va|vont|essaie de|essaye de|menace de) (?:me|nous) (?:tuer|frapper|battre|"
    r"faire du mal)",
    r"(?:me|m) menace",
    r"(?:a|avec) un (?:couteau|fusil|pistolet|arme)",
    r"en danger",
    r"(?:il|elle|ils) (?:a|ont) une arme",
    r"peur pour ma vie",
    r"(?:not|no longer) safe",
    r"(?:violence|abuse) at home",
    r"victime de violence",
    r"violence (?:a|dans) la maison",
    r"(?:je suis|jsuis|chu|chui|suis) (?:pas|plus) en securite",
    r"(?:m a|ma|m ont) menace\w*",
)

_MEDICAL_EN = _any(
    r"(?:not|isn t|isnt|stopped|can t|cant|cannot|hardly) breath\w*",
    r"overdos(?:e|ed|es|ing)?\b"
    r"(?! on (?:coffee|caffeine|sugar|chocolate|candy|tv|netflix|work|love))",
    r"od(?:ed| d|d|ing)",
    r"chest pain",
    r"having a (?:stroke|seizure)",
    r"(?:is|he s|she s|hes|shes) unconscious",
    r"passed out",
    r"(?:wont|won t|will not|doesnt|does not) wake up",
    r"(?:is )?not moving",
    r"bleeding (?:a lot|badly|heavily|everywhere|so much)",
    r"(?:lot of|lots of|so much|a lot of) blood",
    r"(?:just )?collapsed",
    r"(?:isn t|isnt|is not|not) (?:answering|responding|breathing) me",
    r"unresponsive",
    r"vomiting blood",
    r"slurring",
    r"face (?:is )?drooping",
    r"water broke",
    r"asthma attack",
    r"hit by a car",
    r"burned with (?:boiling|hot)",
    r"(?:stabbed|shot) (?:my|a|the) \w+",
    r"smoke everywhere",
    r"fire alarm",
    r"(?:someone|somebody) is (?:inside|in) my (?:apartment|house|room)",
    r"(?:locked|trapped) in (?:a|the|my) room",
    r"(?:is|being) beaten (?:outside|right now|now)",
    r"(?:cant|can t|cannot) feel my (?:legs|arms|face|body)",
    r"(?:having|is having|s having|think (?:i m|im|he s|she s) having) a heart "
    r"attack",
    r"heart attack (?:right )?now",
    r"(?:blue|purple) (?:lips|face)",
    r"(?:call|need|send) (?:an |the )?ambulance",
    r"medical emergency",
    r"(?:i am|im|i m|he is|she is|hes|shes|he s|she s) bleeding",
    r"(?:just )?fainted",
    r"(?:is )?not responding",
    r"(?:very|really|so) sick (?:and )?(?:i )?need help (?:right )?now",
    r"(?:took|taken|swallowed) a (?:large|big|huge) (?:amount|number|quantity) of",
)
_MEDICAL_FR = _any(
    r"(?:ne|n) ?respire (?:plus|pas|pu)",
    r"respire (?:plus|pas)",
    r"(?:peux|peut|arrive) (?:pas|plus) (?:a )?respirer",
    r"surdose",
    r"(?:mal|douleur) (?:a|dans) la poitrine",
    r"(?:fait|fais|faire) une crise cardiaque(?! en \d| il y a| l an| l annee)",
    r"crise cardiaque (?:la|maintenant|en ce moment)",
    r"(?:fait|fais|faire) un avc (?:la|maintenant|en ce moment)",
    r"en train de faire un (?:avc|malaise|crise)",
    r"(?:est|et) inconscient\w*",
    r"(?:s est|sest) evanoui\w*",
    r"(?:se|s) reveille (?:plus|pas)",
    r"bouge plus",
    r"saigne\w* (?:beaucoup|fort|partout|enormement)",
    r"(?:beaucoup|plein) de sang",
    r"(?:appeler|appelez|besoin d une|envoyez une) ambulance",
    r"urgence medicale",
    r"je saigne",
    r"perdu connaissance",
    r"(?:vais|va) m evanouir",
    r"respire mal",
    r"respire (?:pu|pus|bizarre|difficilement|avec difficulte)",
    r"(?:arrive|peux|peut) (?:pas|plus|pu) a (?:la|le|l) reveiller",
    r"(?:a|ont) avale (?:les|des|mes|ses|tes) (?:pilules|medicaments|cachets|comprimes|medocs)",
    r"tombe\w* et (?:il |elle )?(?:ne |n )?(?:repond|bouge|reagit) (?:plus|pu|pas)",
    r"(?:face|visage|levres?) (?:toute? )?bleue?s?",
    r"convulse(?:nt)?",
    r"(?:ne|n) ?(?:repond|reagit|bouge) plus quand je",
    r"(?:ne|n) ?reagit plus",
    r"s est (?:effondre|ecroule)\w*",
    r"(?:il|elle) est tombe\w* et (?:ne|n)",
    r"tres malade (?:et )?besoin d aide maintenant",
)
# Other languages the people writing may speak (the likely returnees of the GTA programme:
# Spanish, Portuguese, Hungarian, Romanian, Turkish; and in other scripts Russian, Chinese,
# Arabic): the core phrases only, for each concern, answered with the guidance in English and
# in French (the assistant speaks no other language). Written and reviewed by hand, kept to
# phrases that say the crisis itself: a bare "help" in another language is not one ("ajutor"
# can be help with papers). Not covered: Tigrinya, Amharic (no phrases we could write reliably).
# Latin scripts are matched on ``_key`` (no accents; Turkish dotless i read as i).
_OTHER_SELF_HARM = _any(
    # Spanish
    r"(?:ya )?no quiero (?:seguir )?vivir",
    r"quiero morir(?:me)?",
    r"me quiero (?:morir|matar)",
    r"(?:voy a|quiero) matarme",
    r"matarme",
    r"quitarme la vida",
    # Portuguese
    r"(?:nao|n) quero (?:mais )?viver",
    r"quero morrer",
    r"(?:quero|vou) me matar",
    r"tirar (?:a )?minha (?:propria )?vida",
    # Hungarian
    r"meg akarok halni",
    r"nem akarok (?:tovabb |mar )?elni",
    r"megolom magam",
    r"ongyilkos\w*",
    r"veget vetek az eletemnek",
    # Romanian
    r"vreau sa mor",
    r"nu mai vreau sa (?:traiesc|mai traiesc)",
    r"(?:sa )?ma sinucid",
    r"sinucider\w*",
    r"(?:sa|o sa|vreau sa) ma omor",
    # Turkish
    r"olmek istiyorum",
    r"intihar\w*",
    r"kendimi (?:oldurecegim|oldurmek istiyorum|olduruyorum)",
    r"yasamak istemiyorum",
    # every Latin-script language above
    r"suicid\w*",
)
_OTHER_VIOLENCE = _any(
    r"me esta (?:golpeando|pegando|amenazando)",
    r"me (?:pega|golpea)",
    r"me (?:quiere|va a) matar",
    r"auxilio",
    r"(?:esta|ta) me (?:batendo|agredindo|ameacando)",
    r"(?:vai|quer) me matar",
    r"socorro",
    r"(?:meg akar olni|megver|ver engem|bantalmaz)",
    r"(?:sotul|barbatul|iubitul|el) ma (?:bate|loveste)",
    r"ma bate (?:acum|rau|tare|in fiecare zi)",
    r"vrea sa ma omoare",
    r"beni (?:dovuyor|oldurecek|olduracek|oldurmek istiyor)",
    r"imdat",
)
_OTHER_MEDICAL = _any(
    r"no (?:esta )?respira(?:ndo)?",
    r"sobredosis",
    r"(?:nao|n) (?:esta )?respira(?:ndo)?",
    r"overdose",
    r"nem lelegzik",
    r"tuladagol\w*",
    r"eszmeletlen",
    r"nu (?:mai )?respira",
    r"supradoz\w*",
    r"nefes alamiyor",
    r"nefes almiyor",
    r"asiri doz",
    r"ambulans cagir\w*",
)
# Other scripts, matched on ``_script_key`` (NFKC, lower case, Russian yo as ye, Arabic
# without diacritics and with one alef / ya / ta marbuta). Chinese has no spaces: no \b.
_SCRIPT_SELF_HARM = re.compile(
    r"хочу умереть|покончить с собой|убить себя|убью себя|самоубийств|суицид|не хочу жить"
    r"|自杀|自殺|不想活|轻生|輕生|结束自己的生命|結束自己的生命|结束我的生命|結束我的生命"
    r"|اريد ان اموت|بدي موت|انتحار|انتحر|اقتل نفسي|لا اريد ان اعيش"
)
_SCRIPT_VIOLENCE = re.compile(
    r"меня бьет|бьет меня|хочет меня убить|убьет меня"
    r"|(?:他|她|老公|丈夫|男朋友|男友)(?:在|一直)?(?:打我|殴打我|毆打我)(?!电话|電話|手机|手機)"
    r"|要杀我|要殺我|救命"
    r"|يضربني|يريد قتلي|سيقتلني|النجده"
)
_SCRIPT_MEDICAL = re.compile(
    r"не дышит|передозировк|вызовите скорую"
    r"|不能呼吸|没有呼吸|沒有呼吸|没呼吸|沒呼吸|吃药过量|吃藥過量|服药过量|服藥過量"
    r"|لا يتنفس|جرعه زائده"
)
_ARABIC_MARKS = re.compile(r"[\u064b-\u0652\u0640]")


def _script_key(text: str) -> str:
    """Text in non-Latin scripts, comparable: lower case, NFKC, punctuation as spaces."""
    key = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    key = _ARABIC_MARKS.sub("", key)
    for variants, plain in (("أإآ", "ا"), ("ى", "ي"), ("ة", "ه")):
        for ch in variants:
            key = key.replace(ch, plain)
    return " ".join(re.sub(r"[^\w ]+", " ", key).split())


# "...if I go back", "la-bas", "au pays": the message is about what a return would bring.
_RETURN_CONTEXT = _any(
    r"(?:if|when|once|after) (?:i|we|they) (?:go|get|am|are|return|come|fly|land)\w*",
    r"go(?:ing)? (?:back|home)",
    r"back (?:home|there)",
    r"sent back",
    r"send (?:me|us) back",
    r"(?:in|to) (?:my|our|their) (?:country|village|town)",
    r"over there",
    r"deport\w*",
    r"la bas",
    r"serai(?:t|ent)",
    r"au pays",
    r"(?:dans|a) mon pays",
    r"(?:si|quand|une fois) (?:je|j|on|nous) "
    r"(?:rentre|retourne|arrive|suis renvoye)\w*",
    r"rentrer",
    r"(?:the|my|a|voluntary) return\b",
    r"return (?:home|to)",
    r"(?:apply|register|sign up) "
    r"(?:to go|for the return|for return)",
    r"register me",
    r"retourner",
    r"renvoy\w*",
    r"chez (?:moi|nous) (?:la bas|au pays)",
)

# (concern, language, pattern, contextual): the language tells which language to answer in
# when the conversation has none yet or the person switched ("jveux mourir" gets French).
_CONCERNS: tuple[tuple[Concern, str | None, re.Pattern[str], bool], ...] = (
    (Concern.SELF_HARM, "en", _SELF_HARM_EN, False),
    (Concern.SELF_HARM, "fr", _SELF_HARM_FR, False),
    (Concern.VIOLENCE, "en", _VIOLENCE_EN, False),
    (Concern.VIOLENCE, "fr", _VIOLENCE_FR, False),
    (Concern.MEDICAL, "en", _MEDICAL_EN, False),
    (Concern.MEDICAL, "fr", _MEDICAL_FR, False),
    (Concern.SELF_HARM, "other", _OTHER_SELF_HARM, False),
    (Concern.VIOLENCE, "other", _OTHER_VIOLENCE, False),
    (Concern.MEDICAL, "other", _OTHER_MEDICAL, False),
    (Concern.SELF_HARM, None, _SELF_HARM_CONTEXTUAL, True),
    (Concern.VIOLENCE, None, _VIOLENCE_CONTEXTUAL, True),
)

# A removal or departure: the only dates that make a conversation urgent.
_REMOVAL = _any(
    r"remov\w*",
    r"deport\w*",
    r"depart\w*",
    r"leave canada",
    r"leaving canada",
    r"(?:have|got|need|must|gotta) to (?:leave|go)",
    r"kick\w* out",
    r"sent back",
    r"send(?:ing)? me back",
    r"my flight",
    r"plane ticket",
    r"(?:cbsa|asfc|immigration) "
    r"(?:appointment|interview|meeting|rendez vous|rdv)",
    r"renvo\w*",
    r"expuls\w*",
    r"(?:quitter|partir du) (?:le )?canada",
    r"(?:dois|doit|faut) partir",
    r"mon vol",
    r"(?:le|ce|notre) vol",
    r"(?:je|on|nous) (?:pars|part|partons)",
    r"cbsa",
    r"asfc",
    r"fly(?:ing)? out",
    r"flight",
    r"(?:gave|given|give) (?:me )?a date",
    r"scheduled",
    r"(?:donne|donner|fixe) une date",
    r"billet d avion",
    r"(?:rendez vous|rdv|convocation)",
    r"(?:me )?(?:renvoyer|retourner) (?:chez moi|au pays|dans mon pays)",
)

_DETENTION = _any(
    r"detain\w*",
    r"detention",
    r"arrest\w*",
    r"lock(?:ed)? (?:me )?up",
    r"jail",
    r"prison",
    r"handcuff\w*",
    r"put me in (?:jail|prison|a cell)",
    r"take me away",
    r"deten\w*",
    r"detenu\w*",
    r"(?:m |me |nous )?arret(?:er|e|ent|eront|era)",
    r"enferm\w*",
    r"emprisonn\w*",
    r"holding cent(?:re|er)",
    r"kept (?:him|her|them|me|people)",
    r"keep (?:me|us) (?:there|in|locked)",
    r"(?:come|coming) (?:and )?(?:pick|get|take) (?:me|us)",
    r"mandat (?:contre moi|d arret)",
    r"(?:viennent|venir|vont venir|viendront) me (?:chercher|ramasser|prendre|arreter)",
    r"(?:garder|garde|gardee) en dedans",
    r"en dedans",
    r"menott\w*",
    r"centre de surveillance",
    # other languages, core words (the assistant answers in English and French)
    r"letartoztat\w*",  # Hungarian: arrest
    r"orizetbe ?vesz\w*",  # Hungarian: take into custody
    r"(?:me |nos )?(?:detengan|detener|arresten)",  # Spanish
)
# Fear, a question or the future: "will they arrest me", "j'ai peur qu'ils m'arretent".
_WORRY = _any(
    r"will (?:they|cbsa|you|i|the police)",
    r"are (?:they|you) going",
    r"(?:can|could|would) "
    r"(?:they|cbsa|the police|i)",
    r"is it (?:possible|true)",
    r"afraid",
    r"scared",
    r"worried",
    r"fear\w*",
    r"risk",
    r"what if",
    r"(?:gonna|going to) (?:get )?(?:detain|arrest|lock)\w*",
    r"do they",
    r"if i (?:go|show)",
    r"when i (?:go|show)",
    r"(?:vont|va|peuvent|peut|pourraient|risque)",
    r"peur",
    r"inquiet\w*",
    r"crain\w*",
    r"est ce (?:qu|que)",
    r"si je (?:vais|me presente)",
    r"quand je (?:vais|me presente)",
    r"felek|felunk|felsz|aggodom",  # Hungarian: I am afraid, worried
    r"miedo|medo",  # Spanish, Portuguese: fear
)
# "I was arrested in 2019": a past fact (the criminality question), not a fear.
_PAST = _any(r"(?:i was|i got|j ai ete|jai ete|ete) (?:arrested|detained|arrete|detenu)\w*")


# A whole message that is only a call for help.
_DISTRESS_ONLY = frozenset(
    {"emergency", "sos", "help help", "help me help", "urgence", "urgent help", "aidez moi vite",
     "c est grave", "aidez moi c est grave", "help me please its urgent"}
)  # fmt: skip


# "years ago", "in 2019", "il y a 3 ans": a past event (a medical or history question), unless
# the message also says it is happening now.
_LONG_AGO = _any(
    r"(?:years?|months?) ago",
    r"last (?:year|month)",
    r"in (?:19|20)\d\d",
    r"when i was (?:young|"
    r"a (?:kid|child|teenager)|little)",
    r"il y a (?:\d+|quelques|plusieurs|deux|trois) (?:ans|mois)",
    r"l an (?:dernier|passe)",
    r"l annee (?:derniere|passee)",
    r"en (?:19|20)\d\d",
    r"quand j etais (?:jeune|petit|petite|enfant|ado)",
)
_NOW = _any(
    r"now",
    r"tonight",
    r"today",
    r"again",
    r"right now",
    r"anymore",
    r"maintenant",
    r"ce soir",
    r"aujourd hui",
    r"encore",
    r"en ce moment",
    r"la",
)


def _key(text: str) -> str:
    """``fold`` with apostrophes, slashes and dots as spaces: "j'veux" -> "j veux"."""
    return re.sub(r"[^a-z0-9 ]+", " ", fold(text.replace("ı", "i"))).strip()


@dataclass(frozen=True)
class Signals:
    """What the safety layer saw in one message."""

    crisis: Crisis | None = None
    urgent_date: date | None = None
    detention_fear: bool = False

    @property
    def flags(self) -> list[str]:
        raised = [CRISIS] if self.crisis else []
        if self.urgent_date is not None:
            raised.append(URGENT_DATE)
        if self.detention_fear:
            raised.append(DETENTION_FEAR)
        return raised


@dataclass(frozen=True)
class Crisis:
    concern: Concern | None  # None: a crisis of an unknown kind ("no" to "are you safe?")
    # The language of the words that matched, when they tell ("other": Spanish or Portuguese,
    # answered in English and French).
    language: str | None


def crisis_match(text: str) -> Crisis | None:
    """The crisis a message describes, if any, and the language of the words that said it."""
    key = _key(text)
    if key in _DISTRESS_ONLY:
        return Crisis(Concern.VIOLENCE, None)  # danger of an unknown kind: the same guidance
    if _LONG_AGO.search(key) and not _NOW.search(key):
        return None  # a past event: the medical question or the history, not a crisis now
    about_return = bool(_RETURN_CONTEXT.search(key))
    for concern, language, pattern, contextual in _CONCERNS:
        if contextual and about_return:
            continue
        if pattern.search(key):
            return Crisis(concern, language)
    if not text.isascii():  # Cyrillic, Chinese, Arabic... (``_key`` dropped those letters)
        script = _script_key(text)
        for concern, pattern in (
            (Concern.SELF_HARM, _SCRIPT_SELF_HARM),
            (Concern.VIOLENCE, _SCRIPT_VIOLENCE),
            (Concern.MEDICAL, _SCRIPT_MEDICAL),
        ):
            if pattern.search(script):
                return Crisis(concern, "other")
    return None


def crisis_in(text: str) -> Concern | None:
    found = crisis_match(text)
    return found.concern if found else None


def close_removal_date(text: str, language: str, today: date, within_days: int) -> date | None:
    """The earliest removal or departure date the message names within ``within_days``."""
    key = _key(text)
    if not _REMOVAL.search(key):
        return None
    for when in dates_in(text, language, today):
        if 0 <= (when - today).days <= within_days:
            return when
    return None


def fears_detention(text: str) -> bool:
    key = _key(text)
    if not _DETENTION.search(key):
        return False
    if _PAST.search(key) and not _WORRY.search(key):
        return False
    return bool(_WORRY.search(key)) or "?" in text


def assess(text: str, language: str, today: date, urgent_within_days: int) -> Signals:
    """Everything the safety layer sees in one message (pure; no I/O)."""
    if not text or not text.strip():
        return Signals()
    return Signals(
        crisis=crisis_match(text),
        urgent_date=close_removal_date(text, language, today, urgent_within_days),
        detention_fear=fears_detention(text),
    )


# -- after a safety reply -----------------------------------------------------------------------
# What a person answers to the crisis guidance ("ok", "thanks", "I called 911, they are coming")
# is not a new crisis: it gets a short supportive reply, never the whole guidance again and
# never a form. What they answer to the gentle check ("Are you safe right now?") decides:
# "no" is a crisis, "yes, I'm safe" is not. Matched on the WHOLE message: anything more ("they
# are coming to kill me") is read as a new message (patterns first, then the classifier).
class AfterSafety(StrEnum):
    CRISIS = "crisis"  # the full crisis answer, flag and urgent referral
    SUPPORT = "support"  # a short supportive reply (a caseworker was asked; 911 if in danger)
    SAFE = "safe"  # "yes, I'm safe" to the check: a short reply, the conversation goes on


_ACK = (
    r"ok(?:ay|i|k)?|k+|alright|all right|fine|yes|yeah|yep|ya|sure"
    r"|thanks?(?: (?:you|u))?(?: so much)?|thx|ty|tysm|got it|understood|noted|will do"
    r"|i will|merci(?: beaucoup| bien)?|d ?accord"
    r"|dac+|oui|ouais|compris|bien recu|c est note|je vais le faire"
)
_REPORT = (
    r"i (?:have |ve |just |already )?(?:called|phoned|texted|dialed|dialled|contacted) (?:the )?"
    r"(?:911|9 1 1|988|police|cops|ambulance|an ambulance|paramedics|them|a crisis line|for help)"
    r"|(?:they|they re|theyre|police|the police|cops|ambulance|the ambulance|an ambulance|help"
    r"|paramedics|the paramedics|someone)(?: (?:are|is|s|re))? (?:coming|on (?:their|the|its|his|"
    r"her) way|here|arriving|here now|with me|with us|at the door)"
    r"|(?:i m|im|i am|we are|we re|were) (?:safe|ok|okay|fine|alright|at the hospital|in the "
    r"ambulance|with the police|with a neighbou?r|with a friend)"
    r"|(?:j ai|jai|j) (?:deja )?(?:appele|appelle|telephone a|texte|contacte) (?:le |la |l |les )?"
    r"(?:911|9 1 1|988|police|ambulance|secours|ambulanciers|une ambulance)"
    r"|(?:ils|elles|la police|l ambulance|les secours|les ambulanciers|quelqu un)"
    r" (?:arrivent|arrive|sont en route|est en route|sont la|est la|s en viennent|s en vient)"
    r"|(?:je suis|jsuis|chu|chui|suis|on est|nous sommes) (?:en securite|a l hopital|avec la police"
    r"|dans l ambulance|avec une amie?|avec un voisin|avec une voisine)"
    r"|ca va(?: mieux| aller| maintenant)?"
)
_SAFE_NOW = re.compile(r"\b(?:safe|ok|okay|fine|alright|en securite|ca va)\b")
_FILLER = r"and|et|now|maintenant|already|deja|just|so|donc|yes|oui|ok|please|svp|s il vous plait"
_SUPPORTIVE = re.compile(rf"(?:(?:{_ACK}|{_REPORT}|{_FILLER})\b\s*)+")
_NOT_SAFE = re.compile(
    r"(?:(?:no|non|nope|nah|not really|pas vraiment|pas du tout|not at all|help|help me|aide|"
    r"aidez moi|i m not|im not|i am not|je ne suis pas|je suis pas|chu pas|pas)(?: safe| ok| okay|"
    r" en securite| bien)?\b\s*)+"
)


def after_safety_reply(text: str, previous: str) -> AfterSafety | None:
    """What ``text`` means right after a safety reply of kind ``previous`` (``"crisis"``,
    ``"support"`` or ``"check"``: ``bot/crisis.py``), or None for an ordinary message."""
    key = " ".join(_key(text).split())
    if not key:
        return None
    if previous == "check":
        if _NOT_SAFE.fullmatch(key):
            return AfterSafety.CRISIS
        if _SUPPORTIVE.fullmatch(key):
            # "I called 911" to "are you safe?" says something is happening: the full answer.
            happening = re.search(_REPORT, key) and not _SAFE_NOW.search(key)
            return AfterSafety.CRISIS if happening else AfterSafety.SAFE
        return None
    if previous in ("crisis", "support") and _SUPPORTIVE.fullmatch(key):
        return AfterSafety.SUPPORT
    return None
