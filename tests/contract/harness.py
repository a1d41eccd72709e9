"""One harness per PSA implementation: the connector plus hands on the remote world.

The contract suite only speaks to the connector through the PsaConnector protocol; the harness
changes the world behind it (as an administrator would in the PSA) so the suite can see the
connector notice.
"""

from __future__ import annotations

from typing import Protocol

from tests.fakes.psa import FakePsa
from ticketbridge.connectors.psa.base import PsaConnector


class PsaHarness(Protocol):
    connector: PsaConnector

    def add_company(self, name: str, *, active: bool = True) -> int: ...

    def rename_company(self, company_id: int, name: str) -> None: ...

    def deactivate_company(self, company_id: int) -> None: ...

    def delete_company(self, company_id: int) -> None: ...

    def add_time_entry(self, ticket_id: int) -> None: ...

    def delete_ticket(self, ticket_id: int) -> None: ...

    def define_udf(self, entity: str, name: str) -> None:
        """Create a user-defined field of ``entity`` ("tickets", "configurationitems")."""
        ...

    def add_configuration_item(self, company_id: int, name: str, udfs: dict[str, str]) -> int: ...

    def set_ticket_udf(self, ticket_id: int, name: str, value: str) -> None: ...

    def close(self) -> None: ...


class FakeHarness:
    def __init__(self) -> None:
        self.fake = FakePsa()
        self.connector: PsaConnector = self.fake

    def add_company(self, name: str, *, active: bool = True) -> int:
        return self.fake.add_company(name, active=active)

    def rename_company(self, company_id: int, name: str) -> None:
        self.fake.rename_company(company_id, name)

    def deactivate_company(self, company_id: int) -> None:
        self.fake.deactivate_company(company_id)

    def delete_company(self, company_id: int) -> None:
        self.fake.delete_company(company_id)

    def add_time_entry(self, ticket_id: int) -> None:
        self.fake.add_time_entry(ticket_id)

    def delete_ticket(self, ticket_id: int) -> None:
        self.fake.delete_ticket(ticket_id)

    def define_udf(self, entity: str, name: str) -> None:
        pass  # the fake takes any field name

    def add_configuration_item(self, company_id: int, name: str, udfs: dict[str, str]) -> int:
        return self.fake.add_configuration_item(company_id, name, udfs)

    def set_ticket_udf(self, ticket_id: int, name: str, value: str) -> None:
        self.fake.set_ticket_udf(ticket_id, name, value)

    def close(self) -> None:
        pass
