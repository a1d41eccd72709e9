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
    PsaConnection,
    ReferenceValue,
)
from ticketbridge.storage.models.mail import (
    JobScheduleState,
    MailJobKey,
    MailMessage,
    MailRule,
    MailSource,
    MailSubscription,
)
from ticketbridge.storage.models.roundtrip import (
    CalloutEndpoint,
    HookRequest,
    RoundtripPoll,
    RoundtripState,
    TicketHint,
    WebhookRegistration,
)
from ticketbridge.storage.models.service_desk import (
    ServiceDeskConversation,
    ServiceDeskMail,
    ServiceDeskMailbox,
    ServiceDeskNotice,
    ServiceDeskRelayMark,
    ServiceDeskRoutingRule,
)
from ticketbridge.storage.models.sync import (
    SyncConflict,
    SyncFailure,
    SyncReference,
    SyncRow,
    SyncRun,
    SyncWatermark,
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
    "Job",
    "JobScheduleState",
    "MailJobKey",
    "MailMessage",
    "MailRule",
    "MailSource",
    "MailSubscription",
    "PsaConnection",
    "ReferenceValue",
    "RoundtripPoll",
    "RoundtripState",
    "Run",
    "RunObject",
    "ServiceDeskConversation",
    "ServiceDeskMail",
    "ServiceDeskMailbox",
    "ServiceDeskNotice",
    "ServiceDeskRelayMark",
    "ServiceDeskRoutingRule",
    "SyncConflict",
    "SyncFailure",
    "SyncReference",
    "SyncRow",
    "SyncRun",
    "SyncWatermark",
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
