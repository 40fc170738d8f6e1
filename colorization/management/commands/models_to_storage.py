"""Move community model files from CHROMA_MODEL_DIR (where they lived before storage held them) into
storage, under their sha256 keys, and point the registry at them. Run once per installation after
upgrading; running it again does nothing. No host needs the old folder afterwards.

manage.py models_to_storage
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from colorization import model_registry


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        try:
            report = model_registry.models_move_to_storage()
        except ConnectionError as exc:
            raise CommandError(f"storage did not answer: {exc}") from exc
        for slug in report.moved:
            self.stdout.write(f"moved {slug}")
        self.stdout.write(
            f"{len(report.moved)} moved into storage, {len(report.already)} already there, "
            f"{len(report.problems)} problems"
        )
        if report.problems:
            raise CommandError("\n".join(report.problems))
