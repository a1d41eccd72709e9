"""Response headers that tell browsers what this site never does.

Every answer (pages, the API, static files, error pages) says: scripts, styles and everything
else come from this site only, with nothing inline; no other site may frame it; content types
are not guessed; no URL of ours leaks to another site as a referrer; and, when the session
cookie is HTTPS-only, that the site is reached over HTTPS only. A route that needs its own policy
sets the header itself and keeps it.
"""

from __future__ import annotations

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
        self.headers = self.for_answers(https_only=https_only)
        self._raw = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers
        )

    @staticmethod
    def for_answers(*, https_only: bool) -> tuple[tuple[str, str], ...]:
        """The headers every answer carries (the callout receiver adds them itself)."""
        headers = [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
        ]
        if https_only:
            headers.append(("Strict-Transport-Security", HSTS))
        return tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw pairs, names lower-case as ASGI has them: the answer's own names are
                # read once, not once per header as MutableHeaders' ``in`` would.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in self._raw if pair[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
