"""Mail matching rules over the API (admin): list, create, delete, and apply a rule to the mail
already waiting in the Inbox, as the admin page offers after a rule is created."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ticketbridge.services.mail import inbox
from ticketbridge.storage.models import MailRule
from ticketbridge.web.api.schemas import Id, IdField
from ticketbridge.web.deps import ApiAdmin, Ctx, DbSession

router = APIRouter(prefix="/rules")


class RuleOut(BaseModel):
    id: int
    sender: str
    subject_pattern: str
    customer_id: int
    created_at: datetime

    @classmethod
    def of(cls, rule: MailRule) -> RuleOut:
        return cls(
            id=rule.id,
            sender=rule.sender,
            subject_pattern=rule.subject_pattern,
            customer_id=rule.customer_id,
            created_at=rule.created_at,
        )


class RuleWithWaitingOut(RuleOut):
    waiting_matches: list[int] = Field(
        description="Ids of the mail waiting in the Inbox this rule fits; "
        "POST /mail/rules/{id}/apply routes them"
    )


class RuleIn(BaseModel):
    sender: str = Field(default="", max_length=400, description="An address or a domain")
    subject_pattern: str = Field(default="", max_length=400, description="Text, or * and ?")
    customer_id: IdField


class RuleAppliedOut(BaseModel):
    rule_id: int
    matched: list[int] = Field(description="Waiting mail the rule fitted")
    routed: list[int] = Field(description="Of those, the mail that became runs")
    run_ids: list[int]


def _with_waiting(ctx: Ctx, session: DbSession, rule: MailRule) -> RuleWithWaitingOut:
    fitting = inbox.waiting_for_rule(session, rule.id, max_bytes=ctx.settings.mail_max_bytes)
    return RuleWithWaitingOut(
        **RuleOut.of(rule).model_dump(), waiting_matches=[mail.id for mail in fitting]
    )


@router.get("", response_model=list[RuleOut], summary="List mail matching rules")
def list_rules(session: DbSession, _: ApiAdmin) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in inbox.list_rules(session)]


@router.post("", response_model=RuleWithWaitingOut, status_code=201, summary="Add a rule")
def create_rule(
    body: RuleIn, ctx: Ctx, session: DbSession, principal: ApiAdmin
) -> RuleWithWaitingOut:
    """Mail arriving from now on that matches goes to the customer. Mail already waiting is
    not moved: `waiting_matches` lists what the rule fits, for `POST .../apply`."""
    rule = inbox.create_rule(
        session,
        sender=body.sender,
        subject_pattern=body.subject_pattern,
        customer_id=body.customer_id,
        actor=principal.actor,
    )
    session.commit()
    return _with_waiting(ctx, session, rule)


@router.get("/{rule_id}", response_model=RuleWithWaitingOut, summary="A rule and what it fits")
def get_rule(rule_id: Id, ctx: Ctx, session: DbSession, _: ApiAdmin) -> RuleWithWaitingOut:
    return _with_waiting(ctx, session, inbox.get_rule(session, rule_id))


@router.post(
    "/{rule_id}/apply", response_model=RuleAppliedOut, summary="Apply a rule to waiting mail"
)
def apply_rule(rule_id: Id, ctx: Ctx, session: DbSession, principal: ApiAdmin) -> RuleAppliedOut:
    """Routes the waiting mail the rule fits (worked out again now) as if it arrived after the
    rule: jobs are created under its customer and runs stored. Audited."""
    result = inbox.apply_rule(
        session,
        rule_id,
        actor=principal.actor,
        now=ctx.clock(),
        max_bytes=ctx.settings.mail_max_bytes,
    )
    session.commit()
    return RuleAppliedOut(
        rule_id=result.rule_id,
        matched=result.matched,
        routed=result.routed,
        run_ids=result.run_ids,
    )


@router.delete("/{rule_id}", status_code=204, summary="Delete a rule")
def delete_rule(rule_id: Id, session: DbSession, principal: ApiAdmin) -> Response:
    """Jobs and runs made through the rule stay."""
    inbox.delete_rule(session, rule_id, actor=principal.actor)
    session.commit()
    return Response(status_code=204)
