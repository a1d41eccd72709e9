"""Alerts as the Alerts page and the API list them (database only, no request)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.services.alerts.store import AlertState
from ticketbridge.storage.models import Alert, AlertSource, Customer


class AlertView(StrEnum):
    """The page's lanes."""

    ATTENTION = "attention"  # new, waiting, being ticketed: the operator's queue
    TICKETED = "ticketed"  # joined or created a ticket; repeats are noted there
    IGNORED = "ignored"
    CLOSED = "closed"
    ALL = "all"


STATES: dict[AlertView, tuple[str, ...]] = {
    AlertView.ATTENTION: (AlertState.NEW, AlertState.WAITING, AlertState.CREATING),
    AlertView.TICKETED: (AlertState.TICKETED, AlertState.JOINED),
    AlertView.IGNORED: (AlertState.IGNORED,),
    AlertView.CLOSED: (AlertState.CLOSED,),
    AlertView.ALL: tuple(AlertState),
}


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    source: str
    customer: str | None  # our customer's name, when mapped


@dataclass(frozen=True)
class AlertPage:
    rows: list[AlertRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_alerts(
    session: Session,
    view: AlertView = AlertView.ATTENTION,
    *,
    customer_id: int | None = None,
    page: int = 1,
    per_page: int = 100,
) -> AlertPage:
    """One page, customers by name (unmapped alerts last), newest repeats first in each."""
    states = [str(s) for s in STATES[view]]
    query = (
        select(Alert, AlertSource.name, Customer.name)
        .join(AlertSource, AlertSource.id == Alert.source_id)
        .outerjoin(Customer, Customer.id == Alert.customer_id)
        .where(Alert.state.in_(states))
    )
    count = select(func.count(Alert.id)).where(Alert.state.in_(states))
    if customer_id is not None:
        query = query.where(Alert.customer_id == customer_id)
        count = count.where(Alert.customer_id == customer_id)
    rows = session.execute(
        query.order_by(
            Customer.name.is_(None), Customer.name, Alert.last_seen_at.desc(), Alert.id.desc()
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    states_count = dict(
        session.execute(select(Alert.state, func.count(Alert.id)).group_by(Alert.state)).all()
    )
    counts = {lane.value: sum(states_count.get(s, 0) for s in STATES[lane]) for lane in AlertView}
    return AlertPage(
        rows=[AlertRow(alert, source, customer) for alert, source, customer in rows],
        total=session.scalar(count) or 0,
        page=page,
        per_page=per_page,
        counts=counts,
    )
