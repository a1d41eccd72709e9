"""A customer's PSA side (admin): which connection its run tickets go to, and its company (Jira:
project) in each connection, mapped by ID.

Actions that talk to the PSA never fail the page: their outcome (or the connector's error) is
shown on the next page. While a connection is disabled nothing here sends it a request.
``/customers/{id}/autotask`` is the address from before named connections.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.connectors.psa.base import CompanyPage
from ticketbridge.services.connections import mapping, named
from ticketbridge.services.connections.active import IntegrationUnavailable
from ticketbridge.services.connections.mapping import MappingError
from ticketbridge.services.runs import catalog
from ticketbridge.web.api.schemas import MAX_REMOTE_ID, Id
from ticketbridge.web.deps import CsrfChecked, Ctx, DbSession, UiAdmin
from ticketbridge.web.ui.templating import local_path, redirect, render

router = APIRouter()
Checked = [CsrfChecked]
ConnectionChoice = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


def page(customer_id: int, connection_id: int | None = None) -> str:
    """A customer's PSA page, on ``connection_id`` (None: where its run tickets go)."""
    base = f"/customers/{customer_id}/psa"
    return f"{base}?connection={connection_id}" if connection_id else base


@router.get("/customers/{customer_id}/psa", response_class=HTMLResponse)
@router.get("/customers/{customer_id}/autotask", response_class=HTMLResponse)
def customer_mapping_page(
    request: Request,
    customer_id: Id,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    search: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    connection: ConnectionChoice = None,
) -> Response:
    customer = catalog.get_customer(session, customer_id)
    tickets_to = named.for_customer(session, customer_id)
    shown = named.get(session, connection) if connection else tickets_to
    enabled = shown is not None and shown.enabled
    found: CompanyPage | None = None
    problem = None
    if search.strip() and enabled and shown is not None:
        try:
            found = mapping.search_companies(
                ctx, search, cursor=cursor or None, connection_id=shown.id
            )
        except (ConnectorError, IntegrationUnavailable, MappingError) as exc:
            problem = str(exc)
    return render(
        request,
        "customer_psa.html",
        session=session,
        principal=principal,
        customer=customer,
        connection=shown,
        tickets_to=tickets_to,
        connections=named.all_connections(session),
        current=(
            mapping.mapping_for_customer(session, customer_id, shown.id)
            if shown is not None
            else mapping.mapping_for_customer(session, customer_id)
        ),
        enabled=enabled,
        search=search,
        page=found,
        problem=problem,
    )


@router.post("/customers/{customer_id}/psa/ticketing-connection", dependencies=Checked)
def choose_ticketing_connection(
    request: Request,
    customer_id: Id,
    session: DbSession,
    principal: UiAdmin,
    connection_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    chosen = int(connection_id) if connection_id.isdigit() else None
    named.choose_for_customer(session, customer_id, chosen, actor=principal.actor)
    session.commit()
    return redirect(request, page(customer_id), "Where this customer's run tickets go is saved.")


@router.post("/customers/{customer_id}/psa", dependencies=Checked)
@router.post("/customers/{customer_id}/autotask", dependencies=Checked)
def map_customer(
    request: Request,
    customer_id: Id,
    session: DbSession,
    ctx: Ctx,
    principal: UiAdmin,
    company_id: Annotated[int, Form(gt=0, le=MAX_REMOTE_ID)],
    back: Annotated[str, Form(max_length=200)] = "",
    connection: ConnectionChoice = None,
) -> Response:
    target = local_path(back, "/customers")
    try:
        made = mapping.map_customer(
            ctx, customer_id, company_id, actor=principal.actor, connection_id=connection
        )
    except (ConnectorError, IntegrationUnavailable, MappingError) as exc:
        return redirect(request, page(customer_id, connection), f"Not mapped: {exc}", "error")
    where = (
        named.get(session, connection) if connection else named.for_customer(session, customer_id)
    )
    psa = where.name if where is not None else "PSA"
    return redirect(
        request, target, f"Mapped to {psa} company {made.cached_name} ({made.company_id})."
    )


@router.post("/customers/{customer_id}/psa/unmap", dependencies=Checked)
@router.post("/customers/{customer_id}/autotask/unmap", dependencies=Checked)
def unmap_customer(
    request: Request,
    customer_id: Id,
    session: DbSession,
    principal: UiAdmin,
    connection: ConnectionChoice = None,
) -> Response:
    mapping.unmap_customer(session, customer_id, actor=principal.actor, connection_id=connection)
    session.commit()
    return redirect(request, page(customer_id, connection), "Mapping removed.")


@router.post("/customers/{customer_id}/psa/acknowledge", dependencies=Checked)
@router.post("/customers/{customer_id}/autotask/acknowledge", dependencies=Checked)
def acknowledge_rename(
    request: Request,
    customer_id: Id,
    session: DbSession,
    principal: UiAdmin,
    connection: ConnectionChoice = None,
) -> Response:
    try:
        mapping.acknowledge_rename(
            session, customer_id, actor=principal.actor, connection_id=connection
        )
    except MappingError as exc:
        return redirect(request, page(customer_id, connection), str(exc), "error")
    session.commit()
    return redirect(request, page(customer_id, connection), "Rename acknowledged.")
