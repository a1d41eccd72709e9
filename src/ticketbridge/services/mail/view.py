"""What a person may see of a stored mail: its text, or its HTML made harmless, up to a limit.

Mail HTML is never rendered as received: nh3 keeps formatting tags only (no script, style,
forms, event handlers or images, so nothing is fetched when the page opens). Attachments are
never opened; the view keeps text and HTML parts only, and those of a forwarded mail attached
to it (``message/rfc822``), as the parsers read them.

A view shows at most ``MAX_SHOWN_CHARS`` of text and of HTML; the rest is in the raw mail,
which the page offers for download. Rendering a large mail is heavy (a 17 MB HTML mail took
11 s and hundreds of MB when it was parsed for every view, on the request's thread), so views
are rendered by ``ViewCache`` on threads of their own, at most ``RENDER_THREADS`` at once, one
render per mail however many people open it at the same moment, and the last
``CACHE_ENTRIES`` views are kept.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message

import nh3
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, sessionmaker

from ticketbridge.connectors.parsers.htmltext import html_to_text
from ticketbridge.connectors.parsers.mime import decode_part, parse_bytes
from ticketbridge.services.mail.inbox import MailNotFound
from ticketbridge.storage.models import MailMessage

# Remote images are tracking pixels or worse; image maps need them.
_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
MAX_SHOWN_CHARS = 200_000
CACHE_ENTRIES = 32
RENDER_THREADS = 2
_MAX_FORWARD_DEPTH = 3
_HEADER_NAMES = ("from", "subject", "date", "message-id", "to", "received", "content-type")


@dataclass(frozen=True)
class MailContent:
    text: str
    safe_html: str
    purged: bool = False
    cut: bool = False  # the text or the HTML shown is only the start of the mail's


def render(raw: bytes | None, limit: int = MAX_SHOWN_CHARS) -> MailContent:
    """The view of a raw mail (None: purged); pure, never raises for odd input."""
    if raw is None:
        return MailContent("", "", purged=True)
    try:
        message = parse_bytes(raw)
        readable = any(name in message for name in _HEADER_NAMES)
        text, html = _bodies(message) if readable else ("", "")
    except Exception:  # the stdlib's parser has corner cases; show the bytes instead
        readable, text, html = False, "", ""
    if not readable:
        # Unreadable as mail: the bytes as text, which the template escapes.
        return MailContent(raw[:limit].decode("utf-8", "replace"), "", cut=len(raw) > limit)
    cut = len(text) > limit or len(html) > limit
    html = html[:limit]
    if not text and html:
        text = html_to_text(html)
    safe_html = nh3.clean(html, tags=_TAGS) if html else ""
    return MailContent(text[:limit], safe_html, cut=cut)


def _bodies(message: Message, depth: int = 0) -> tuple[str, str]:
    """The first text and the first HTML body; a forwarded mail's when one is attached."""
    text = html = ""
    for part in message.walk():
        if part is message:
            continue
        if part.get_content_type() == "message/rfc822" and depth < _MAX_FORWARD_DEPTH:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return _bodies(inner, depth + 1)
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue  # binary attachments are never opened
        if part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/plain" and not text:
            text = decode_part(part)
        elif part.get_content_type() == "text/html" and not html:
            html = decode_part(part)
    return text, html


def load_mail(session: Session, mail_id: int) -> MailMessage:
    """A mail's row without its raw bytes (up to the mail size limit, compressed): the page
    needs its facts, and the view comes from the cache."""
    mail = session.get(MailMessage, mail_id, options=[defer(MailMessage.raw)])
    if mail is None:
        raise MailNotFound(f"mail {mail_id} does not exist")
    return mail


def _load_raw(factory: sessionmaker[Session], mail_id: int) -> bytes | None:
    with factory() as session:
        stored = session.scalar(select(MailMessage.raw).where(MailMessage.id == mail_id))
    return None if stored is None else zlib.decompress(stored)


ViewKey = tuple[int, str, int, bool]


def view_key(mail: MailMessage) -> ViewKey:
    """Changes whenever what the view shows may: another mail under the id (a fresh
    database), or the raw bytes purged. A stored mail's raw bytes never change otherwise."""
    return (mail.id, mail.key_digest, mail.size, mail.raw_purged_at is None)


class ViewCache:
    """Rendered views, the most recently used kept. Thread-safe. ``view`` hands back a future,
    so that an async caller waits for a render without holding a thread."""

    def __init__(self, entries: int = CACHE_ENTRIES, threads: int = RENDER_THREADS) -> None:
        self.entries = entries
        self.threads = threads
        self._done: OrderedDict[ViewKey, MailContent] = OrderedDict()
        self._pending: dict[ViewKey, Future[MailContent]] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self.renders = 0  # renders started: one per mail, however many viewers
        self.hits = 0

    def view(self, key: ViewKey, load: Callable[[], bytes | None]) -> Future[MailContent]:
        with self._lock:
            done = self._done.get(key)
            if done is not None:
                self._done.move_to_end(key)
                self.hits += 1
                ready: Future[MailContent] = Future()
                ready.set_result(done)
                return ready
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="mail-view")
            self.renders += 1
            # Registered before the lock is released, so the render cannot finish first.
            future = self._executor.submit(self._render, key, load)
            self._pending[key] = future
            return future

    def _render(self, key: ViewKey, load: Callable[[], bytes | None]) -> MailContent:
        try:
            content = render(load())
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            raise
        with self._lock:
            self._pending.pop(key, None)
            self._done[key] = content
            while len(self._done) > self.entries:
                self._done.popitem(last=False)
        return content

    def clear(self) -> None:
        with self._lock:
            self._done.clear()


VIEWS = ViewCache()


def content(factory: sessionmaker[Session], key: ViewKey) -> Future[MailContent]:
    """The view of the mail of ``key`` (``view_key``): from the cache, or rendered off the
    caller's thread, its raw bytes read with a session of its own."""
    return VIEWS.view(key, lambda: _load_raw(factory, key[0]))


def eml_filename(mail: MailMessage) -> str:
    return f"mail-{mail.id}.eml"
