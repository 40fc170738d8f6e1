"""Create gold-standard photos from a folder of COLOUR photographs whose colours are true.

    manage.py gold_import DIR --owner USERNAME [--year-from 1905 --year-to 1915] [--place TEXT]
                          [--genre GENRE] [--source-archive TEXT] [--licence public-domain] [--limit N]

Each colour file is kept untouched as the truth; volunteers see a greyscale photo made from it.
The owner must be a moderator (or administrator). Re-running is safe: a colour file that is
already a gold standard is counted as a duplicate. For the Prokudin-Gorskii set:

    manage.py gold_import ../shared/data/era/prokudin-gorskii-1905-1915 --owner archivist \\
        --year-from 1905 --year-to 1915 --place "Russian Empire" --source-archive "Library of Congress"
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from colorization.images import ImageRejected
from colorization.models import Licence
from community.review.gold import gold_create
from community.review.permissions import is_moderator

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--owner", required=True, help="a moderator's username; the photos are theirs")
        parser.add_argument("--year-from", type=int)
        parser.add_argument("--year-to", type=int)
        parser.add_argument("--place", default="")
        parser.add_argument("--genre", default="unknown")
        parser.add_argument("--source-archive", default="")
        parser.add_argument("--licence", default=Licence.PUBLIC_DOMAIN, choices=Licence.values)
        parser.add_argument("--title-prefix", default="", help="titles are '<prefix><file stem>'")
        parser.add_argument("--limit", type=int, help="import at most this many files (sorted by name)")

    def handle(self, *args, folder: Path, owner: str, limit: int | None, **options):
        try:
            user = get_user_model().objects.get(username=owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user called {owner!r}.") from None
        if not is_moderator(user):
            raise CommandError(f"{owner} is not a moderator; gold-standard photos are created by moderators.")
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if limit is not None:
            paths = paths[:limit]
        if not paths:
            raise CommandError(f"No images in {folder}.")
        created = duplicates = 0
        rejected: list[tuple[str, str]] = []
        interactive = sys.stdout.isatty()
        for n, path in enumerate(paths, 1):
            metadata = {
                "title": f"{options['title_prefix']}{path.stem}",
                "year_from": options["year_from"],
                "year_to": options["year_to"],
                "place": options["place"],
                "genre": options["genre"],
                "source_archive": options["source_archive"],
                "licence": options["licence"],
            }
            try:
                with open(path, "rb") as f:
                    result = gold_create(
                        moderator=user,
                        file=f,
                        filename=path.name,
                        metadata=metadata,
                        note=f"gold_import {path.name}",
                        rate_limited=False,
                    )
            except (ImageRejected, ValidationError, PermissionDenied, OSError) as exc:
                reason = (
                    exc.message if isinstance(exc, ImageRejected) else "; ".join(getattr(exc, "messages", [str(exc)]))
                )
                rejected.append((path.name, reason))
                outcome = "rejected"
            else:
                outcome = "created" if result.created else "duplicate"
                created += result.created
                duplicates += not result.created
            self.stdout.write(
                f"{n}/{len(paths)} {path.name}: {outcome}", ending="\r" if interactive and n < len(paths) else "\n"
            )
        self.stdout.write(
            f"\nGold-standard photos created {created}, duplicates {duplicates}, rejected {len(rejected)}."
        )
        for name, reason in rejected:
            self.stdout.write(f"  rejected {name}: {reason}")
