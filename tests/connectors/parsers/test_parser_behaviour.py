"""Behaviour across parsers that the golden files show only implicitly."""

from __future__ import annotations

from pathlib import Path

from ticketbridge.connectors.parsers.registry import ParseState, parse_message
from ticketbridge.core.reports import ParsedReport, ReportKind
from ticketbridge.core.statuses import RunStatus

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def _parse(relative: str) -> ParsedReport:
    outcome = parse_message((FIXTURES / relative).read_bytes())
    assert outcome.state is ParseState.PARSED
    return outcome.reports[0]


def test_first_error_and_final_agent_mails_share_the_upsert_key() -> None:
    first = _parse("veeam_agent/windows-first-error-mail.eml")
    final = _parse("veeam_agent/windows-final-result-same-session.eml")
    assert (first.job_name, first.host, first.started_at) == (
        final.job_name,
        final.host,
        final.started_at,
    )
    assert (first.status, final.status) == (RunStatus.ERROR, RunStatus.SUCCESS)


def test_mails_that_are_not_runs_are_never_of_kind_run() -> None:
    kinds = {
        _parse("backup_exec/general-information.eml").kind,
        _parse("backup_exec/database-maintenance-information.eml").kind,
        _parse("macrium_reflect/site-manager-disk-space-low.eml").kind,
        _parse("macrium_reflect/image-guardian-event.eml").kind,
        _parse("veeam_br/sobr-daily-summary.eml").kind,
    }
    assert ReportKind.RUN not in kinds


def test_cobian_reflector_is_not_taken_for_macrium_reflect() -> None:
    raw = (
        b"From: Cobian Reflector <cobian@example.com>\r\n"
        b'Subject: ** Backup done for the task "Docs". Errors: 0. Processed files: 10 **\r\n'
        b"Date: Mon, 01 Jun 2026 10:00:00 +0200\r\n\r\n"
        b"Cobian Reflector: backup of Docs finished.\r\n"
    )
    assert parse_message(raw).parser != "macrium_reflect"


def test_a_forwarded_report_keeps_the_originals_times() -> None:
    report = _parse("veeam_br/backup-copy-warning-forwarded-inline.eml")
    # Start 23:40:02 and end 00:12:44 (+1) at +02:00: the end is on the next day.
    assert report.started_at is not None and report.ended_at is not None
    assert (report.ended_at - report.started_at).total_seconds() == 32 * 60 + 42
