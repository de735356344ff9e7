"""Rasa's own data checks, and NLU accuracy per language on the held-out set (printed)."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime import evaluation, training
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

# A floor, not a target: the committed report (docs/nlu-evaluation.md) has the measured numbers.
MIN_ACCURACY = 0.80


def test_rasa_data_validate_passes() -> None:
    training.validate_data(progress=lambda _m: None)  # raises with Rasa's output on failure


def test_heldout_set_is_separate_from_training_data() -> None:
    import yaml

    trained = set()
    for path in training.DATA.glob("nlu_*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            trained |= {
                line.strip()[2:].strip().lower()
                for line in block["examples"].splitlines()
                if line.strip()
            }
    heldout = evaluation.load_heldout()
    assert {ex.language for ex in heldout} == {"en", "fr"}
    assert not [ex.text for ex in heldout if ex.text.lower() in trained]


async def test_heldout_accuracy_per_language(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = evaluation.load_heldout()
    results = await asyncio.to_thread(evaluation.evaluate, stack.settings.rasa_url, examples)
    with capsys.disabled():
        print("\n" + evaluation.summary(results))
        for language, result in sorted(results.items()):
            for expected, got, text, confidence in result.confusions:
                print(f"  [{language}] {expected} -> {got} ({confidence:.2f}): {text}")
    for language, result in results.items():
        assert result.total >= 100, language
        assert result.accuracy >= MIN_ACCURACY, evaluation.summary(results)
