"""JiraConnector's per-instance settings (stored as JSON, secrets encrypted at rest)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ticketbridge.connectors.http import ApiLogLevel

Deployment = Literal["cloud", "datacenter"]


class JiraConfig(BaseModel):
    """Cloud: ``email`` + ``api_token`` (HTTP Basic), REST v3 with ADF bodies by default.
    Data Center: ``personal_access_token`` (Bearer), REST v2 with wiki-text bodies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    base_url: str = Field(min_length=1, description="e.g. https://example.atlassian.net")
    deployment: Deployment = "cloud"
    email: str | None = Field(default=None, max_length=200)
    api_token: SecretStr | None = None
    personal_access_token: SecretStr | None = None
    # None: 3 on Cloud, 2 on Data Center (which has no v3).
    api_version: Literal[2, 3] | None = None
    # Checked by Test connection when set (a project key or id).
    default_project: str | None = Field(default=None, max_length=100)
    # Customers as Jira Service Management organizations: the service desk project (key or
    # id) whose organizations are the companies and where their tickets are created. Empty:
    # companies are projects.
    organizations_of: str | None = Field(
        default=None,
        max_length=100,
        description="A service desk project key: customers map to its organizations and their "
        "tickets are created there. Empty: customers map to projects.",
    )
    # The issue type a ticket gets when the draft names no queue (queues are issue types).
    issue_type: str = Field(default="Task", min_length=1, max_length=100)
    # The transition to take on resolve when several lead to a done status; None: the first.
    done_transition: str | None = Field(default=None, max_length=100)
    # Set on resolve when the transition's screen has the resolution field.
    resolution: str | None = Field(default="Done", max_length=100)
    # Who may read an internal note outside service desk projects (a project role or a
    # group); without one such a note is refused, never posted for everyone to read.
    internal_visibility_type: Literal["role", "group"] | None = None
    internal_visibility_value: str | None = Field(default=None, max_length=255)
    logging_level: ApiLogLevel = "off"
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    create_timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("the Jira address must be an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("organizations_of")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _credentials_for_deployment(self) -> Self:
        if self.deployment == "cloud":
            if not self.email or not _filled(self.api_token):
                raise ValueError("Jira Cloud needs the account e-mail and an API token")
        elif not _filled(self.personal_access_token):
            raise ValueError("Jira Data Center needs a personal access token")
        if self.deployment == "datacenter" and self.api_version == 3:
            raise ValueError("Jira Data Center serves REST v2 only")
        if bool(self.internal_visibility_type) != bool(self.internal_visibility_value):
            raise ValueError("an internal note restriction needs both its type and its value")
        return self

    @classmethod
    def secret_destination(cls, values: Mapping[str, Any]) -> dict[str, object]:
        """The token goes to the Jira address and is the account's (Cloud: the e-mail)."""
        return {
            "base_url": str(values.get("base_url") or "").rstrip("/"),
            "deployment": values.get("deployment") or "cloud",
            "email": values.get("email") or "",
        }

    @property
    def rest_version(self) -> int:
        if self.api_version is not None:
            return self.api_version
        return 3 if self.deployment == "cloud" else 2

    @property
    def uses_adf(self) -> bool:
        return self.rest_version == 3

    def secrets(self) -> list[str]:
        found = [self.api_token, self.personal_access_token]
        return [s.get_secret_value() for s in found if s is not None]


def _filled(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())
