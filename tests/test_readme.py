"""The README's result tables are the committed reports' numbers (scripts/docs/readme_tables.py)."""

from __future__ import annotations

from scripts.docs import readme_tables


def test_every_table_has_its_markers_and_its_report():
    text = readme_tables.README.read_text(encoding="utf-8")
    for name, (report, _) in readme_tables.TABLES.items():
        assert f"<!-- table:{name} -->" in text and f"<!-- /table:{name} -->" in text, name
        assert (report / "summary.csv").is_file(), f"{report} is not committed"
        table = text.split(f"<!-- table:{name} -->", 1)[1].split(f"<!-- /table:{name} -->", 1)[0]
        lines = table.strip().splitlines()
        assert len(lines) >= 3 and all(line.startswith("|") for line in lines), f"the {name} table has no rows"


def test_the_readme_tables_match_the_committed_reports():
    assert readme_tables.main(["--check"]) == 0


def test_a_number_edited_by_hand_is_caught():
    text = readme_tables.README.read_text(encoding="utf-8")
    start = text.index("<!-- table:engines -->")
    row = text.index("\n| ", text.index("|---", start)) + 1  # the first data row
    edited = text[:row] + text[row:].replace("|", "| 9", 3)
    assert readme_tables.render(edited) == text
    assert edited != text
