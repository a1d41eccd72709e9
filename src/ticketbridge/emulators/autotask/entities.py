"""The entities the emulator serves, with fields, lengths and requiredness.

Lengths follow the commonly cited Autotask values (see docs/emulator-autotask.md for the ones
that are uncertain). Picklist fields take their values from the tenant's picklists in the store.
"""

from __future__ import annotations

from typing import Any

from .schema import ChildRoute, EntityDef, F, ident

RO: dict[str, Any] = {"read_only": True}

TICKETS = EntityDef(
    "Tickets",
    (
        ident(),
        F("ticketNumber", "string", 50, read_only=True, webhook=True),
        F("title", "string", 255, required=True, webhook=True),
        F("description", "string", 8000, webhook=True),
        F("status", required=True, picklist=True, webhook=True),
        F("priority", required=True, picklist=True, webhook=True),
        F("queueID", picklist=True, webhook=True),
        F("companyID", required=True, reference="Company", webhook=True),
        F("companyLocationID", reference="CompanyLocation"),
        F("contactID", reference="Contact", webhook=True),
        F("configurationItemID", reference="ConfigurationItem", webhook=True),
        F("contractID", reference="Contract"),
        F("billingCodeID", reference="BillingCode"),
        F("assignedResourceID", reference="Resource", webhook=True),
        F("assignedResourceRoleID", reference="Role"),
        F("ticketType", picklist=True, webhook=True),
        F("ticketCategory", picklist=True),
        F("issueType", picklist=True, webhook=True),
        F("subIssueType", picklist=True, parent_field="issueType", webhook=True),
        F("source", picklist=True, webhook=True),
        F("dueDateTime", "datetime", webhook=True),
        F("createDate", "datetime", **RO, webhook=True),
        F("creatorResourceID", reference="Resource", **RO),
        F("creatorType", **RO, queryable=False),
        F("completedDate", "datetime", **RO, webhook=True),
        F("completedByResourceID", reference="Resource", **RO),
        F("resolvedDateTime", "datetime"),
        F("resolution", "string", 32000),
        F("lastActivityDate", "datetime", **RO, webhook=True),
        F("lastActivityResourceID", reference="Resource", **RO),
        F("lastActivityPersonType", **RO, queryable=False),
        F("lastTrackedModificationDateTime", "datetime", **RO),
        F("lastCustomerVisibleActivityDateTime", "datetime", **RO),
        F("externalID", "string", 50, webhook=True),
        F("rmmAlertID", "string", 50),
        F("monitorID"),
        F("monitorTypeID"),
        F("serviceLevelAgreementID", reference="ServiceLevelAgreement"),
        F("estimatedHours", "decimal"),
        F("isVisibleToComanaged", "boolean"),
        F("impersonatorCreatorResourceID", reference="Resource", **RO),
    ),
    has_udfs=True,
    webhooks=True,
)

TICKET_NOTES = EntityDef(
    "TicketNotes",
    (
        ident(),
        F("ticketID", required=True, reference="Ticket", webhook=True),
        F("title", "string", 250, webhook=True),
        F("description", "string", 32000, required=True, webhook=True),
        F("noteType", required=True, picklist=True, webhook=True),
        F("publish", required=True, picklist=True, webhook=True),
        F("createDateTime", "datetime", **RO),
        F("lastActivityDate", "datetime", **RO),
        F("creatorResourceID", reference="Resource", **RO),
        F("createdByContactID", reference="Contact", **RO),
        F("impersonatorCreatorResourceID", reference="Resource", **RO),
        F("impersonatorUpdaterResourceID", reference="Resource", **RO),
    ),
    can_delete=False,
    webhooks=True,
    child_only_writes=True,
)

TIME_ENTRIES = EntityDef(
    "TimeEntries",
    (
        ident(),
        F("ticketID", reference="Ticket"),
        F("taskID", reference="Task"),
        F("resourceID", required=True, reference="Resource"),
        F("roleID", reference="Role"),
        F("dateWorked", "datetime"),
        F("startDateTime", "datetime"),
        F("endDateTime", "datetime"),
        F("hoursWorked", "decimal"),
        F("hoursToBill", "decimal", **RO),
        F("offsetHours", "decimal"),
        F("summaryNotes", "string", 8000),
        F("internalNotes", "string", 8000),
        F("billingCodeID", reference="BillingCode"),
        F("isNonBillable", "boolean"),
        F("showOnInvoice", "boolean"),
        F("timeEntryType", picklist=True, **RO),
        F("createDateTime", "datetime", **RO),
        F("lastModifiedDateTime", "datetime", **RO),
        F("creatorUserID", **RO),
        F("lastModifiedUserID", **RO),
    ),
    can_delete=True,
    has_udfs=False,
)

COMPANIES = EntityDef(
    "Companies",
    (
        ident(),
        F("companyName", "string", 100, required=True, webhook=True),
        F("companyNumber", "string", 50, webhook=True),
        F("companyType", required=True, picklist=True, webhook=True),
        F("isActive", "boolean", webhook=True),
        F("phone", "string", 25, required=True, webhook=True),
        F("ownerResourceID", required=True, reference="Resource"),
        F("parentCompanyID", reference="Company"),
        F("address1", "string", 128),
        F("city", "string", 50),
        F("state", "string", 25),
        F("postalCode", "string", 20),
        F("webAddress", "string", 255),
        F("createDate", "datetime", **RO),
        F("lastActivityDate", "datetime", **RO),
        F("lastTrackedModifiedDateTime", "datetime", **RO),
    ),
    has_udfs=True,
    webhooks=True,
)

CONTACTS = EntityDef(
    "Contacts",
    (
        ident(),
        F("companyID", required=True, reference="Company", webhook=True),
        F("firstName", "string", 50, required=True, webhook=True),
        F("lastName", "string", 50, required=True, webhook=True),
        F("emailAddress", "string", 254, webhook=True),
        F("phone", "string", 25),
        F("mobilePhone", "string", 25),
        F("title", "string", 50),
        F("externalID", "string", 50),
        # An integer 0/1, not a boolean: a documented quirk of this entity.
        F("isActive", required=True, webhook=True),
        F("primaryContact", "boolean"),
        F("createDate", "datetime", **RO),
        F("lastActivityDate", "datetime", **RO),
        F("lastModifiedDate", "datetime", **RO),
    ),
    can_delete=True,
    has_udfs=True,
    webhooks=True,
    child_only_writes=True,
)

CONFIGURATION_ITEMS = EntityDef(
    "ConfigurationItems",
    (
        ident(),
        F("companyID", required=True, reference="Company", webhook=True),
        F("configurationItemType", picklist=True, webhook=True),
        F("configurationItemCategoryID", required=True, picklist=True),
        F("productID", required=True, reference="Product"),
        F("referenceTitle", "string", 200, webhook=True),
        F("referenceNumber", "string", 50),
        F("serialNumber", "string", 100, webhook=True),
        F("isActive", "boolean", required=True, webhook=True),
        F("rmmDeviceID"),
        F("rmmDeviceUID", "string", 100),
        F("createDate", "datetime", **RO),
        F("lastModifiedTime", "datetime", **RO),
    ),
    has_udfs=True,
    webhooks=True,
)

TICKET_ATTACHMENTS = EntityDef(
    "TicketAttachments",
    (
        ident(),
        F("parentID", **RO),
        F("ticketID", reference="Ticket", **RO),
        F("ticketNoteID", reference="TicketNote"),
        F("timeEntryID", reference="TimeEntry"),
        F("attachDate", "datetime", **RO),
        F("attachedByResourceID", reference="Resource", **RO),
        F("attachedByContactID", reference="Contact", **RO),
        F("attachmentType", "string", 32, required=True, picklist=True),
        F("contentType", "string", 100),
        F("fileSize", **RO),
        F("fullPath", "string", 255, required=True),
        F("title", "string", 255, required=True),
        F("publish", required=True, picklist=True),
        F("data", "string", queryable=False),
        F("parentType", **RO),
        F("isTaskAttachment", "boolean", **RO),
    ),
    can_update=False,
    can_delete=True,
    child_only_writes=True,
    heavy=("data",),
)

# The contacts a ticket keeps informed besides its own contactID (Autotask's REST OpenAPI:
# TicketAdditionalContacts, written through Tickets/{id}/AdditionalContacts).
TICKET_ADDITIONAL_CONTACTS = EntityDef(
    "TicketAdditionalContacts",
    (
        ident(),
        F("ticketID", required=True, reference="Ticket"),
        F("contactID", required=True, reference="Contact"),
    ),
    can_update=False,
    can_delete=True,
    child_only_writes=True,
)

RESOURCES = EntityDef(
    "Resources",
    (
        ident(),
        F("firstName", "string", 50, **RO),
        F("lastName", "string", 50, **RO),
        F("userName", "string", 32, **RO),
        F("email", "string", 254, **RO),
        F("isActive", "boolean", **RO),
    ),
    can_create=False,
    can_update=False,
)

ROLES = EntityDef(
    "Roles",
    (ident(), F("name", "string", 200, **RO), F("isActive", "boolean", **RO)),
    can_create=False,
    can_update=False,
)

TICKET_WEBHOOKS = EntityDef(
    "TicketWebhooks",
    (
        ident(),
        F("name", "string", 50, required=True),
        F("webhookUrl", "string", 500, required=True),
        F("deactivationUrl", "string", 500, required=True),
        F("secretKey", "string", 64, required=True),
        F("isActive", "boolean"),
        F("isReady", "boolean", **RO),
        F("isSubscribedToCreateEvents", "boolean"),
        F("isSubscribedToUpdateEvents", "boolean"),
        F("isSubscribedToDeleteEvents", "boolean"),
        F("notificationEmailAddress", "string", 150),
        F("sendThresholdExceededNotification", "boolean"),
        F("ownerResourceID", reference="Resource"),
        F("webhookGUID", "string", 36, **RO),
    ),
    can_delete=True,
)

TICKET_WEBHOOK_FIELDS = EntityDef(
    "TicketWebhookFields",
    (
        ident(),
        F("webhookID", required=True, reference="TicketWebhook", **RO),
        F("fieldID", required=True, picklist=True),
        F("isSubscribedField", "boolean"),
        F("isDisplayAlwaysField", "boolean"),
    ),
    can_delete=True,
    child_only_writes=True,
)

TICKET_WEBHOOK_EXCLUDED = EntityDef(
    "TicketWebhookExcludedResources",
    (
        ident(),
        F("webhookID", required=True, reference="TicketWebhook", **RO),
        F("resourceID", required=True, reference="Resource"),
    ),
    can_update=False,
    can_delete=True,
    child_only_writes=True,
)

ENTITIES: dict[str, EntityDef] = {
    e.name.lower(): e
    for e in (
        TICKETS,
        TICKET_NOTES,
        TIME_ENTRIES,
        COMPANIES,
        CONTACTS,
        CONFIGURATION_ITEMS,
        TICKET_ATTACHMENTS,
        TICKET_ADDITIONAL_CONTACTS,
        RESOURCES,
        ROLES,
        TICKET_WEBHOOKS,
        TICKET_WEBHOOK_FIELDS,
        TICKET_WEBHOOK_EXCLUDED,
    )
}

CHILD_ROUTES: dict[tuple[str, str], ChildRoute] = {
    (c.parent.lower(), c.segment.lower()): c
    for c in (
        ChildRoute("Tickets", "Notes", "TicketNotes", "ticketID"),
        ChildRoute("Tickets", "Attachments", "TicketAttachments", "ticketID"),
        ChildRoute("Tickets", "AdditionalContacts", "TicketAdditionalContacts", "ticketID"),
        ChildRoute("Companies", "Contacts", "Contacts", "companyID"),
        ChildRoute("TicketWebhooks", "Fields", "TicketWebhookFields", "webhookID"),
        ChildRoute(
            "TicketWebhooks", "ExcludedResources", "TicketWebhookExcludedResources", "webhookID"
        ),
    )
}

# Reference type -> table, for the "does not reference an existing entity" check.
REFERENCE_TABLES: dict[str, str] = {
    "Company": "Companies",
    "Contact": "Contacts",
    "ConfigurationItem": "ConfigurationItems",
    "Resource": "Resources",
    "Role": "Roles",
    "Ticket": "Tickets",
    "TicketNote": "TicketNotes",
    "TimeEntry": "TimeEntries",
    "TicketWebhook": "TicketWebhooks",
}


def webhook_field_ids() -> dict[int, str]:
    """fieldID -> Ticket field name, for TicketWebhookFields (ids are stable by position)."""
    return {i + 1: f.name for i, f in enumerate(TICKETS.fields) if f.webhook}
