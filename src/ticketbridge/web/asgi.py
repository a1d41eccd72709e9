"""The app factory uvicorn imports in each worker process of ``serve --workers N``: every
process builds its own runtime from the settings (the environment it inherited)."""

from __future__ import annotations

from fastapi import FastAPI

from ticketbridge.web.app import create_app


def create() -> FastAPI:
    return create_app()
