"""NLU evaluation on two sets of messages in ``nlu/eval``, written apart from the training data.

- ``test_{en,fr}.yml``: the blind test set, written without reading ``nlu/data``. Its accuracy is
  the number the project reports; do not tune on its confusions, or it stops measuring anything.
- ``dev_{en,fr}.yml``: the development set (the earlier held-out set). Training data and
  ``config.yml`` were changed after reading its confusions, so it is optimistic: tune on it.

Each message is parsed by a running Rasa (``POST /model/parse``); accuracy is reported per
language with every confusion listed, so a change in ``config.yml`` or the data is judged on
numbers. ``intake evaluate`` writes the report to ``docs/nlu-evaluation.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from bot.engine import api_params
from bot.settings import PROJECT_ROOT

EVAL_DIR = PROJECT_ROOT / "nlu" / "eval"
SETS = ("test", "dev")  # the blind test set first: it is the headline number


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    text: str


@dataclass(frozen=True)
class Parsed:
    """The classifier's own guess, before the FallbackClassifier: used to tune its thresholds."""

    expected: str
    top: str
    confidence: float
    margin: float  # confidence of the top intent minus that of the second


@dataclass
class LanguageResult:
    total: int = 0
    correct: int = 0
    confusions: list[tuple[str, str, str, float]] = field(default_factory=list)
    parsed: list[Parsed] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_set(name: str, directory: Path = EVAL_DIR) -> list[Example]:
    """The messages of one evaluation set (``test`` or ``dev``), both languages."""
    if name not in SETS:
        raise ValueError(f"unknown evaluation set {name!r}; expected one of {SETS}")
    pattern = re.compile(rf"{name}_(en|fr)\.yml$")
    examples: list[Example] = []
    for path in sorted(directory.glob(f"{name}_*.yml")):
        match = pattern.search(path.name)
        if not match:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in data.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    examples.append(Example(match.group(1), block["intent"], text))
    return examples


def evaluate(
    rasa_url: str, examples: list[Example], auth_token: str = ""
) -> dict[str, LanguageResult]:
    """Each example through ``POST /model/parse`` (Rasa's API: ``auth_token`` is its token)."""
    results: dict[str, LanguageResult] = {}
    with httpx.Client(base_url=rasa_url, timeout=30.0) as client:
        for ex in examples:
            response = client.post(
                "/model/parse", params=api_params(auth_token), json={"text": ex.text}
            )
            response.raise_for_status()
            body = response.json()
            intent = body.get("intent") or {}
            predicted, confidence = intent.get("name") or "", float(intent.get("confidence") or 0)
            result = results.setdefault(ex.language, LanguageResult())
            ranking = [r for r in body.get("intent_ranking") or [] if r.get("name") != FALLBACK]
            if ranking:
                second = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
                top_conf = float(ranking[0]["confidence"])
                result.parsed.append(
                    Parsed(ex.intent, ranking[0]["name"], top_conf, top_conf - second)
                )
            result.total += 1
            if predicted == ex.intent:
                result.correct += 1
            else:
                result.confusions.append((ex.intent, predicted, ex.text, confidence))
    return results


FALLBACK = "nlu_fallback"
# Heading of the hand-written part of docs/nlu-evaluation.md, kept by `intake evaluate`.
TUNING_LOG = "## Tuning log"
# Thresholds compared in the report (config.yml's FallbackClassifier); measured, not guessed.
SWEEP = [(t, a) for t in (0.3, 0.4, 0.5, 0.6, 0.7) for a in (0.0, 0.05, 0.1)]


def sweep(result: LanguageResult, threshold: float, ambiguity: float) -> tuple[float, float]:
    """(accuracy, share sent to the clarification) had the fallback used these thresholds."""
    if not result.parsed:
        return 0.0, 0.0
    correct = fallback = 0
    for p in result.parsed:
        if p.confidence < threshold or p.margin < ambiguity:
            fallback += 1
        elif p.top == p.expected:
            correct += 1
    n = len(result.parsed)
    return correct / n, fallback / n


Results = dict[str, LanguageResult]  # per language


def summary(results: Results, set_name: str = "test") -> str:
    parts = [
        f"{lang}: {r.accuracy:.1%} ({r.correct}/{r.total})" for lang, r in sorted(results.items())
    ]
    return f"NLU intent accuracy on the {set_name} set — " + ", ".join(parts)


_SET_TITLES = {
    "test": "Blind test set (`nlu/eval/test_*.yml`): written without reading the training data",
    "dev": "Development set (`nlu/eval/dev_*.yml`): used for tuning, so optimistic",
}


def report(by_set: dict[str, Results], model_name: str) -> str:
    """Markdown report: accuracy per set and language, the threshold sweep, the confusions."""
    lines = [
        "# NLU evaluation",
        "",
        f"Model `{model_name}`, trained on `nlu/data/`. Reproduce with `intake evaluate`.",
        "Both sets were written separately from the training data; the blind test set is the",
        "reported number (see `bot/runtime/evaluation.py`). A prediction of `nlu_fallback`",
        "means the assistant would ask to clarify, and counts as wrong.",
        "",
        "| set | language | accuracy | correct | total |",
        "|---|---|---|---|---|",
    ]
    for name, results in by_set.items():
        for lang, r in sorted(results.items()):
            lines.append(f"| {name} | {lang} | {r.accuracy:.1%} | {r.correct} | {r.total} |")
    for name, results in by_set.items():
        lines += ["", f"## {_SET_TITLES.get(name, name)}", ""]
        lines += _sweep_table(results)
        for lang, r in sorted(results.items()):
            lines += _confusions(r, f"### Confusions ({name}, {lang})")
    return "\n".join(lines) + "\n"


def _sweep_table(results: Results) -> list[str]:
    lines = [
        "Fallback thresholds: accuracy (and share of messages sent to the clarification) had",
        "the FallbackClassifier used each threshold / ambiguity; computed from the same parses.",
        "",
        "| threshold | ambiguity | "
        + " | ".join(f"{lang} accuracy | {lang} clarified" for lang in sorted(results))
        + " |",
        "|---|---|" + "---|---|" * len(results),
    ]
    for threshold, ambiguity in SWEEP:
        cells = []
        for _lang, r in sorted(results.items()):
            acc, fb = sweep(r, threshold, ambiguity)
            cells += [f"{acc:.1%}", f"{fb:.1%}"]
        lines.append(f"| {threshold} | {ambiguity} | " + " | ".join(cells) + " |")
    return lines


def _confusions(r: LanguageResult, title: str) -> list[str]:
    lines = ["", title, ""]
    if not r.confusions:
        return [*lines, "None."]
    pairs = Counter((expected, got) for expected, got, _, _ in r.confusions)
    lines += ["| expected | predicted | count |", "|---|---|---|"]
    lines += [f"| {e} | {g} | {n} |" for (e, g), n in pairs.most_common()]
    lines += ["", "| expected | predicted | confidence | message |", "|---|---|---|---|"]
    for expected, got, text, confidence in r.confusions:
        safe = text.replace("|", "\\|")
        lines.append(f"| {expected} | {got} | {confidence:.2f} | {safe} |")
    return lines
