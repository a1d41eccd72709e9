"""Two-way ticket sync between two PSA connections (issue 14), on the rules of core/sync.

- ``syncs``: make a sync by name between two connections, list them.
- ``run``: one run of a sync (both directions, or a dry run that writes nothing).
- ``tickets``: one direction for tickets: batched reads, decisions, writes, failures.
- ``config``: a sync row in the rules' terms (mappings, scope, markers).
- ``store``: the lease, watermarks, reference map, failures.
"""
