from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        from community import (
            corrections,  # noqa: F401 - connects the draft_finished receiver
            gallery,  # noqa: F401 - keeps gallery entries and page caches in step
        )
