"""The JSON API under /api/v1: one router per resource."""

from fastapi import APIRouter

from ticketbridge.web.api import (
    alerts,
    connections,
    customers,
    desk_tickets,
    inbox,
    integrations,
    mail,
    roundtrip,
    runs,
    service_desk,
    sync_hooks,
    syncs,
    ticket_duplicates,
    tickets,
)

router = APIRouter(prefix="/api/v1")
router.include_router(runs.router)
router.include_router(tickets.router)
router.include_router(ticket_duplicates.router)
router.include_router(customers.router)
router.include_router(connections.router)
router.include_router(integrations.router)
router.include_router(inbox.router)
router.include_router(mail.router)
router.include_router(roundtrip.router)
router.include_router(alerts.router)
router.include_router(syncs.router)
router.include_router(sync_hooks.router)
router.include_router(service_desk.router)
router.include_router(desk_tickets.router)
