"""All page routers."""

from fastapi import APIRouter

from ticketbridge.web.ui import (
    admin_pages,
    alert_pages,
    auth_pages,
    connection_pages,
    desk_mailbox_pages,
    duplicate_pages,
    integration_pages,
    mail_admin_pages,
    mail_pages,
    review_pages,
    roundtrip_pages,
    schedule_pages,
    service_desk_pages,
    sso_pages,
    sync_pages,
    ticket_pages,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages.router)
router.include_router(sso_pages.router)
router.include_router(review_pages.router)
router.include_router(ticket_pages.router)
router.include_router(duplicate_pages.router)
router.include_router(admin_pages.router)
router.include_router(integration_pages.router)
router.include_router(roundtrip_pages.router)
router.include_router(mail_pages.router)
router.include_router(mail_admin_pages.router)
router.include_router(schedule_pages.router)
router.include_router(alert_pages.router)
router.include_router(sync_pages.router)
router.include_router(service_desk_pages.router)
router.include_router(desk_mailbox_pages.router)
# Last: its /admin/integrations/{kind}/{action} must not shadow the round-trip pages.
router.include_router(connection_pages.router)
