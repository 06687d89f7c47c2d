"""What applications.submission says and records, to the letter: receipts, refusals and the ready state
(docs/testing.md, "Mutation testing")."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from applications.submission import format_receipt_instant


@pytest.mark.parametrize(
    ("language", "instant", "expected"),
    [
        ("nl", datetime(2026, 10, 1, 7, 0, 0, 42_000, tzinfo=UTC), "1 oktober 2026 09:00:00,042"),
        ("en", datetime(2026, 10, 1, 7, 0, 0, 42_999, tzinfo=UTC), "1 October 2026 09:00:00.042"),
        ("nl", datetime(2026, 1, 5, 23, 59, 59, 999_999, tzinfo=UTC), "6 januari 2026 00:59:59,999"),
        ("nl", datetime(2026, 3, 1, 8, 0, 0, 1_000, tzinfo=UTC), "1 maart 2026 09:00:00,001"),
    ],
)
def test_a_receipt_instant_reads_to_the_millisecond_in_amsterdam_time(language, instant, expected):
    with translation.override(language):
        assert format_receipt_instant(instant) == expected
