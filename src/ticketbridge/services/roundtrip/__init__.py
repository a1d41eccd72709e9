"""The Autotask round trip (issue 13): closure and status changes of linked tickets come back.

Extension callouts and webhooks are **hints**, applied at once and confirmed by a read;
polling by ``lastActivityDate`` is the **truth** and measures how much of it the hints
announced. One module per workflow:

- :mod:`config`: the callouts we accept and the round trip's settings;
- :mod:`callouts`, :mod:`webhooks`: receiving them (and registering webhooks), on top of
  :mod:`receipt` (store first, then handle) and :mod:`hook_log` (every request kept);
  callouts over HTTP in batches, one transaction each (:mod:`callout_writer`,
  :mod:`callout_batch`);
- :mod:`apply`: one observation applied to the runs linking its ticket;
- :mod:`polling`: the poll, hint coverage and the targeted fetch after a hint, started at
  once by :mod:`prompt_fetch`;
- :mod:`replay`: a stored request handled again; :mod:`status`: where it all stands.

See docs/round-trip.md.
"""

from ticketbridge.services.roundtrip.config import RoundtripInputError, RoundtripNotFound
from ticketbridge.services.roundtrip.receipt import Answer, Incoming

__all__ = ["Answer", "Incoming", "RoundtripInputError", "RoundtripNotFound"]
