"""The sandbox's demo tenant: one app registration with a client secret, two users with
mailboxes, and (for ``--seed demo``) a first customer mail with an attachment and an inline
image in the service desk's Inbox. Every value here is made up for the sandbox."""

from __future__ import annotations

from .directory import AppRegistration, Tenant, User
from .state import GraphState

DEMO_TENANT_ID = "7d1f3c1e-5b0a-4c8e-9a47-2f6b8d0c4e11"
DEMO_TENANT_DOMAIN = "ticketbridgedemo.onmicrosoft.com"
DEMO_CLIENT_ID = "3b8e6f0a-91c4-4d2b-8f57-6a0e2c9d1b42"
DEMO_CLIENT_SECRET = "ticketbridge-graph-demo-secret"
DEMO_MAILBOX = f"servicedesk@{DEMO_TENANT_DOMAIN}"
DEMO_AGENT = f"alex.agent@{DEMO_TENANT_DOMAIN}"
MAIL_PERMISSIONS = frozenset({"Mail.ReadWrite", "Mail.Send"})


def tenants() -> list[Tenant]:
    tenant = Tenant(DEMO_TENANT_ID, DEMO_TENANT_DOMAIN, "ticketbridge demo")
    for object_id, upn, name in (
        ("0c6f2a51-8d3e-4b7a-a1c9-5e2d7f904b13", DEMO_MAILBOX, "Service Desk"),
        ("4e9b1d72-3a6c-4f05-b8e1-9c7a2d5f6e24", DEMO_AGENT, "Alex Agent"),
    ):
        tenant.users[upn] = User(object_id, upn, name)
    tenant.apps[DEMO_CLIENT_ID] = AppRegistration(
        client_id=DEMO_CLIENT_ID,
        display_name="ticketbridge mailbox",
        secrets=(DEMO_CLIENT_SECRET,),
        application_permissions=MAIL_PERMISSIONS,
        delegated_permissions=MAIL_PERMISSIONS | {"User.Read"},
    )
    return [tenant]


_FIRST_MAIL = (
    "From: Dana Customer <dana@customer.example>\r\n"
    f"To: Service Desk <{DEMO_MAILBOX}>\r\n"
    "Subject: Printer on floor 2 is offline\r\n"
    "Message-ID: <printer-offline-1@customer.example>\r\n"
    "Date: Mon, 02 Mar 2026 09:15:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="outer"\r\n'
    "\r\n"
    "--outer\r\n"
    'Content-Type: multipart/related; boundary="related"\r\n'
    "\r\n"
    "--related\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    '<p>Hello, the printer shows this:</p><img src="cid:panel@customer.example">\r\n'
    "--related\r\n"
    "Content-Type: image/png\r\n"
    "Content-ID: <panel@customer.example>\r\n"
    'Content-Disposition: inline; filename="panel.png"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--related--\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    'Content-Disposition: attachment; filename="printer-log.txt"\r\n'
    "\r\n"
    "E-201 paper feed\r\n"
    "--outer--\r\n"
)


def seed(state: GraphState, kind: str) -> None:
    """Mailboxes for the demo users; with ``demo``, a first mail in the service desk's Inbox."""
    for tenant in state.identity.tenants.values() if state.identity else ():
        for user in tenant.users.values():
            state.mailbox(user.upn, create=True)
    if kind == "demo":
        mailbox = state.mailbox(DEMO_MAILBOX)
        inbox = mailbox.folder("inbox") if mailbox is not None else None
        if mailbox is not None and inbox is not None:
            mailbox.add(inbox, _FIRST_MAIL.encode(), state.now())
