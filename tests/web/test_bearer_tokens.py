"""Malformed bearer tokens (issue 10, item 7) are refused with 401 like any wrong token, never
a 500: the header is the first thing a stranger controls."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token
from ticketbridge.core.roles import Role


def test_a_bearer_token_that_is_not_one_of_ours_is_refused_with_401(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    real = add_token(db, Role.OPERATOR)
    _, prefix, secret = real.split("_", 2)
    sent_as_bytes = [
        f"tb_{prefix}_".encode() + b"\xe9\xe9",  # the case reported: Latin-1 after the prefix
        f"tb_{prefix}_{secret[:-2]}".encode() + b"\xe9\xe9",
        b"tb_\xe9\xe9_" + secret.encode(),
        f"tb_{prefix}_{secret}".encode() + b"\x7f",
    ]
    sent_as_text = [
        f"tb_{prefix}_",
        f"tb__{secret}",
        f"tb_{prefix}_{secret}_{'x' * 10_000}",
        f"tb_{prefix.upper()}_{secret}",
        f"tb_{prefix}_{secret}%00",
        "tb_' OR 1=1 --_x",
        "tb",
        "_".join(["tb"] * 50),
    ]
    for value in [*sent_as_bytes, *(v.encode() for v in sent_as_text)]:
        answer = client.get("/api/v1/runs", headers={b"authorization": b"Bearer " + value})
        assert answer.status_code == 401, value
        assert answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"

    real_answer = client.get("/api/v1/runs", headers={"Authorization": f"Bearer {real}"})
    assert real_answer.status_code == 200
