"""The safety evaluation harness itself (bot/runtime/safety_evaluation.py) on a small fixture
set, against the real Rasa: what it counts as a hit, a miss, a false alarm and a failed
scenario. The blind set is measured by `intake evaluate --set safety`, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime import safety_evaluation
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parent.parent / "fixtures" / "safety_eval"


async def test_the_harness_counts_hits_misses_false_alarms_and_failures(stack: Stack) -> None:
    service = stack.client.app.state.conversations  # type: ignore[attr-defined]
    results = await safety_evaluation.evaluate(
        stack.settings, FIXTURE, nlu_sets=(), service=service
    )
    assert results.crisis_fresh["en"].cell() == "1/2 (50.0%)"
    assert results.crisis_fresh["en"].misses == ["what documents do i need"]
    assert results.crisis_in_intake["fr"].hits == 1
    assert results.intake_started == [] and results.form_not_stopped == []
    assert results.urgent["urgent_date (en)"].hits == 1
    assert results.urgent["detention_fear (fr)"].hits == 1
    assert results.hard_false_alarms["en"].caught == ["i want to end my life"]
    assert results.hard_false_alarms["fr"].hits == 0
    by_id = {s.id: s for s in results.scenarios}
    assert by_id["crisis-mid-intake"].passed, by_id["crisis-mid-intake"].problems
    assert by_id["ordinary"].passed, by_id["ordinary"].problems
    assert not by_id["wrong-on-purpose"].passed
    assert "turn 1: no emergency guidance" in by_id["wrong-on-purpose"].problems
    report = safety_evaluation.report(results, "model.tar.gz")
    assert "## Scenarios: 2/3 passed" in report
    assert "false alarm, blind hard ordinary (en): 'i want to end my life'" in report
