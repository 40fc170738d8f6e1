"""Batch import for archives: a folder, a CSV of metadata, duplicates, rejections, re-runs."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from colorization.models import Photo
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(tmp_path):
    folder = tmp_path / "lange-1936"
    folder.mkdir()
    (folder / "pea_pickers.jpg").write_bytes(images.jpeg(seed=1))
    (folder / "cotton_hoers.tif").write_bytes(images.tiff16())
    (folder / "notes.jpg").write_bytes(images.html_file())
    (folder / "metadata.csv").write_text(
        "filename,title,year,genre,place,licence,photographer\n"
        'pea_pickers.jpg,Destitute pea pickers,1936,portrait,"Nipomo, California",public-domain,Lange\n'
        "cotton_hoers.tif,Cotton hoers,1937,industry,Texas,public-domain,Lange\n"
        "notes.jpg,Notes,,unknown,,,\n"
        "missing.jpg,Missing,,unknown,,,\n"
    )
    return folder


def test_a_csv_import_reports_imported_duplicates_and_rejections(archive, owner, capsys):
    call_command("import_photos", str(archive / "metadata.csv"), "--owner", "owner")
    out, err = capsys.readouterr()
    assert "Imported 2, duplicates 0, rejected 2." in out
    assert "notes.jpg: This file is not an image" in out
    assert "missing.jpg" in out
    assert "Ignoring unknown columns: photographer" in err
    pickers = Photo.objects.get(title="Destitute pea pickers")
    assert (pickers.year_from, pickers.year_to, pickers.genre, pickers.place) == (
        1936,
        1936,
        "portrait",
        "Nipomo, California",
    )
    assert pickers.owner == owner

    call_command("import_photos", str(archive), "--metadata", str(archive / "metadata.csv"), "--owner", "owner")
    assert "Imported 0, duplicates 2, rejected 2." in capsys.readouterr().out
    assert Photo.objects.count() == 2


def test_a_folder_import_titles_files_by_name(archive, owner, capsys):
    call_command("import_photos", str(archive), "--owner", "owner")
    assert "Imported 2, duplicates 0, rejected 1." in capsys.readouterr().out
    assert set(Photo.objects.values_list("title", flat=True)) == {"pea pickers", "cotton hoers"}


def test_a_dry_run_stores_nothing(archive, owner, capsys):
    call_command("import_photos", str(archive / "metadata.csv"), "--owner", "owner", "--dry-run")
    assert "Checked 2, duplicates 0, rejected 2." in capsys.readouterr().out
    assert Photo.objects.count() == 0


def test_bad_invocations_are_explained(archive, owner, tmp_path):
    with pytest.raises(CommandError, match="no user"):
        call_command("import_photos", str(archive), "--owner", "nobody")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,title\nx.jpg,X\n")
    with pytest.raises(CommandError, match="'filename' column"):
        call_command("import_photos", str(bad), "--owner", "owner")
