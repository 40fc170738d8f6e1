"""Back up the whole installation: the database and every media file, with a manifest of sha256s.

    manage.py backup [--to DIR]        (default: <CHROMA_VAR_DIR>/backups)

Writes DIR/chroma-backup-<UTC time>/ (manifest.json, database.dump, blobs/); see
colorization/backups.py. PostgreSQL is dumped with pg_dump --format=custom (the client must be
installed and of the server's major version or newer); SQLite with its online backup API.
Copy the folder off the host (or to another bucket) and restore it with `manage.py restore`.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from colorization.backups import BackupError, backup_create


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, default=None, help="the folder to write the backup under")

    def handle(self, *args, to: Path | None, **options):
        destination = to or Path(settings.VAR_DIR) / "backups"
        try:
            report = backup_create(destination=destination)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Backed up the database ({report.database_bytes} bytes) and {report.media_files} media files "
            f"({report.media_bytes} bytes) to {report.folder}"
        )
