"""Calendar feed tokens (firebell/domain/feeds.py): which person a token claims, and whether it is theirs."""

from __future__ import annotations

import pytest

from firebell.domain.feeds import feed_path, feed_person, matches, new_feed_token, secret_sha256


def test_a_token_names_its_person_and_matches_only_its_own_hash() -> None:
    token = new_feed_token("alice.ng-2")
    assert feed_person(token) == "alice.ng-2"
    assert matches(token, secret_sha256(token))
    assert not matches(new_feed_token("alice.ng-2"), secret_sha256(token))
    assert not matches(token, None)
    assert feed_path(token) == f"/feeds/{token}/calendar.ics" and "/" not in token and "%" not in token


@pytest.mark.parametrize(
    "token",
    ["", ".", "YWxpY2U", "YWxpY2U.short", "." + "a" * 43, "!!!." + "a" * 43, "__8." + "a" * 43, "YWxpY2U." + "a" * 600],
)
def test_anything_else_names_nobody(token: str) -> None:
    assert feed_person(token) is None
