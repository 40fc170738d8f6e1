from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        from colorization.access import register_write_check
        from community import receivers  # noqa: F401 - colorization's events (see its docstring)
        from community.review.permissions import suspension_refusal

        register_write_check(suspension_refusal)  # suspended accounts write nowhere (colorization/access.py)
