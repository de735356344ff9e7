"""The queue: filters, paging, and the rows and counts the page polls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.caseworker import i18n, service
from bot.caseworker.routes.common import Ctx, Signed, templates
from bot.intake import vocabulary

router = APIRouter()


# -- the queue -----------------------------------------------------------------------------


def _queue_filter(request: Request) -> service.QueueFilter:
    q = request.query_params
    page = q.get("page", "1")
    return service.QueueFilter(
        status=q.get("status", "active"),
        language=q.get("language", ""),
        channel=q.get("channel", ""),
        screening=q.get("screening", ""),
        assignee=q.get("assignee", ""),
        page=int(page) if page.isdigit() else 1,
    )


async def _queue_parts(ctx: Ctx, f: service.QueueFilter) -> dict[str, Any]:
    result = await service.queue(ctx.s, f, ctx.user)
    catalogue = service.flag_catalogue(ctx.settings.screening_rules_path)
    return {
        "rows": result.rows,
        "result": result,
        "counts": await service.counts(ctx.s, ctx.user, catalogue),
        "filter": f,
        "users": await service.active_users(ctx.s),
        "catalogue": catalogue,
        "OUTCOMES": vocabulary.OUTCOMES,
        "pager": {
            "prev": urlencode(f.as_query(page=result.page - 1)) if result.page > 1 else None,
            "next": urlencode(f.as_query(page=result.page + 1))
            if result.page < result.pages
            else None,
        },
    }


@router.get("/")
async def queue_page(ctx: Signed) -> Response:
    f = _queue_filter(ctx.request)
    return ctx.page("queue.html", query=urlencode(f.as_query()), **await _queue_parts(ctx, f))


@router.get("/queue/live")
async def queue_live(ctx: Signed) -> JSONResponse:
    """The rows and counts, rendered, for the page's poll."""
    parts = await _queue_parts(ctx, _queue_filter(ctx.request))
    context = {"t": lambda k: i18n.ui(k, ctx.lang), "lang": ctx.lang, "user": ctx.user, **parts}
    return JSONResponse(
        {
            "rows": templates.get_template("_queue_rows.html").render(**context),
            "counts": templates.get_template("_counts.html").render(**context),
            "total": parts["result"].total,
            # Urgent referrals waiting: the page flashes a notice and its title for new ones.
            "urgent": parts["counts"].urgent_ids,
        }
    )
