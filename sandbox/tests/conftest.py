from __future__ import annotations

import pytest
import requests


@pytest.fixture
def http() -> requests.Session:
    with requests.Session() as s:
        yield s
