"""Ticket content rules, one test per rule, named after the design section (§4.3, §5A, §7.3A)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_content import (
    DEFAULT_DESCRIPTION_MAX_LENGTH,
    DEFAULT_TITLE_MAX_LENGTH,
    MORE_OBJECTS_LINE,
    REMARK_OBJECTS_LINE,
    TRUNCATED_NOTICE,
    ContentSettings,
    DescriptionTooShort,
    RunFacts,
    RunObject,
    check_base_url,
    compose_ticket,
    compose_title,
    find_reference,
    is_reference,
    run_reference,
)

SETTINGS = ContentSettings(base_url="https://tb.example.com", installation="msp-one")


def facts(**changes: object) -> RunFacts:
    base = RunFacts(
        run_id=7,
        job_id=3,
        customer_name="Acme",
        job_name="Nightly",
        backup_product="Veeam Backup & Replication",
        job_type="Backup Copy",
        status=RunStatus.ERROR,
        started_at=datetime(2026, 1, 13, 2, 0, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def errors(count: int, message: str = "failed") -> tuple[RunObject, ...]:
    return tuple(
        RunObject(f"VM{i:02d}", "VM", RunStatus.ERROR, f"{message} {i}") for i in range(count)
    )


def test_4_3_title_is_prefix_customer_job_status() -> None:
    assert compose_ticket(facts(), SETTINGS).title == "[ticketbridge] Acme - Nightly - Error"


def test_4_3_title_prefix_comes_from_settings_and_may_be_empty() -> None:
    custom = replace(SETTINGS, title_prefix="Backups")
    assert compose_ticket(facts(), custom).title == "[Backups] Acme - Nightly - Error"
    assert compose_ticket(facts(), replace(SETTINGS, title_prefix="")).title == (
        "Acme - Nightly - Error"
    )


def test_4_3_title_cut_shortens_names_and_keeps_the_status() -> None:
    title = compose_title("ticketbridge", "C" * 40, "J" * 200, RunStatus.FAILED, 80)
    assert len(title) == 80
    assert title.startswith("[ticketbridge] " + "C" * 20)
    assert title.endswith("… - Failed")


def test_4_3_title_cut_leaves_a_short_customer_whole() -> None:
    title = compose_title("ticketbridge", "Acme", "J" * 300, RunStatus.WARNING, 60)
    assert title.startswith("[ticketbridge] Acme - JJJ")
    assert title.endswith("… - Warning") and len(title) == 60


def test_4_3_title_drops_prefix_before_names_become_unreadable() -> None:
    title = compose_title("ticketbridge", "Acme Corporation", "Nightly backup", RunStatus.ERROR, 34)
    assert not title.startswith("[")
    assert title.endswith(" - Error") and len(title) <= 34


def test_4_3_title_length_defaults_when_metadata_gives_none() -> None:
    assert ContentSettings("https://x.example", "i", title_max_length=0).title_limit == (
        DEFAULT_TITLE_MAX_LENGTH
    )
    assert ContentSettings("https://x.example", "i").description_limit == (
        DEFAULT_DESCRIPTION_MAX_LENGTH
    )


def test_4_3_title_is_one_line() -> None:
    title = compose_ticket(facts(job_name="Nightly\n  copy\x07"), SETTINGS).title
    assert title == "[ticketbridge] Acme - Nightly copy - Error"


def test_5a_3_remark_leads_description() -> None:
    text = compose_ticket(facts(overall_remark="Repository offline."), SETTINGS).description
    assert text.startswith("Repository offline.")


def test_5a_3_remark_with_object_errors_adds_the_fixed_line_instead_of_objects() -> None:
    run = facts(overall_remark="Two VMs failed.", objects=errors(2, "snapshot failed"))
    text = compose_ticket(run, SETTINGS).description
    assert text.startswith(f"Two VMs failed.\n\n{REMARK_OBJECTS_LINE}\n")
    assert "snapshot failed" not in text and "VM00" not in text


def test_5a_3_remark_with_only_warning_objects_adds_no_error_line() -> None:
    objects = (RunObject("HV01", "VM", RunStatus.WARNING, "slow"),)
    text = compose_ticket(facts(overall_remark="Slow.", objects=objects), SETTINGS).description
    assert REMARK_OBJECTS_LINE not in text


def test_5a_4_without_remark_lists_object_errors_and_warnings() -> None:
    objects = (
        RunObject("HV01", "VM", RunStatus.WARNING, "low space"),
        RunObject("HV02", "VM", RunStatus.SUCCESS, "all fine"),
        RunObject("HV03", "VM", RunStatus.FAILED, "no snapshot"),
        RunObject("HV04", "VM", RunStatus.UNKNOWN, "unparsed"),
    )
    text = compose_ticket(facts(objects=objects), SETTINGS).description
    assert "- HV03 (VM) [Failed]: no snapshot\n- HV01 (VM) [Warning]: low space" in text
    assert "all fine" not in text and "unparsed" not in text


def test_5a_4_lists_at_most_n_objects_then_counts_the_rest() -> None:
    text = compose_ticket(facts(objects=errors(12)), SETTINGS).description
    assert text.count("\n- VM") == 5
    assert MORE_OBJECTS_LINE.format(count=7) in text


def test_5a_4_n_comes_from_settings() -> None:
    text = compose_ticket(facts(objects=errors(4)), replace(SETTINGS, max_listed_objects=2))
    assert text.description.count("\n- VM") == 2
    assert "And 2 additional objects reported similar errors." in text.description


def test_5a_6_identical_messages_are_collapsed_into_one_entry() -> None:
    objects = tuple(
        RunObject(f"WS{i}", "", RunStatus.ERROR, "Snapshot  FAILED" if i else "snapshot failed")
        for i in range(3)
    )
    text = compose_ticket(facts(objects=objects), SETTINGS).description
    assert "- WS0, WS1, WS2 [Error]: snapshot failed" in text
    assert text.casefold().count("snapshot failed") == 1


def test_5a_6_identical_messages_still_count_every_object_against_n() -> None:
    text = compose_ticket(facts(objects=errors(9, "same")), SETTINGS).description
    text2 = compose_ticket(
        facts(objects=tuple(RunObject(f"VM{i}", "", RunStatus.ERROR, "same") for i in range(9))),
        SETTINGS,
    ).description
    assert "And 4 additional objects" in text and "And 4 additional objects" in text2
    assert "- VM0, VM1, VM2, VM3, VM4 [Error]: same" in text2


def test_5a_6_html_is_stripped_from_messages() -> None:
    objects = (RunObject("HV01", "", RunStatus.ERROR, "<p>Disk <b>full</b> &amp; locked</p>"),)
    text = compose_ticket(facts(objects=objects), SETTINGS).description
    assert "Disk full & locked" in text and "<" not in text


def test_5a_6_stack_traces_are_dropped() -> None:
    message = "IOException: path not found\n   at Veeam.Core.Run()\n   at Veeam.Core.Exec()"
    objects = (RunObject("HV01", "", RunStatus.ERROR, message),)
    text = compose_ticket(facts(objects=objects), SETTINGS).description
    assert "IOException: path not found" in text and "Veeam.Core" not in text


def test_5a_6_each_message_is_capped() -> None:
    objects = (RunObject("HV01", "", RunStatus.ERROR, "word " * 1000),)
    line = next(
        line
        for line in compose_ticket(facts(objects=objects), SETTINGS).description.splitlines()
        if line.startswith("- HV01")
    )
    assert len(line) < 400 and line.endswith("…")


def test_5a_5_description_names_job_product_type_time_status_and_link() -> None:
    text = compose_ticket(facts(overall_remark="x"), SETTINGS).description
    assert "Job: Nightly" in text
    assert "Backup: Veeam Backup & Replication, Backup Copy" in text
    assert "Run: 2026-01-13 02:00 UTC" in text
    assert "Status: Error" in text
    assert "Job Details: https://tb.example.com/jobs/3/runs/7" in text


def test_5a_5_run_time_is_shown_in_the_ui_timezone() -> None:
    settings = replace(SETTINGS, ui_timezone="Europe/Amsterdam")
    text = compose_ticket(facts(), settings).description
    assert "Run: 2026-01-13 03:00 CET (Europe/Amsterdam)" in text


def test_5a_5_run_time_from_another_offset_is_converted() -> None:
    started = datetime(2026, 1, 13, 2, 0, tzinfo=timezone(timedelta(hours=-5)))
    text = compose_ticket(facts(started_at=started), SETTINGS).description
    assert "Run: 2026-01-13 07:00 UTC" in text


def test_5a_5_naive_run_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        facts(started_at=datetime(2026, 1, 13, 2, 0))


def test_5a_5_job_details_url_keeps_a_base_path_and_drops_a_trailing_slash() -> None:
    settings = replace(SETTINGS, base_url="https://example.com/ticketbridge/")
    content = compose_ticket(facts(), settings)
    assert content.job_details_url == "https://example.com/ticketbridge/jobs/3/runs/7"


@pytest.mark.parametrize(
    "base_url", ["", "   ", "tb.example.com", "ftp://tb.example.com", "https://x.example/?a=1"]
)
def test_7_3a_base_url_must_be_an_absolute_http_url(base_url: str) -> None:
    assert check_base_url(base_url) is not None
    with pytest.raises(ValueError):
        ContentSettings(base_url=base_url, installation="i")


def test_4_2_external_id_and_marker_carry_the_same_stable_reference() -> None:
    content = compose_ticket(facts(), SETTINGS)
    assert content.external_id == "run-7@msp-one"
    assert content.description.endswith("\nticketbridge-ref: run-7@msp-one")
    assert find_reference(content.description) == content.external_id
    assert compose_ticket(facts(overall_remark="other"), SETTINGS).external_id == "run-7@msp-one"


def test_4_2_reference_fits_the_external_id_length_by_hashing_a_long_installation() -> None:
    reference = run_reference(
        123456789, "A very long installation name for the Rotterdam office, Inc.", 50
    )
    assert len(reference) == 50 and reference.startswith("run-123456789@")
    assert is_reference(reference)
    assert reference == run_reference(
        123456789, "A very long installation name for the Rotterdam office, Inc.", 50
    )
    assert reference != run_reference(
        123456789, "Another very long installation name for the Utrecht office", 50
    )


def test_4_2_find_reference_ignores_text_without_a_marker_line() -> None:
    assert find_reference("mentions ticketbridge-ref: run-1@x inline") is None
    assert find_reference(None) is None


def test_5a_description_is_cut_with_a_notice_keeping_link_and_marker() -> None:
    remark = "\n".join(f"Line {i}: something went wrong on volume {i}." for i in range(400))
    settings = replace(SETTINGS, description_max_length=1000)
    content = compose_ticket(facts(overall_remark=remark), settings)
    assert content.truncated
    assert len(content.description) <= 1000
    assert TRUNCATED_NOTICE in content.description
    assert content.description.endswith(
        "Job Details: https://tb.example.com/jobs/3/runs/7\n\nticketbridge-ref: run-7@msp-one"
    )
    assert "Line 0:" in content.description


def test_5a_description_that_fits_is_not_marked_truncated() -> None:
    content = compose_ticket(facts(overall_remark="short"), SETTINGS)
    assert not content.truncated and TRUNCATED_NOTICE not in content.description


def test_5a_very_small_field_drops_fact_lines_before_the_link() -> None:
    settings = replace(SETTINGS, description_max_length=120)
    content = compose_ticket(facts(overall_remark="x" * 500), settings)
    assert len(content.description) <= 120
    assert "Job Details: https://tb.example.com/jobs/3/runs/7" in content.description
    assert "Customer:" not in content.description


def test_5a_field_too_small_for_link_and_marker_is_an_error() -> None:
    with pytest.raises(DescriptionTooShort):
        compose_ticket(facts(), replace(SETTINGS, description_max_length=40))
