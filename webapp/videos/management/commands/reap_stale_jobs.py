from django.core.management.base import BaseCommand

from webapp.videos.services import reap_stale_jobs


class Command(BaseCommand):
    help = "Queue again (or fail) RUNNING jobs whose worker stopped sending heartbeats."

    def handle(self, *args, **options):
        counts = reap_stale_jobs()
        self.stdout.write(f"{counts['requeued']} job(s) queued again, {counts['failed']} failed")
