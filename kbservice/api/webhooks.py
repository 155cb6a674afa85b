"""Webhooks (admins): subscribe a URL to verdict changes, see its deliveries, re-enable it."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from ..access.tokens import Role
from ..contract.presenters import rfc3339
from ..contract.schemas import (
    DeliveryListSchema,
    PageQuerySchema,
    WebhookInSchema,
    WebhookListSchema,
    WebhookPatchSchema,
    WebhookSchema,
)
from ..http.context import get_database, get_primary_session
from ..notify import webhooks
from ..notify.models import Delivery, Webhook
from .auth import require
from .base import Blueprint

blp = Blueprint("webhooks", __name__, description="Webhooks: verdict changes pushed to receivers")

_SECURITY = [{"bearerAuth": []}]


def _moment(value: Any) -> str | None:
    return rfc3339(value) if value is not None else None


def _webhook(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "enabled": hook.enabled,
        "failures": hook.failures,
        "disabled_at": _moment(hook.disabled_at),
        "created_at": rfc3339(hook.created_at),
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    pending = delivery.status == "pending"
    return {
        "id": delivery.delivery,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": rfc3339(delivery.created_at),
        "next_attempt_at": _moment(delivery.next_attempt_at) if pending else None,
        "delivered_at": _moment(delivery.delivered_at),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
    }


@blp.route("/webhooks", methods=["POST"])
@blp.doc(security=_SECURITY)
@require(Role.ADMIN)
@blp.arguments(WebhookInSchema())
@blp.response(201, WebhookSchema)
@blp.alt_response(422, description="An invalid URL or an unknown event")
def create(body: dict[str, Any]) -> Response:
    """Subscribe a URL; deliveries are signed with the secret, which is never shown again."""
    with get_database().write() as session:
        hook = webhooks.create_webhook(session, body["url"], body["secret"], body["events"])
        answer = _webhook(hook)
    response = jsonify(answer)
    response.status_code = 201
    return response


@blp.route("/webhooks")
@blp.doc(security=_SECURITY)
@require(Role.ADMIN)
@blp.response(200, WebhookListSchema)
def list_all() -> Response:
    """Every webhook, with whether it is enabled and its failures in a row."""
    return jsonify({"items": [_webhook(h) for h in webhooks.list_webhooks(get_primary_session())]})


@blp.route("/webhooks/<int:webhook_id>", methods=["PATCH"])
@blp.doc(security=_SECURITY)
@require(Role.ADMIN)
@blp.arguments(WebhookPatchSchema())
@blp.response(200, WebhookSchema)
@blp.alt_response(404, description="No such webhook")
def patch(body: dict[str, Any], webhook_id: int) -> Response:
    """Enable a webhook again (after automatic disabling), or disable it."""
    with get_database().write() as session:
        answer = _webhook(webhooks.set_enabled(session, webhook_id, body["enabled"]))
    return jsonify(answer)


@blp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@blp.doc(security=_SECURITY)
@require(Role.ADMIN)
@blp.response(204)
@blp.alt_response(404, description="No such webhook")
def delete(webhook_id: int) -> Response:
    """Remove a webhook and its deliveries, pending ones included."""
    with get_database().write() as session:
        webhooks.delete_webhook(session, webhook_id)
    return Response(status=204)


@blp.route("/webhooks/<int:webhook_id>/deliveries")
@blp.doc(security=_SECURITY)
@require(Role.ADMIN)
@blp.arguments(PageQuerySchema(), location="query")
@blp.response(200, DeliveryListSchema)
@blp.alt_response(404, description="No such webhook")
def deliveries(query: dict[str, Any], webhook_id: int) -> Response:
    """The webhook's delivery log, newest first: status, attempts, the last answer or error."""
    rows, total = webhooks.list_deliveries(
        get_primary_session(), webhook_id, page=query["page"], per_page=query["per_page"]
    )
    return jsonify({"items": [_delivery(d) for d in rows], "total": total})
