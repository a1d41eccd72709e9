"""Every table. Importing this package registers them all on Base.metadata (Alembic needs that)."""

from ticketbridge.storage.models.accounts import ApiToken, User, UserIdentity
from ticketbridge.storage.models.alerts import (
    Alert,
    AlertCustomerMapping,
    AlertDevice,
    AlertOccurrence,
    AlertSource,
)
from ticketbridge.storage.models.audit import AuditEvent
from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow
from ticketbridge.storage.models.catalog import Customer, Job, Run, RunObject
from ticketbridge.storage.models.integrations import (
    CompanyMappingRow,
    IntegrationSetting,
    ReferenceValue,
)
from ticketbridge.storage.models.mail import (
    JobScheduleState,
    MailJobKey,
    MailMessage,
    MailRule,
    MailSource,
)
from ticketbridge.storage.models.roundtrip import (
    CalloutEndpoint,
    HookRequest,
    RoundtripPoll,
    RoundtripState,
    TicketHint,
    WebhookRegistration,
)
from ticketbridge.storage.models.system import SystemSetting
from ticketbridge.storage.models.ticket_duplicates import TicketDuplicateCheck, TicketDuplicateRow
from ticketbridge.storage.models.tickets import TicketLinkRow

__all__ = [
    "Alert",
    "AlertCustomerMapping",
    "AlertDevice",
    "AlertOccurrence",
    "AlertSource",
    "ApiToken",
    "AuditEvent",
    "Base",
    "CalloutEndpoint",
    "CompanyMappingRow",
    "Customer",
    "HookRequest",
    "IntegrationSetting",
    "Job",
    "JobScheduleState",
    "MailJobKey",
    "MailMessage",
    "MailRule",
    "MailSource",
    "ReferenceValue",
    "RoundtripPoll",
    "RoundtripState",
    "Run",
    "RunObject",
    "SystemSetting",
    "TicketDuplicateCheck",
    "TicketDuplicateRow",
    "TicketHint",
    "TicketLinkRow",
    "UTCDateTime",
    "User",
    "UserIdentity",
    "WebhookRegistration",
    "utcnow",
]
