"""The XML formats of Autotask extension callouts: SOAP 1.1 and XML-RPC (pure, no I/O).

Every body goes through defusedxml (no DTD, no entities, no external references) with a size
limit and a depth limit checked while parsing, so nothing walks a tree before its depth is
known. Both formats end in :func:`ticketbridge.core.callouts.signal_from_fields`.

**SOAP.** Autotask's help page (Extension Callout (Tickets), "Data format samples") sends an
envelope whose body holds ``<#METHODNAME xmlns="NAMESPACE">`` with one element per field, where
``NAMESPACE = #SOAPACTION.Replace(#METHODNAME, '')``: for ``SOAPAction:
"http://tempuri.org/MyWebMethod"`` the method is ``MyWebMethod`` and the namespace
``http://tempuri.org`` (the sample drops the slash the replacement would leave; both forms are
accepted). The method is the SOAPAction's last segment after ``/``, ``#`` or ``:``. When no
body element matches (no SOAPAction, or one naming another method), a body with a single
element is still read, and the mismatch is reported in ``note``.

**XML-RPC.** ``<methodCall>`` with either one ``<struct>`` parameter of named members or
positional parameters in the order of the help page's field list (id, number, status, created,
last activity, domain, UDF).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from ticketbridge.core.callouts import CalloutUnreadable, TicketSignal, signal_from_fields

MAX_XML_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_ELEMENTS = 2000
SOAP_11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_12 = "http://www.w3.org/2003/05/soap-envelope"
POSITIONAL = (
    "id",
    "number",
    "status",
    "created_datetime",
    "last_activity_datetime",
    "domain",
    "udf",
)


@dataclass(frozen=True)
class XmlCallout:
    signal: TicketSignal
    method: str | None
    note: str | None = None


def _parse(body: bytes) -> Element:
    if len(body) > MAX_XML_BYTES:
        raise CalloutUnreadable(f"the XML body is over {MAX_XML_BYTES} bytes")
    depth = 0
    count = 0
    root: Element | None = None
    try:
        for event, element in safe_xml.iterparse(
            io.BytesIO(body), events=("start", "end"), forbid_dtd=True
        ):
            if event == "start":
                depth += 1
                count += 1
                if depth > MAX_DEPTH:
                    raise CalloutUnreadable(f"the XML is nested deeper than {MAX_DEPTH} levels")
                if count > MAX_ELEMENTS:
                    raise CalloutUnreadable(f"the XML has more than {MAX_ELEMENTS} elements")
                if root is None:
                    root = element
            else:
                depth -= 1
    except DefusedXmlException as exc:
        raise CalloutUnreadable(f"refused XML: {type(exc).__name__}") from None
    except ParseError as exc:
        raise CalloutUnreadable(f"not well-formed XML ({exc})") from None
    if root is None:
        raise CalloutUnreadable("empty XML")
    return root


def _split(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _text(element: Element) -> str:
    return "".join(element.itertext())


def soap_action_parts(soap_action: str | None) -> tuple[str, str] | None:
    """(method, namespace) from a SOAPAction header, as the help page derives them."""
    action = (soap_action or "").strip().strip('"').strip()
    if not action:
        return None
    cut = max(action.rfind("/"), action.rfind("#"), action.rfind(":"))
    method = action[cut + 1 :]
    if not method:
        return None
    namespace = action[: cut + 1] if cut >= 0 else ""
    return method, namespace


def _same_namespace(a: str, b: str) -> bool:
    return a.rstrip("/#") == b.rstrip("/#")


def parse_soap(body: bytes, soap_action: str | None) -> XmlCallout:
    root = _parse(body)
    namespace, local = _split(root.tag)
    if local != "Envelope" or namespace not in (SOAP_11, SOAP_12):
        raise CalloutUnreadable("not a SOAP envelope", unsupported=local != "Envelope")
    soap_body = next((c for c in root if _split(c.tag) == (namespace, "Body")), None)
    if soap_body is None:
        raise CalloutUnreadable("the SOAP envelope has no Body")
    children = [c for c in soap_body if isinstance(c.tag, str)]
    expected = soap_action_parts(soap_action)
    method_element = None
    note = None
    if expected is not None:
        method, method_ns = expected
        method_element = next(
            (
                c
                for c in children
                if _split(c.tag)[1] == method and _same_namespace(_split(c.tag)[0], method_ns)
            ),
            None,
        )
    if method_element is None:
        if len(children) != 1:
            raise CalloutUnreadable("the SOAP Body does not hold one method element")
        method_element = children[0]
        found_ns, found = _split(method_element.tag)
        if expected is None:
            note = "no SOAPAction header; the Body's only element was read"
        else:
            note = (
                f"SOAPAction names {expected[0]!r} in {expected[1]!r}; the Body holds "
                f"{found!r} in {found_ns!r}"
            )
    pairs = [(_split(c.tag)[1], _text(c)) for c in method_element if isinstance(c.tag, str)]
    return XmlCallout(signal_from_fields(pairs), _split(method_element.tag)[1], note)


def _rpc_value(value: Element) -> str:
    """A scalar XML-RPC value as text (a bare <value> is a string)."""
    typed = [c for c in value if isinstance(c.tag, str)]
    if not typed:
        return _text(value)
    inner = typed[0]
    if _split(inner.tag)[1] in {"struct", "array"}:
        raise CalloutUnreadable("an XML-RPC field holds a struct or array, not a value")
    return _text(inner)


def parse_xml_rpc(body: bytes) -> XmlCallout:
    root = _parse(body)
    if _split(root.tag)[1] != "methodCall":
        raise CalloutUnreadable("not an XML-RPC methodCall", unsupported=True)
    name = next((c for c in root if _split(c.tag)[1] == "methodName"), None)
    params = next((c for c in root if _split(c.tag)[1] == "params"), None)
    values = [
        v
        for p in (params if params is not None else [])
        if _split(p.tag)[1] == "param"
        for v in p
        if _split(v.tag)[1] == "value"
    ]
    if not values:
        raise CalloutUnreadable("the XML-RPC call has no parameters")
    first = [c for c in values[0] if isinstance(c.tag, str)]
    if len(values) == 1 and first and _split(first[0].tag)[1] == "struct":
        pairs = []
        for member in first[0]:
            if _split(member.tag)[1] != "member":
                continue
            member_name = next((c for c in member if _split(c.tag)[1] == "name"), None)
            member_value = next((c for c in member if _split(c.tag)[1] == "value"), None)
            if member_name is not None and member_value is not None:
                pairs.append((_text(member_name), _rpc_value(member_value)))
    else:
        if len(values) > len(POSITIONAL):
            raise CalloutUnreadable(
                f"the XML-RPC call has {len(values)} parameters, at most {len(POSITIONAL)}"
            )
        pairs = [(field, _rpc_value(v)) for field, v in zip(POSITIONAL, values, strict=False)]
    method = _text(name).strip() if name is not None else None
    return XmlCallout(signal_from_fields(pairs), method or None)
