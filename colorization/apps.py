from django.apps import AppConfig


class ColorizationConfig(AppConfig):
    name = "colorization"
    verbose_name = "Colorization"
