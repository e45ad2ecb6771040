import datetime

import pytest


@pytest.fixture
def as_of() -> datetime.date:
    return datetime.date(2026, 6, 30)
