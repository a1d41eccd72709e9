"""One module per workflow. A service owns its transaction: callers hand it a session factory or a
session it may commit; query helpers never commit."""
