from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "webapp.videos"
    label = "videos"
