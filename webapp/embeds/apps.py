from django.apps import AppConfig


class EmbedsConfig(AppConfig):
    name = "webapp.embeds"
    label = "embeds"
