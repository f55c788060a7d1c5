"""Enterprise problem tickets (挂号 → 销号), the 依申请公开 figures and the 双公示 download."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.credit_feed import FIELDS, feed_items, may_read_feed
from engine.directory import list_departments
from engine.disclosure import disclosure_stats
from engine.errors import InvalidInput
from engine.permissions import may_log_tickets
from engine.tickets import (
    confirm_ticket, get_ticket, list_tickets, log_ticket, reply_ticket, ticket_stats, ticket_views,
)
from engine.vocab import Role, TicketStatus
from web.auth import roles_required
from web.exports import Column, download, requested_format
from web.extensions import clock, db_session

bp = Blueprint("tickets", __name__)
TICKET_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.WINDOW, Role.REVIEWER, Role.DEPARTMENT_HEAD)


def status_labels() -> dict[str, str]:
    return {TicketStatus.ASSIGNED: _("Assigned"), TicketStatus.ESCALATED: _("Escalated to supervision"),
            TicketStatus.REPLIED: _("Replied, awaiting confirmation"), TicketStatus.CLOSED: _("Closed")}


def category_labels() -> dict[str, str]:
    return {"approval": _("Approval services"), "policy": _("Policy support"), "factor": _("Land, utilities, staff"),
            "other": _("Other")}



@bp.app_template_global("may_log_tickets")
def _may_log_tickets(user: Any) -> bool:
    return may_log_tickets(user)

@bp.get("/tickets/")
@roles_required(*TICKET_ROLES)
def index() -> Any:
    session, now = db_session(), clock().now()
    status = request.args.get("status") or None
    if status not in (None, *TicketStatus):
        status = None
    return render_template("tickets/index.html", views=list_tickets(session, g.user, now, status), status=status,
                           stats=ticket_stats(session, g.user, now), statuses=status_labels(),
                           categories=category_labels(), departments=list_departments(session))


@bp.post("/tickets/")
@roles_required(Role.WINDOW, Role.ADMIN, Role.REVIEWER, Role.DEPARTMENT_HEAD)
def create() -> Any:
    form = request.form
    try:
        limit = int(form.get("limit_days", "").strip())
    except ValueError:
        raise InvalidInput("the time limit must be a whole number of working days") from None
    fields = {key: form.get(key) for key in ("enterprise_name", "credit_code", "contact_name", "contact_phone",
                                             "problem", "category", "department")}
    ticket = log_ticket(db_session(), clock(), g.user, {**fields, "limit_days": limit})
    flash(_("Problem logged and assigned."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.get("/tickets/<int:ticket_id>")
@roles_required(*TICKET_ROLES)
def show(ticket_id: int) -> Any:
    session = db_session()
    view = ticket_views(session, [get_ticket(session, g.user, ticket_id)], clock().now())[0]
    return render_template("tickets/show.html", v=view, statuses=status_labels(), categories=category_labels())


@bp.post("/tickets/<int:ticket_id>/reply")
@roles_required(Role.REVIEWER, Role.DEPARTMENT_HEAD)
def reply(ticket_id: int) -> Any:
    reply_ticket(db_session(), clock(), g.user, ticket_id, request.form.get("reply", ""))
    flash(_("Reply sent; the enterprise will be asked to confirm."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/confirm")
@roles_required(Role.WINDOW, Role.ADMIN)
def confirm(ticket_id: int) -> Any:
    solved = request.form.get("solved") == "1"
    confirm_ticket(db_session(), clock(), g.user, ticket_id, solved, request.form.get("comment", ""))
    flash(_("Ticket closed.") if solved else _("Sent back to the department for another round."), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id))


@bp.get("/disclosure/stats")
@roles_required(Role.SUPERVISOR, Role.ADMIN, Role.REVIEWER, Role.DEPARTMENT_HEAD)
def disclosure() -> Any:
    stats = disclosure_stats(db_session(), clock(), g.user)
    answers = {"public": _("Disclosed"), "partial": _("Partly disclosed"), "exempt": _("Not disclosed"),
               "not_exist": _("Information does not exist"), "not_ours": _("Not this office's information")}
    return render_template("tickets/disclosure.html", stats=stats, answers=answers,
                           feed=may_read_feed(g.user))


@bp.get("/credit-feed")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def credit_feed() -> Any:
    items = feed_items(db_session(), g.user, 0, 100_000)
    fmt = requested_format(request.args.get("format")) or "xlsx"
    return download(fmt, "credit-feed", [Column(name, name) for name in FIELDS], [i.record for i in items], "双公示")


