"""Property-based tests: no webhook body, however odd, crashes the SMS or Telegram parsers."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import ImmutableMultiDict
from telegram import Bot

from bot.channels import sms, telegram
from bot.conversation import InboundMessage
from tests.fakes import tg_callback, tg_message

BOT = Bot("123456:TEST-token_abc")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
UPDATE_KEYS = [
    "update_id",
    "message",
    "edited_message",
    "channel_post",
    "callback_query",
    "my_chat_member",
    "chat",
    "from",
    "text",
    "photo",
    "data",
    "id",
    "date",
    "message_id",
    "type",
    "caption",
    "entities",
]


def _check(parsed: telegram.Parsed) -> None:
    assert parsed.message is None or isinstance(parsed.message, InboundMessage)
    if parsed.message is not None:
        assert len(parsed.message.text) <= 50


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_never_crashes_the_telegram_parser(data: Any) -> None:
    _check(telegram.parse(data, BOT, 50))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(UPDATE_KEYS), json_values, max_size=6),
    st.integers(min_value=-(2**40), max_value=2**40),
)
def test_update_shaped_json_never_crashes_the_telegram_parser(
    data: dict[str, Any], update_id: int
) -> None:
    _check(telegram.parse({**data, "update_id": update_id}, BOT, 50))


@settings(max_examples=200)
@given(st.sampled_from(["message", "callback_query"]), st.text(max_size=10), json_values)
def test_mutated_real_updates_never_crash_the_telegram_parser(
    kind: str, field: str, value: Any
) -> None:
    update = tg_message(42, "hello") if kind == "message" else tg_callback(42, "/greet")
    inner = update[kind]
    inner[field or "text"] = value
    _check(telegram.parse(update, BOT, 50))


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["MessageSid", "SmsSid", "From", "Body", "NumMedia", "To"])
            | st.text(max_size=10),
            st.text(max_size=80),
        ),
        max_size=8,
    )
)
def test_any_form_never_crashes_the_sms_parser(fields: list[tuple[str, str]]) -> None:
    parsed = sms.parse(ImmutableMultiDict(fields), 50)
    assert parsed is None or (parsed.channel == "sms" and len(parsed.text) <= 50)
