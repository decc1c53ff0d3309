from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "webapp.learning"
    label = "learning"
    verbose_name = "Learning from reviews"

    def ready(self):
        from . import tasks  # noqa: F401  (the harvest and refit tasks are registered)
