"""Extension callout requests: Name-Value pairs, SOAP and XML-RPC bodies.

The Name-Value form matches a body captured from a live tenant (status as its label, times in
US Eastern with 8 fractional digits and an hh:mm:ss offset). SOAP and XML-RPC carry the same
fields; their envelopes are our choice (see docs/emulator-autotask.md).
"""

from __future__ import annotations

import base64
import xmlrpc.client
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from . import dates
from .store import Row, Store

FORMATS = {"name_value", "soap", "xml_rpc"}
SOAP_NAMESPACE = "http://autotask.net/ExtensionCallout"


def callout_fields(
    store: Store, ticket: Row, callout: dict[str, Any], domain: str
) -> dict[str, str]:
    udf_name = callout.get("udf_name")
    udf_value = ""
    if udf_name:
        udf_value = str((ticket.get("userDefinedFields") or {}).get(udf_name) or "")
    return {
        "id": str(ticket["id"]),
        "number": str(ticket.get("ticketNumber") or ""),
        "status": store.picklist_label("Tickets", "status", ticket.get("status")) or "",
        "created_datetime": dates.callout_time(ticket.get("createDate")),
        "last_activity_datetime": dates.callout_time(ticket.get("lastActivityDate")),
        "domain": domain,
        "udf": udf_value,
    }


def soap_namespace(soap_action: str, method_name: str) -> str:
    """The method element's namespace as Autotask derives it (seed 004): NAMESPACE =
    SOAPACTION.Replace(METHODNAME, ''), .NET's Replace, so every occurrence goes and a
    separating slash stays ("http://tempuri.org/MyWebMethod" -> "http://tempuri.org/"; the
    help page's own example shows it without the slash)."""
    return soap_action.replace(method_name, "") if method_name else soap_action


def build_request(callout: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """method, url, headers and body bytes of one callout delivery."""
    headers: dict[str, str] = {}
    if callout.get("username"):
        token = f"{callout['username']}:{callout.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
    fmt = callout.get("format", "name_value")
    method = str(callout.get("http_method", "POST")).upper()
    url = str(callout["url"])
    if fmt == "name_value":
        encoded = urlencode(fields)
        if method == "GET":
            url += ("&" if "?" in url else "?") + encoded
            return {"method": "GET", "url": url, "headers": headers, "body": b""}
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return {"method": "POST", "url": url, "headers": headers, "body": encoded.encode()}
    method_name = str(callout.get("method_name") or "TicketCallout")
    if fmt == "soap":
        action = str(callout.get("soap_action") or f"{SOAP_NAMESPACE}/{method_name}")
        headers["Content-Type"] = "text/xml; charset=utf-8"
        headers["SOAPAction"] = f'"{action}"'
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
        xmlns = quoteattr(soap_namespace(action, method_name))
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            f"<soap:Body><{method_name} xmlns={xmlns}>{inner}</{method_name}>"
            "</soap:Body></soap:Envelope>"
        )
        return {"method": "POST", "url": url, "headers": headers, "body": body.encode()}
    headers["Content-Type"] = "text/xml"
    body = xmlrpc.client.dumps((fields,), methodname=method_name, encoding="utf-8")
    return {"method": "POST", "url": url, "headers": headers, "body": body.encode()}
