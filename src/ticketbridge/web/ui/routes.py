"""All page routers."""

from fastapi import APIRouter

from ticketbridge.web.ui import admin_pages, auth_pages, review_pages

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages.router)
router.include_router(review_pages.router)
router.include_router(admin_pages.router)
