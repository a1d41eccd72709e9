from __future__ import annotations

import pytest

from ticketbridge.storage.secrets import SecretBox, SecretUnreadable


def test_secrets_round_trip_and_are_not_stored_in_clear() -> None:
    box = SecretBox("k" * 40)

    token = box.encrypt("api-password")

    assert "api-password" not in token
    assert box.decrypt(token) == "api-password"


def test_a_changed_secret_key_gives_a_clear_error() -> None:
    token = SecretBox("k" * 40).encrypt("api-password")

    with pytest.raises(SecretUnreadable, match="Enter the secret again"):
        SecretBox("j" * 40).decrypt(token)
