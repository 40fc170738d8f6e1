from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        from community.gallery import receivers  # noqa: F401 - keeps gallery entries and page caches in step
        from community.review import corrections  # noqa: F401 - connects the draft_finished receiver
