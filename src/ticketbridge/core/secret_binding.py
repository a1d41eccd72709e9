"""A stored secret is bound to the destination it was entered for. Pure functions, no I/O.

An admin enters a password for one host and one account. Whoever edits the settings later
(another admin, a script holding an admin token, someone who took over a session) must not be
able to send that password somewhere else by changing the host and pressing Test or Poll: the
secret never leaves the server, but the request carrying it would. So when a field that says
*where the secret goes or whose it is* changes, the stored secret is forgotten, unless a new one
comes in the same change. Each integration names its binding fields next to its settings.

Destinations are compared as destinations: text is trimmed, trailing slashes dropped and case
folded (host names, e-mail style user names and tenant ids are not case-sensitive); an empty
string and no value are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def _as_destination(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip().rstrip("/").casefold()
    return value


def changed_destination(
    before: Mapping[str, object], after: Mapping[str, object], binding: Iterable[str]
) -> tuple[str, ...]:
    """The binding fields whose destination differs between ``before`` and ``after``."""
    return tuple(
        name
        for name in binding
        if _as_destination(before.get(name)) != _as_destination(after.get(name))
    )


def fields_clearing_secret(
    before: Mapping[str, object],
    after: Mapping[str, object],
    binding: Iterable[str],
    *,
    new_secret: bool,
) -> tuple[str, ...]:
    """The changed binding fields that make the stored secret go; empty when it stays (nothing
    bound changed, or a new secret came with the change and replaces it anyway)."""
    if new_secret:
        return ()
    return changed_destination(before, after, binding)
