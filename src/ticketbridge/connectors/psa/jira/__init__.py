"""Jira (Cloud and Data Center) as a PSA: see docs/connector-jira.md."""
