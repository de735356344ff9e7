"""In-process fake Twilio REST and Telegram Bot API servers (real HTTP on loopback).

The app's real ``twilio`` and ``python-telegram-bot`` clients talk to these through
``TWILIO_API_BASE_URL`` / ``TELEGRAM_API_BASE_URL``. Each records what it was asked to send and
can be told to fail the next requests (HTTP 500, 429 with ``retry_after``, Twilio 21610, a
Telegram 403 "bot was blocked").

WhatsApp on the fake Twilio: ``whatsapp:`` addresses, content-template sends (``ContentSid`` and
``ContentVariables``, no ``Body``), and its errors: 63016 for a free-form message to an address
whose window is closed (``window_closed``), 63003 for an address that is not a WhatsApp user
(``not_whatsapp``), 63007 for a WhatsApp message from a sender that is not one.

The fake Twilio can also answer 429 / 503 with a ``Retry-After`` header and hold requests open
(a slow Twilio), counting how many are in flight.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers import LoopbackServer

TWILIO_SID = "AC" + "a" * 32
TWILIO_TOKEN = "twilio-test-auth-token"
TELEGRAM_TOKEN = "123456:TEST-token_abc"


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded body (what both clients send for these calls)."""
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


class FakeTwilio(LoopbackServer):
    """Twilio's REST API for messages: create (``POST .../Messages.json``), delete
    (``DELETE .../Messages/{sid}.json``) and their media (list, delete)."""

    def __init__(self) -> None:
        base = "/2010-04-01/Accounts/{sid}/Messages"
        super().__init__(
            [
                Route(f"{base}.json", self._create, methods=["POST"]),
                Route(f"{base}/{{msid}}.json", self._delete, methods=["DELETE"]),
                Route(f"{base}/{{msid}}/Media.json", self._media_list, methods=["GET"]),
                Route(
                    f"{base}/{{msid}}/Media/{{media}}.json", self._media_delete, methods=["DELETE"]
                ),
            ]
        )
        self.sent: list[dict[str, str]] = []  # accepted messages, in order
        self.requests = 0  # every create call, failed ones included
        # HTTP statuses to answer the next calls with; (status, "Retry-After value") adds the
        # header; None answers that call normally.
        self.fail_next: list[int | tuple[int, str] | None] = []
        self.blocked: set[str] = set()  # numbers that answer 21610
        self.window_closed: set[str] = set()  # WhatsApp addresses refusing free-form (63016)
        self.not_whatsapp: set[str] = set()  # WhatsApp addresses of no WhatsApp user (63003)
        self.hold = False  # keep create calls waiting until set back to False
        self.delay_seconds = 0.0  # a slow Twilio: every create call takes this long
        self.in_flight = 0  # create calls being answered right now
        self.max_in_flight = 0
        self._in_flight_to: dict[str, int] = {}
        self.max_in_flight_to = 0  # the most calls in flight at once to one number
        self.deleted: list[str] = []  # message SIDs deleted, in order
        self.media: dict[str, list[str]] = {}  # message SID -> its media SIDs (inbound MMS)
        self.media_deleted: list[str] = []
        self.fail_delete_next: list[int] = []  # statuses for the next message deletes

    def _authorised(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        return auth == f"Basic {expected}" and request.path_params["sid"] == TWILIO_SID

    @staticmethod
    def _unauthorised() -> JSONResponse:
        return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)

    @staticmethod
    def _not_found() -> JSONResponse:
        return JSONResponse(
            {"code": 20404, "message": "The requested resource was not found", "status": 404},
            404,
        )

    async def _delete(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        msid = request.path_params["msid"]
        with self.lock:
            failure = self.fail_delete_next.pop(0) if self.fail_delete_next else None
            if failure is None and msid in self.deleted:
                return self._not_found()
            if failure is None:
                self.deleted.append(msid)
        if failure is not None:
            return JSONResponse(
                {"code": 20009, "message": "Cannot delete message", "status": failure}, failure
            )
        return Response(status_code=204)

    async def _media_list(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._unauthorised()
        msid = request.path_params["msid"]
        with self.lock:
            media = [m for m in self.media.get(msid, []) if m not in self.media_deleted]
        uri = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{msid}/Media.json"
        return JSONResponse(
            {
                "media_list": [
                    {"sid": m, "account_sid": TWILIO_SID, "parent_sid": msid,
                     "content_type": "image/jpeg"}
                    for m in media
                ],
                "end": max(len(media) - 1, 0), "first_page_uri": uri, "next_page_uri": None,
                "page": 0, "page_size": 50, "previous_page_uri": None, "start": 0, "uri": uri,
            }
        )  # fmt: skip

    async def _media_delete(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        media = request.path_params["media"]
        with self.lock:
            self.media_deleted.append(media)
        return Response(status_code=204)

    async def _create(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._unauthorised()
        form = await _form(request)
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            to = form.get("To", "")
            self._in_flight_to[to] = self._in_flight_to.get(to, 0) + 1
            self.max_in_flight_to = max(self.max_in_flight_to, self._in_flight_to[to])
        try:
            # A slow Twilio, answered when the test lets go (set from the test's own thread and
            # event loop, so not an asyncio.Event of this server's loop).
            while self.hold:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            return self._answer_create(form)
        finally:
            with self.lock:
                self.in_flight -= 1
                self._in_flight_to[to] -= 1

    def _answer_create(self, form: dict[str, str]) -> JSONResponse:
        with self.lock:
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            status, retry_after = failure if isinstance(failure, tuple) else (failure, None)
            return JSONResponse(
                {"code": 20429 if status == 429 else 20500, "message": "fail", "status": status},
                status,
                headers={"Retry-After": retry_after} if retry_after else None,
            )
        if form.get("To") in self.blocked:
            return self._error(21610, "Attempt to send to unsubscribed recipient")
        refusal = self._whatsapp_refusal(form)
        if refusal is not None:
            return refusal
        if len(form.get("Body", "")) > 1600:
            return self._error(21617, "The concatenated message body exceeds the 1600 limit")
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.sent.append({**form, "Sid": sid})
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": TWILIO_SID,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}.json",
            },
            201,
        )

    @staticmethod
    def _error(code: int, message: str, status: int = 400) -> JSONResponse:
        return JSONResponse(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status,
        )

    def _whatsapp_refusal(self, form: dict[str, str]) -> JSONResponse | None:
        to = form.get("To", "")
        if not to.startswith("whatsapp:"):
            return None
        if not (form.get("From", "").startswith("whatsapp:") or form.get("MessagingServiceSid")):
            return self._error(63007, "Twilio could not find a Channel with the From address")
        if to in self.not_whatsapp:
            return self._error(63003, "Channel could not find To address")
        if form.get("ContentSid"):
            if form.get("Body"):  # the fake's own rule: a template goes without a Body
                return self._error(0, "fake: send a content template without Body")
            return None
        if to in self.window_closed:
            return self._error(63016, "Outside messaging window; use a template")
        return None

    def bodies(self, to: str | None = None) -> list[str]:
        """The texts sent (content-template sends, which have none, left out)."""
        return [m["Body"] for m in self.sent if "Body" in m and (to is None or m["To"] == to)]

    def contents(self, to: str | None = None) -> list[str]:
        """What each message sent to ``to`` was, in order: its Body, or ``template:<sid>``."""
        return [
            m["Body"] if "Body" in m else f"template:{m['ContentSid']}"
            for m in self.sent
            if to is None or m["To"] == to
        ]


class FakeTelegram(LoopbackServer):
    """``/bot<token>/<method>`` like the Telegram Bot API (the methods the app uses)."""

    def __init__(self) -> None:
        super().__init__([Route("/bot{token}/{method}", self._method, methods=["GET", "POST"])])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []  # accepted sendMessage calls
        self.fail_next: list[int] = []  # statuses for the next sendMessage calls
        self.blocked: set[int] = set()  # chat ids that blocked the bot (403)
        self.updates: list[dict[str, Any]] = []  # served by getUpdates (polling mode)
        self.deleted: list[tuple[int, int]] = []  # (chat_id, message_id) deleteMessage removed
        self.too_old: set[int] = set()  # message ids deleteMessage refuses (over 48 hours old)
        self.incoming: set[tuple[int, int]] = set()  # (chat_id, message_id) the person sent
        self._ids = itertools.count(1000)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return await request.json()
        params: dict[str, Any] = {}
        for key, value in (await _form(request)).items():
            try:
                params[key] = json.loads(str(value))
            except ValueError:
                params[key] = str(value)
        return params

    async def _method(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != TELEGRAM_TOKEN:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        method = request.path_params["method"]
        params = await self._params(request)
        with self.lock:
            self.calls.append((method, params))
        if method == "getMe":
            return self._ok(
                {"id": 123456, "is_bot": True, "first_name": "Intake", "username": "intake_bot"}
            )
        if method == "sendMessage":
            return self._send(params)
        if method == "getUpdates":
            with self.lock:
                updates, self.updates = self.updates, []
            return self._ok(updates)
        if method == "deleteMessage":
            return self._delete(params)
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return self._ok(True)
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    def _send(self, params: dict[str, Any]) -> JSONResponse:
        with self.lock:
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure == 429:
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                429,
            )
        if failure is not None:
            return JSONResponse(
                {"ok": False, "error_code": failure, "description": "Internal error"}, failure
            )
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return JSONResponse(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"},
                403,
            )
        message_id = next(self._ids)
        with self.lock:
            self.sent.append({**params, "message_id": message_id})
        return self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
        )

    def _delete(self, params: dict[str, Any]) -> JSONResponse:
        """deleteMessage: the bot's own messages and the person's (``incoming``) in a private
        chat, once, and not those marked ``too_old`` (Telegram refuses after 48 hours)."""
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        with self.lock:
            known = (chat_id, message_id) in self.incoming or any(
                int(m["chat_id"]) == chat_id and m.get("message_id") == message_id
                for m in self.sent
            )
            if known and message_id in self.too_old:
                failure = "Bad Request: message can't be deleted"
            elif not known or (chat_id, message_id) in self.deleted:
                failure = "Bad Request: message to delete not found"
            else:
                self.deleted.append((chat_id, message_id))
                return self._ok(True)
        return JSONResponse({"ok": False, "error_code": 400, "description": failure}, 400)

    @staticmethod
    def _ok(result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m["text"] for m in self.sent if chat_id is None or int(m["chat_id"]) == chat_id]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


# -- builders of inbound requests --------------------------------------------------------

_update_ids = itertools.count(500_000)


def tg_user(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Test"}
    if language_code:
        user["language_code"] = language_code
    return user


def tg_message(
    chat_id: int,
    text: str | None = None,
    *,
    update_id: int | None = None,
    language_code: str | None = "en",
    chat_type: str = "private",
    key: str = "message",
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": tg_user(chat_id, language_code),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):  # Telegram marks commands with an entity
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id or next(_update_ids), key: message}


def tg_callback(chat_id: int, data: str, language_code: str | None = "en") -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": tg_user(chat_id, language_code),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": next(_update_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "previous",
            },
        },
    }
