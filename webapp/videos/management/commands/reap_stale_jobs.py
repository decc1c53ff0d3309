from django.core.management.base import BaseCommand

from webapp.videos.lifecycle import reap


class Command(BaseCommand):
    help = "Queue again (or fail) RUNNING jobs whose worker stopped sending heartbeats; send again QUEUED jobs the broker lost."

    def handle(self, *args, **options):
        counts = reap()
        self.stdout.write(f"{counts['requeued']} job(s) queued again, {counts['failed']} failed, "
                          f"{counts['resent']} sent again")
