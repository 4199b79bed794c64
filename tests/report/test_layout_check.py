"""The browser check's column rule on fixed measurements (no browser): scripts/tests/check_report_html.py."""

from __future__ import annotations

from scripts.tests.check_report_html import layout_problems


def layout(box_width: float, header_rights: list[float], overflow_x: str = "auto", page_width: float = 1400) -> dict:
    headers = [{"text": f"c{i}", "right": r} for i, r in enumerate(header_rights)]
    table = {
        "id": "table-summary",
        "box_left": 100.0,
        "box_right": 100.0 + box_width,
        "client_width": box_width,
        "scroll_width": max(header_rights) - 100.0,
        "overflow_x": overflow_x,
        "headers": headers,
    }
    return {"viewport": 1400, "page_width": page_width, "tables": [table]}


def test_a_table_that_fits_passes_both_rules():
    fitting = layout(1000, [300, 700, 1100])  # the last header ends exactly at the box's right edge
    assert layout_problems(fitting, "desktop", all_visible=True) == []
    assert layout_problems(fitting, "phone", all_visible=False) == []


def test_columns_beyond_the_box_are_cut_off_on_the_desktop():
    wide = layout(1000, [300, 1100, 1500, 1900])
    assert layout_problems(wide, "desktop", all_visible=True) == [
        "desktop (1400 px): table #table-summary cuts off 2 column(s) at its right edge: c2, c3 "
        "(table 1800.0 px wide in a 1000 px box)"
    ]


def test_on_a_phone_columns_beyond_the_box_only_need_a_box_that_scrolls():
    assert layout_problems(layout(300, [200, 900], overflow_x="auto"), "phone", all_visible=False) == []
    clipped = layout(300, [200, 900], overflow_x="hidden")
    assert layout_problems(clipped, "phone", all_visible=False) == [
        "phone (1400 px): table #table-summary is wider than its box and the box does not scroll: c1"
    ]


def test_a_page_wider_than_the_window_is_a_problem():
    assert layout_problems(layout(1000, [300], page_width=1600), "desktop", all_visible=True) == [
        "desktop (1400 px): the page is 1600 px wide, wider than the window"
    ]
