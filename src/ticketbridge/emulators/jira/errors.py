"""Jira's error answer: ``{"errorMessages": [...], "errors": {field: text}}`` with a status."""

from __future__ import annotations

from typing import Any

NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
# Cloud after CHANGE-2046 (pycontribs/jira#2367 quotes the live answer).
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class JiraError(Exception):
    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.headers = headers or {}
        self.body: Any = (
            body
            if body is not None
            else {"errorMessages": list(messages or []), "errors": dict(errors or {})}
        )


def bad_request(message: str) -> JiraError:
    return JiraError(400, [message])


def field_errors(**errors: str) -> JiraError:
    return JiraError(400, [], errors)


def not_found(message: str = NOT_FOUND_ISSUE) -> JiraError:
    return JiraError(404, [message])
