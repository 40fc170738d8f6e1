"""Issue 22, item 14: the demo's photographs are titled for people, not by their file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from community.management.commands.demo_setup import DEMO_TITLES, _metadata_from_name

SHARED_BW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bw"


def test_every_shared_demo_photo_has_a_readable_title():
    files = sorted(SHARED_BW.glob("*.jpg"))
    if not files:
        pytest.skip(f"{SHARED_BW} holds no demo photographs")
    for path in files:
        title = _metadata_from_name(path)["title"]
        assert "_" not in title and not title.endswith(" "), (path.name, title)
        assert title == DEMO_TITLES.get(path.stem), f"{path.name} has no title written for people"
    assert _metadata_from_name(SHARED_BW / "Detroit_circa_1915.jpg")["title"] == "Detroit street scene, about 1915"


def test_an_unknown_file_name_is_made_readable():
    metadata = _metadata_from_name(Path("Tram_on_Woodward-Avenue_1917_0a1b2c3d.jpg"))
    assert metadata["title"] == "Tram on Woodward Avenue 1917"
    assert (metadata["year_from"], metadata["year_to"], metadata["genre"]) == (1917, 1917, "street")
