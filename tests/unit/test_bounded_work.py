"""Bounded work per message: the splitter is linear on one long unbroken word (it was quadratic:
8,000 characters took 20 s), and a person cannot reach Rasa with an intent of their own."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import sms as sms_cost
from bot.channels import sms
from bot.channels.base import split_text
from bot.conversation import engine_input
from bot.engine import Reply


def counting(fits_limit: int) -> tuple[list[int], object]:
    measured: list[int] = []

    def fits(text: str) -> bool:
        measured.append(len(text))
        return sms_cost.cost(text).segments <= fits_limit

    return measured, fits


def test_one_long_word_costs_work_linear_in_its_length() -> None:
    """The characters the splitter hands to ``fits`` (the real cost: each call reads its text),
    for 2k, 4k and 8k characters: doubling the input at most about doubles the work."""
    work = {}
    for n in (2000, 4000, 8000):
        measured, fits = counting(3)
        pieces = split_text("x" * n, fits)  # type: ignore[arg-type]
        assert "".join(pieces) == "x" * n
        work[n] = sum(measured)
    # O(n log L) with L the piece length (459 GSM-7 characters in 3 segments); the old
    # splitter read ~n * L characters per piece, so about n^2 in all.
    for n in (2000, 4000, 8000):
        assert work[n] < 40 * n * math.log2(459), work
    assert work[8000] < 2.5 * work[4000] < 2.5**2 * work[2000]


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab. !?\nxé«"), min_size=0, max_size=1500),
    st.integers(min_value=1, max_value=4),
)
def test_split_text_keeps_every_character_and_every_piece_fits(text: str, segments: int) -> None:
    def fits(s: str) -> bool:
        return sms_cost.cost(s).segments <= segments

    pieces = split_text(text, fits)
    assert all(fits(p) for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == "".join(text.split())


def test_an_sms_reply_of_max_text_chars_renders_at_once() -> None:
    parts = sms.render(Reply("y" * 2000), "en", 3)
    assert "".join(p.text for p in parts) == "y" * 2000


def test_no_intent_reaches_rasa_behind_slashes_and_spaces() -> None:
    intents = frozenset({"greet", "program_what"})
    for text in ('/ /greet{"name": "x"}', " // /greet", "/\t/program_what", "/unknown"):
        step = engine_input(text, "en", None, "en", intents)
        assert not step.text.startswith("/"), (text, step.text)
        assert step.command is None
    assert engine_input("/", "en", None, "en", intents).text == "?"
    # A real button payload still goes through as the intent it is.
    assert engine_input("/program_what", "en", None, "en", intents).text == "/program_what"
