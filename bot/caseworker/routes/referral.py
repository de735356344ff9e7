"""One referral: the page, its live messages, and every action on it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from bot.caseworker import audit, i18n, service
from bot.caseworker.replies import OptedOut, send_reply
from bot.caseworker.routes.common import Ctx, Forbidden, Signed, back_to, flash, templates
from bot.channels import window as whatsapp_window
from bot.intake import vocabulary
from bot.store.caseworkers import AuditEntry
from bot.store.models import Author, utcnow

router = APIRouter()

MAX_MESSAGE_ID = 2**31 - 1  # messages.id is an INTEGER: a larger ?after= is a 422, not a 500


# -- one referral --------------------------------------------------------------------------


async def _window(ctx: Ctx, v: service.ReferralView) -> whatsapp_window.View | None:
    """On WhatsApp: is the 24-hour window open, and what will happen to a reply written now."""
    if v.conversation.channel != "whatsapp":
        return None
    gate = getattr(ctx.request.app.state.channels, "window", None)
    state = await whatsapp_window.read_state(ctx.s, v.contact.id)
    now = gate.clock() if gate is not None else utcnow()
    return whatsapp_window.describe(state, now, gate is not None and gate.has_template)


async def _referral_page(ctx: Ctx, referral_id: str, revealed: bool = False) -> Response:
    try:
        v = await service.view(ctx.s, referral_id)
    except service.ActionError as exc:
        # Erased at the person's request: the queue shows nothing of it, this page says so.
        erased = await ctx.s.scalar(
            select(AuditEntry)
            .where(AuditEntry.referral_id == referral_id, AuditEntry.action == "erased")
            .limit(1)
        )
        if erased is not None:
            reference = (erased.detail or {}).get("reference")
            return ctx.page("erased.html", 410, reference=reference, at=erased.at)
        raise Forbidden(ctx.lang, "not_found", 404) from exc
    window = await _window(ctx, v)
    audit.record(ctx.s, ctx.user, "reveal_contact" if revealed else "view", referral_id)
    await ctx.s.commit()
    catalogue = service.flag_catalogue(ctx.settings.screening_rules_path)
    return ctx.page(
        "referral.html",
        v=v,
        rows=vocabulary.rows(v.intake, ctx.lang),
        catalogue=catalogue,
        urgent=vocabulary.urgent_flags(catalogue, v.referral.flags),
        revealed=revealed,
        users=await service.active_users(ctx.s),
        names=await service.user_names(ctx.s),
        person_lang=i18n.person_language(v.referral.language or v.conversation.language),
        done=flash(ctx.request, "done"),
        error=flash(ctx.request, "error"),
        last_id=v.messages[-1].id if v.messages else 0,
        max_reply=ctx.settings.max_text_chars,
        window=window,
    )


@router.get("/referrals/{referral_id}")
async def referral_page(referral_id: str, ctx: Signed) -> Response:
    return await _referral_page(ctx, referral_id)


@router.post("/referrals/{referral_id}/reveal")
async def reveal(referral_id: str, ctx: Signed) -> Response:
    return await _referral_page(ctx, referral_id, revealed=True)


@router.get("/referrals/{referral_id}/messages")
async def referral_messages(
    referral_id: str,
    ctx: Signed,
    after: Annotated[int, Query(ge=0, le=MAX_MESSAGE_ID)] = 0,
) -> JSONResponse:
    """New messages of the conversation for the page's poll.

    Every call that returns messages is audited (``read_messages``, with the ids it returned):
    ``after=0`` reads the whole conversation and must leave a trace like a page view. A poll
    that finds nothing new reads nothing and records nothing, so an open tab does not flood the
    log: it adds one entry per batch of new messages it shows."""
    try:
        referral = await service.load(ctx.s, referral_id)
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc
    rows = await service.messages_after(ctx.s, referral, after)
    if rows:
        audit.record(
            ctx.s,
            ctx.user,
            "read_messages",
            referral.id,
            after=after,
            count=len(rows),
            first_id=rows[0].id,
            last_id=rows[-1].id,
        )
        await ctx.s.commit()
    html = templates.get_template("_messages.html").render(
        messages=rows, t=lambda k: i18n.ui(k, ctx.lang), lang=ctx.lang
    )
    return JSONResponse({"html": html, "last_id": rows[-1].id if rows else after})


async def _act(ctx: Ctx, referral_id: str) -> tuple[service.Referral, dict[str, str]]:
    form = ctx.form
    try:
        return await service.load(ctx.s, referral_id), form
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc


async def _status_message(ctx: Ctx, referral: service.Referral, key: str) -> None:
    conversation = await ctx.s.get(service.Conversation, referral.conversation_id)
    assert conversation is not None
    text = i18n.STATUS[key][i18n.person_language(conversation.language or referral.language)]
    audit.record(ctx.s, ctx.user, "status_message", referral.id, message=key)
    await send_reply(
        ctx.s,
        ctx.request.app.state.conversations.delivery_hooks,
        conversation,
        text,
        author=Author.SYSTEM,
    )


async def _apply(
    ctx: Ctx,
    referral: service.Referral,
    action: Callable[[], Awaitable[object] | object],
    notify: str | None = None,
) -> Response:
    """One action on a referral, then (if asked) a status message to the person, then commit.

    A refused action goes back to the page with its reason. If the person opted out, the action
    stands and only the message to them is not sent.
    """
    try:
        result = action()
        if inspect.isawaitable(result):
            await result
        if notify:
            await _status_message(ctx, referral, notify)
    except service.ActionError as exc:
        return back_to(referral.id, error=exc.code)
    except OptedOut:
        await ctx.s.commit()
        return back_to(referral.id, error="opted_out")
    await ctx.s.commit()
    return back_to(referral.id, done="done")


@router.post("/referrals/{referral_id}/claim")
async def claim(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    notify = "claimed" if form.get("notify") else None
    return await _apply(ctx, referral, lambda: service.claim(ctx.s, ctx.user, referral), notify)


@router.post("/referrals/{referral_id}/assign")
async def assign(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    assignee = form.get("assignee")
    if assignee:
        return await _apply(
            ctx, referral, lambda: service.assign(ctx.s, ctx.user, referral, assignee)
        )
    return await _apply(ctx, referral, lambda: service.unassign(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/take-over")
async def take_over(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.take_over(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/hand-back")
async def hand_back(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.hand_back(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/reply")
async def reply(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    text = form.get("text", "").strip()
    canned = i18n.CANNED.get(form.get("canned", ""))
    if not text and canned:
        text = canned[i18n.person_language(referral.language)]
    if not text:
        return back_to(referral_id, error="empty_reply")
    if len(text) > ctx.settings.max_text_chars:  # the form's maxlength stops this in a browser
        return back_to(referral_id, error="reply_too_long")
    try:
        conversation = await service.take_over(ctx.s, ctx.user, referral)
        audit.record(ctx.s, ctx.user, "reply", referral.id, chars=len(text))
        await send_reply(
            ctx.s, ctx.request.app.state.conversations.delivery_hooks, conversation, text
        )
    except service.ActionError as exc:
        return back_to(referral_id, error=exc.code)
    except OptedOut:
        await ctx.s.rollback()
        return back_to(referral_id, error="opted_out")
    return back_to(referral_id, done="sent")


@router.post("/referrals/{referral_id}/close")
async def close(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    outcome, note = form.get("outcome", ""), form.get("note", "")
    return await _apply(
        ctx,
        referral,
        lambda: service.close(ctx.s, ctx.user, referral, outcome, note),
        "closed" if form.get("notify") else None,
    )


@router.post("/referrals/{referral_id}/reopen")
async def reopen(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.reopen(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/notes")
async def add_note(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    if form.get("text", "").strip():
        service.add_note(ctx.s, ctx.user, referral, form["text"][:5000])
        await ctx.s.commit()
    return back_to(referral_id, done="done")
