"""The Autotask PSA connector (REST API v1.0); see docs/connector-autotask.md."""
