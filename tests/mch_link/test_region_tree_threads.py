"""A RegionTree kept in reports.views.REGISTRY_PARTS is shared by the threads of
a process (statements.Kept is thread-safe by design); children() publishes its index only once built."""

import datetime
import threading

from mch_link.selectors import RegionRow, RegionTree

D = datetime.date


def test_children_seen_by_a_second_thread_while_the_first_builds_the_index():
    rows = {1: RegionRow(1, "330600", "绍兴市", "city", None, None, None, None),
            2: RegionRow(2, "330602", "越城区", "county", 1, None, None, None)}
    tree = RegionTree(day=D(2026, 3, 31), rows=rows)
    inside, go_on = threading.Event(), threading.Event()
    valid = RegionTree._valid

    def slow_valid(self, r):  # the first thread, part-way through the index
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            go_on.wait(5)
        return valid(self, r)

    tree._valid = slow_valid.__get__(tree)
    seen = {}
    builder = threading.Thread(target=lambda: seen.setdefault("builder", tree.children(1)))
    builder.start()
    assert inside.wait(5)
    seen["other"] = tree.children(1)  # a second request on the same kept tree
    go_on.set()
    builder.join()
    assert [r.code for r in seen["other"]] == ["330602"] == [r.code for r in seen["builder"]]
