"""Restore a backup made by `manage.py backup` onto a fresh instance.

    manage.py restore BACKUP_FOLDER

The instance must be fresh: DATABASE_URL names an empty database (created, never migrated) and the
media storage (MEDIA_ROOT or the S3 bucket) is empty; anything else is refused, nothing is merged.
Every file is checked against the manifest's sha256 before it is written and read back after.
Run `manage.py migrate` afterwards when the code is newer than the backup.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from colorization.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="a chroma-backup-… folder")

    def handle(self, *args, folder: Path, **options):
        try:
            report = backup_restore(folder=folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored the database ({report.database_bytes} bytes) and {report.media_files} media files "
            f"({report.media_bytes} bytes, every sha256 checked) from {report.folder}"
        )
