"""Import a folder of photographs (an archive's batch), with metadata from a CSV file.

    manage.py import_photos DIR_OR_CSV [--metadata FILE.csv] --owner USERNAME [--dry-run]

CSV columns (header row; all optional except filename):
  filename         the file, relative to the CSV's folder (or to DIR)
  title            defaults to the file name
  description, place, source_archive, source_reference, credit_line
  year             a single year; or year_from and year_to for a range
  genre            one of CHROMA_GENRES (default "unknown")
  licence          public-domain, cc0, cc-by-4.0, cc-by-sa-4.0, cc-by-nc-4.0, cc-by-nc-sa-4.0,
                   cc-by-nd-4.0, all-rights-reserved, unknown (default)
Unknown columns are reported and ignored. Files already on the platform (same sha256) are
counted as duplicates, so re-running an import is safe.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from colorization.images import ImageRejected
from colorization.models import Photo
from colorization.services import METADATA_FIELDS, inspect_upload, photo_upload, validate_metadata

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".bmp", ".heic", ".heif"}
CSV_COLUMNS = {"filename", "year", *METADATA_FIELDS}


def _progress(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / max(1, total))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="a folder of images, or a CSV file")
        parser.add_argument("--metadata", type=Path, help="a CSV file describing the folder's images")
        parser.add_argument("--owner", required=True, help="the account the photos are uploaded as")
        parser.add_argument("--dry-run", action="store_true", help="check everything, store nothing")

    def handle(self, *args, source: Path, metadata: Path | None, owner: str, dry_run: bool, **options):
        try:
            user = get_user_model().objects.get(username=owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user called {owner!r}.") from None
        rows = self._rows(source, metadata)
        imported, duplicates, rejected = 0, 0, []
        interactive = sys.stdout.isatty()
        for n, (path, meta) in enumerate(rows, 1):
            try:
                outcome = self._import_one(user, path, meta, dry_run)
            except (ImageRejected, ValidationError, OSError) as exc:
                reason = (
                    exc.message if isinstance(exc, ImageRejected) else "; ".join(getattr(exc, "messages", [str(exc)]))
                )
                rejected.append((path.name, reason))
                outcome = "rejected"
            imported += outcome == "imported"
            duplicates += outcome == "duplicate"
            line = f"{_progress(n, len(rows))} {path.name}: {outcome}"
            self.stdout.write(line, ending="\r" if interactive and n < len(rows) else "\n")
        self.stdout.write(
            f"\n{'Checked' if dry_run else 'Imported'} {imported}, duplicates {duplicates}, rejected {len(rejected)}."
        )
        for name, reason in rejected:
            self.stdout.write(f"  rejected {name}: {reason}")

    def _import_one(self, user, path: Path, meta: dict, dry_run: bool) -> str:
        if dry_run:
            validate_metadata(meta)
            with open(path, "rb") as f:
                info = inspect_upload(f)
            return "duplicate" if Photo.objects.filter(original_sha256=info.sha256).exists() else "imported"
        with open(path, "rb") as f:
            result = photo_upload(
                owner=user, file=File(f, name=path.name), filename=path.name, metadata=meta, rate_limited=False
            )
        return "imported" if result.created else "duplicate"

    def _rows(self, source: Path, metadata: Path | None) -> list[tuple[Path, dict]]:
        if source.is_file() and source.suffix.lower() == ".csv":
            if metadata:
                raise CommandError("give either a CSV file or a folder with --metadata, not both")
            return self._csv_rows(source, source.parent)
        if not source.is_dir():
            raise CommandError(f"{source} is neither a folder nor a CSV file")
        if metadata:
            return self._csv_rows(metadata, source)
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CommandError(f"no images in {source}")
        return [(p, {"title": p.stem.replace("_", " ")[:300]}) for p in files]

    def _csv_rows(self, csv_path: Path, folder: Path) -> list[tuple[Path, dict]]:
        try:
            with open(csv_path, newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                header = reader.fieldnames or []
                records = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"cannot read {csv_path}: {exc}") from None
        if "filename" not in header:
            raise CommandError(f"{csv_path} needs a 'filename' column; it has: {', '.join(header) or 'none'}")
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            self.stderr.write(
                f"Ignoring unknown columns: {', '.join(unknown)} (known: {', '.join(sorted(CSV_COLUMNS))})"
            )
        rows = []
        for line, record in enumerate(records, 2):
            name = (record.get("filename") or "").strip()
            if not name:
                self.stderr.write(f"line {line}: no filename; skipped")
                continue
            meta = {k: v.strip() for k, v in record.items() if k in METADATA_FIELDS and v is not None and v.strip()}
            if record.get("year", "").strip():
                meta.setdefault("year_from", record["year"].strip())
                meta.setdefault("year_to", record["year"].strip())
            meta.setdefault("title", Path(name).stem.replace("_", " ")[:300])
            rows.append(((folder / name), meta))
        if not rows:
            raise CommandError(f"{csv_path} lists no files")
        return rows
