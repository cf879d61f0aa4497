"""Fixtures shared by the tests of the registry and its reads."""

import datetime

import pytest

from tests import factories as f

D = datetime.date


@pytest.fixture
def moved(world):
    """沥海街道 moved from 越城区 to 柯桥区 on 2026-01-01; 海韵托育 is still filed under the old row."""
    new = f.region("330603100", "沥海街道", parent=world.kq, valid_from=D(2026, 1, 1))
    old = f.region("330602100", "沥海街道", parent=world.yc, valid_to=D(2025, 12, 31), successor=new)
    world.sea = f.centre("海韵托育", old)
    return world
