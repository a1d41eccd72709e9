"""Response headers that tell browsers what this site never does.

Every answer (pages, the API, static files, error pages) says: scripts, styles and everything
else come from this site only, with nothing inline; no other site may frame it; content types
are not guessed; no URL of ours leaks to another site as a referrer; and, when the session
cookie is HTTPS-only, that the site is reached over HTTPS only. A route that needs its own policy
sets the header itself and keeps it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's stylesheet draws its icons as data: SVG images.
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A year, the usual figure; no includeSubDomains: other hosts of the domain are not ours to bind.
HSTS = "max-age=31536000"


class SecurityHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware): it only adds headers at response start, so
    streamed and background responses pass through untouched."""

    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        headers = [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
        ]
        if https_only:
            headers.append(("Strict-Transport-Security", HSTS))
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
