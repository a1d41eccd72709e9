"""`ticketbridge mailbox`: service-desk mailboxes (issue 16, item 6): `authenticate`, `watch`
and `check-missing`."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import typer

from ticketbridge.cli.accounts import CLI_ACTOR
from ticketbridge.cli.common import console, fail, open_runtime
from ticketbridge.cli.mail import _progress
from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.services.mail import mailbox_auth
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.mail import watch as mail_watch
from ticketbridge.services.service_desk import missing as desk_missing
from ticketbridge.services.service_desk.process import Handled
from ticketbridge.storage.secrets import SecretUnreadable

app = typer.Typer(help="Service-desk mailboxes: mail that becomes tickets.", no_args_is_help=True)
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What a command explains and exits 1 on, rather than a traceback.
_REFUSALS = (
    ConnectorError,
    SecretUnreadable,
    mail_sources.SourceError,
    mail_sources.SourceNotFound,
    mailbox_auth.NotSignable,
)


def _show_code(url: str, code: str, message: str) -> None:
    console.print(message or f"To sign in, open {url} and enter the code {code}.", markup=False)
    console.print("Waiting for the sign-in...", highlight=False)


@app.command("authenticate")
def authenticate(
    name: str = typer.Argument(..., help="The Microsoft 365 mail source."),
    device_code: bool | None = typer.Option(
        None,
        "--device-code/--client-credentials",
        help="Sign in as the mailbox's user (delegated), or check the app's own access. "
        "Default: check the way the source reads now.",
    ),
) -> None:
    """Get a token for a Microsoft 365 source and read its mailbox once. --device-code signs in
    a delegated mailbox and keeps the sign-in encrypted; the source then renews it itself."""
    runtime = open_runtime()
    try:
        if device_code is None:
            with runtime.session_factory() as session:
                device_code = bool(mail_sources.find_source(session, name).token_cache)
            checked = (
                mailbox_auth.check_sign_in(runtime, name)
                if device_code
                else mailbox_auth.check_app_only(runtime, name, actor=CLI_ACTOR)
            )
        elif device_code:
            checked = mailbox_auth.sign_in(runtime, name, show=_show_code, actor=CLI_ACTOR)
        else:
            checked = mailbox_auth.check_app_only(runtime, name, actor=CLI_ACTOR)
    except _REFUSALS as exc:
        raise fail(str(exc)) from None
    how = f"signed in as {checked.account}" if checked.account else "authenticated"
    if device_code and not checked.account:
        how = "the stored sign-in works"
    elif not device_code:
        how = "client credentials work"
    console.print(f"{checked.source}: {how}; {checked.mailbox}", highlight=False, markup=False)
    if checked.dropped_sign_in:
        console.print("The stored delegated sign-in was removed: the source reads app-only now.")


@app.command("watch")
def watch(
    names: list[str] = typer.Argument(None, help="Mail sources (default: every enabled one)."),
) -> None:
    """Handle incoming mail in the foreground, a line per mail, until Ctrl-C: IMAP sources with
    IDLE, Microsoft 365 sources by delta at their poll interval (what `serve` does)."""
    runtime = open_runtime()
    try:
        chosen = mail_watch.choose(runtime, names or [])
    except _REFUSALS as exc:
        raise fail(str(exc)) from None
    if not chosen:
        raise fail("no enabled IMAP or Microsoft 365 mail source to watch")
    listing = ", ".join(f"{s.name} ({s.kind})" for s in chosen)
    console.print(f"watching {listing}; Ctrl-C stops", highlight=False, markup=False)
    # Ctrl-C (and SIGTERM) set a flag the loop looks at between lines, rather than raising
    # in the middle of a print: a line is printed whole, once, and a poll finishes its batch.
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in _STOP_SIGNALS}
    running = mail_watch.Watch(runtime, chosen).start()
    try:
        while not stopping.is_set():
            for line in running.handled(timeout=1.0):
                console.print(_said(line), highlight=False, markup=False, soft_wrap=True)
        console.print("stopping...", highlight=False)
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("stopped", highlight=False)


def _said(line: mail_watch.Line) -> str:
    detail = f" {line.detail}" if line.detail else ""
    if not line.mail_id:  # the source's own state: an error, or its end
        return (
            f"{line.source}: {line.outcome}:{detail}"
            if detail
            else f"{line.source}: {line.outcome}"
        )
    return (
        f"{line.source}: mail {line.mail_id} from {line.sender or '(no sender)'} "
        f"{line.subject or '(no subject)'!r}: {line.outcome}{detail}"
    )


@app.command("check-missing")
def check_missing(
    days: int = typer.Option(7, "--days", min=1, max=3650, help="Look this many days back."),
    fix: bool = typer.Option(False, "--fix", help="Make the missing tickets and comments now."),
) -> None:
    """List the desk mails of the last DAYS that made neither a ticket nor a comment (filtered
    and held mails have their reason and are not missing); with --fix, make them now."""
    runtime = open_runtime()
    with runtime.session_factory() as session:
        found = desk_missing.find_missing(session, days=days, now=runtime.clock())
    for mail in found:
        when = mail.received_at.strftime("%Y-%m-%d %H:%M")
        why = f"  ({mail.last_attempt})" if mail.last_attempt else ""
        console.print(
            f"{when}  {mail.sender or '(no sender)'}  {mail.subject or '(no subject)'}  "
            f"<{mail.message_id or 'no Message-ID'}>{why}",
            highlight=False,
            markup=False,
        )
    console.print(f"{len(found)} mail(s) of the last {days} day(s) made nothing.")
    if not fix or not found:
        return
    outcomes: Counter[str] = Counter()
    with _progress("fixing") as progress:
        bar = progress.add_task("mail", total=len(found))

        def step(handled: Handled) -> None:
            outcomes[handled.outcome] += 1
            progress.advance(bar)

        desk_missing.fix_missing(runtime, found, progress=step)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    console.print(f"fixed: {summary}", highlight=False)
    if outcomes["failed"]:
        raise typer.Exit(1)
