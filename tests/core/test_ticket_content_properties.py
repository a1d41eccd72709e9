"""Properties of ticket content that must hold for any input (design §5A, field lengths)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import (
    ContentSettings,
    RunFacts,
    RunObject,
    compose_ticket,
    compose_title,
)

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.sampled_from(
    ["", "<p>a</p>" * 50, "x" * 5000, "line\n" * 300, "  \t "]
)
statuses = st.sampled_from(list(RunStatus))
objects = st.lists(
    st.builds(RunObject, name=text, type=text, status=statuses, message=st.none() | text),
    max_size=30,
)
run_facts = st.builds(
    RunFacts,
    run_id=st.integers(min_value=1, max_value=10**12),
    job_id=st.integers(min_value=1, max_value=10**9),
    customer_name=text,
    job_name=text,
    backup_product=text,
    job_type=text,
    status=statuses,
    started_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    overall_remark=st.none() | text,
    objects=objects,
)
base_urls = st.sampled_from(
    ["https://tb.example.com", "http://10.0.0.5:8080/", "https://example.org/deep/path/tb/"]
)


@settings(max_examples=150, deadline=None)
@given(
    facts=run_facts,
    base_url=base_urls,
    description_max=st.integers(min_value=160, max_value=9000),
    max_listed=st.integers(min_value=0, max_value=12),
    zone=st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata"]),
)
def test_5a_description_fits_and_keeps_link_and_marker(
    facts: RunFacts, base_url: str, description_max: int, max_listed: int, zone: str
) -> None:
    options = ContentSettings(
        base_url=base_url,
        installation="msp",
        ui_timezone=zone,
        max_listed_objects=max_listed,
        description_max_length=description_max,
    )
    content = compose_ticket(facts, options)
    assert len(content.description) <= description_max
    assert content.job_details_url in content.description
    assert content.description.endswith(f"\nticketbridge-ref: {content.external_id}")
    assert len(content.external_id) <= 50


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["ticketbridge", "", "A much longer prefix"]),
    customer=text,
    job=text,
    status=statuses,
    limit=st.integers(min_value=1, max_value=300),
)
def test_4_3_title_never_exceeds_its_limit(
    prefix: str, customer: str, job: str, status: RunStatus, limit: int
) -> None:
    title = compose_title(prefix, customer, job, status, limit)
    assert len(title) <= limit
    assert "\n" not in title
    if limit >= len(status.label) + 8:
        assert title.endswith(f" - {status.label}")
