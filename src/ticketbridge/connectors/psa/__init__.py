"""PSA connectors: the protocol in base, one package per kind."""
