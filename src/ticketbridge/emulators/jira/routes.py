"""The REST routes: (method, path pattern, handler, needs auth). ``{v}`` is 2, 3 or latest."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import activity, issues, people, reference, search, servicedesk, webhooks, workflow
from .wire import Reply, Req

if TYPE_CHECKING:
    from .app import Emulator

Handler = Callable[["Emulator", Req], Reply]
API = r"/rest/api/(?P<v>2|3|latest)"
ISSUE = API + r"/issue/(?P<key>[^/]+)"
SD = r"/rest/servicedeskapi"

TABLE: list[tuple[str, str, Handler]] = [
    ("GET", API + "/serverInfo", reference.server_info),
    ("GET", API + "/myself", reference.myself),
    ("GET", API + "/project", reference.projects),
    ("GET", API + "/project/search", reference.project_search),
    ("GET", API + "/project/(?P<key>[^/]+)", reference.project),
    ("GET", API + "/project/(?P<key>[^/]+)/statuses", reference.project_statuses),
    ("GET", API + "/issuetype", reference.issue_types),
    ("GET", API + "/priority", reference.priorities),
    ("GET", API + "/status", reference.statuses),
    ("GET", API + "/statuscategory", reference.status_categories),
    ("GET", API + "/resolution", reference.resolutions),
    ("GET", API + "/field", reference.fields),
    ("GET", API + "/user/search", people.user_search),
    ("POST", API + "/issue", issues.create),
    ("GET", ISSUE, issues.get),
    ("PUT", ISSUE, issues.edit),
    ("DELETE", ISSUE, issues.delete),
    ("GET", ISSUE + "/properties", issues.property_keys),
    ("GET", ISSUE + "/properties/(?P<prop>[^/]+)", issues.property_get),
    ("PUT", ISSUE + "/properties/(?P<prop>[^/]+)", issues.property_put),
    ("DELETE", ISSUE + "/properties/(?P<prop>[^/]+)", issues.property_delete),
    ("GET", ISSUE + "/transitions", workflow.list_transitions),
    ("POST", ISSUE + "/transitions", workflow.do_transition),
    ("GET", ISSUE + "/comment", activity.list_comments),
    ("POST", ISSUE + "/comment", activity.add_comment),
    ("GET", ISSUE + "/comment/(?P<id>[^/]+)", activity.get_comment),
    ("PUT", ISSUE + "/comment/(?P<id>[^/]+)", activity.update_comment),
    ("DELETE", ISSUE + "/comment/(?P<id>[^/]+)", activity.delete_comment),
    ("GET", ISSUE + "/watchers", people.list_watchers),
    ("POST", ISSUE + "/watchers", people.add_watcher),
    ("GET", ISSUE + "/worklog", activity.list_worklogs),
    ("POST", ISSUE + "/worklog", activity.add_worklog),
    ("POST", ISSUE + "/attachments", activity.add_attachments),
    ("GET", API + "/attachment/meta", activity.attachment_meta),
    ("GET", API + "/attachment/content/(?P<id>[^/]+)", activity.attachment_content),
    ("GET", API + "/attachment/(?P<id>[^/]+)", activity.get_attachment),
    ("DELETE", API + "/attachment/(?P<id>[^/]+)", activity.delete_attachment),
    ("GET", r"/secure/attachment/(?P<id>[^/]+)/[^/]+", activity.attachment_content),
    ("GET", API + "/search/jql", search.search_jql),
    ("POST", API + "/search/jql", search.search_jql),
    ("POST", API + "/search/approximate-count", search.approximate_count),
    ("GET", API + "/search", search.search_offset),
    ("POST", API + "/search", search.search_offset),
    ("GET", SD + "/servicedesk", servicedesk.service_desks),
    ("GET", SD + "/servicedesk/(?P<desk>[^/]+)", servicedesk.service_desk),
    ("GET", SD + "/servicedesk/(?P<desk>[^/]+)/organization", servicedesk.desk_organizations),
    ("POST", SD + "/servicedesk/(?P<desk>[^/]+)/organization", servicedesk.add_desk_organization),
    (
        "DELETE",
        SD + "/servicedesk/(?P<desk>[^/]+)/organization",
        servicedesk.remove_desk_organization,
    ),
    ("GET", SD + "/organization", servicedesk.organizations),
    ("POST", SD + "/organization", servicedesk.create_organization),
    ("GET", SD + "/organization/(?P<id>[^/]+)", servicedesk.organization),
    ("DELETE", SD + "/organization/(?P<id>[^/]+)", servicedesk.delete_organization),
    ("POST", r"/rest/servicedeskapi/request/(?P<key>[^/]+)/comment", activity.servicedesk_comment),
    ("POST", r"/rest/webhooks/1\.0/webhook", webhooks.rest_register),
    ("GET", r"/rest/webhooks/1\.0/webhook", webhooks.rest_list),
    ("GET", r"/rest/webhooks/1\.0/webhook/(?P<id>[^/]+)", webhooks.rest_get),
    ("DELETE", r"/rest/webhooks/1\.0/webhook/(?P<id>[^/]+)", webhooks.rest_delete),
]
COMPILED = [(m, re.compile(p + "/?"), h) for m, p, h in TABLE]


def match(method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
    """The handler for a request, its path parameters, and whether the path exists at all."""
    exists = False
    for verb, pattern, handler in COMPILED:
        found = pattern.fullmatch(path)
        if found is None:
            continue
        exists = True
        if verb == method or (verb == "GET" and method == "HEAD"):
            return handler, {k: v for k, v in found.groupdict().items() if v is not None}, True
    return None, {}, exists
