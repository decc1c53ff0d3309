from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "webapp.search"
    label = "search"
    verbose_name = "Product search"

    def ready(self):
        from . import signals, tasks  # noqa: F401  (catalog changes schedule a build; the task is registered)
