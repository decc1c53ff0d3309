"""``python manage.py demo``: the demo shop, its users, catalog and video, and a job.

Users: the shop's seller, reviewer and admin (a shop admin manages this shop only), and one
platform staff account (Django staff + superuser: every shop, the Django admin), member of none.

Reads, under ``--path`` (default: demo/ at the repository root)::

    catalog/products.csv + images   the catalog folder (the contract)
    video.mp4                       the demo video
    comments.csv                    optional, time_s,user,text

Idempotent: running it again updates the users' passwords and the catalog, keeps the video (same
SHA-256) and only queues a job when the video has none that is active or succeeded."""

import hashlib
import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ml.errors import InputError
from webapp.accounts.models import Membership, Role, Shop
from webapp.catalog.services import import_catalog_folder
from webapp.videos import lifecycle
from webapp.videos.comments import parse_comments_file, store_comments
from webapp.videos.ingest import create_video_from_path
from webapp.videos.models import Job, Video

USERS = [  # username, password, role in the demo shop (None: no membership), what it is
    ("seller", "seller-demo-pass", Role.SELLER, "seller of Demo Grocery"),
    ("reviewer", "reviewer-demo-pass", Role.REVIEWER, "reviewer of Demo Grocery"),
    ("admin", "admin-demo-pass", Role.ADMIN, "shop admin of Demo Grocery (catalog, members, its videos)"),
    ("staff", "staff-demo-pass", None, "platform staff (every shop, Django admin)"),
]


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


class Command(BaseCommand):
    help = "Create the demo shop (Demo Grocery), users seller/reviewer/admin/staff, catalog, video, and queue a job."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(settings.BASE_DIR / "demo"), help="folder with catalog/, video.mp4")
        parser.add_argument("--no-job", action="store_true", help="do not queue a job")
        parser.add_argument("--rerun", action="store_true", help="queue a new job even if one succeeded")

    def handle(self, *args, path, no_job, rerun, **options):
        catalog_dir = os.path.join(path, "catalog")
        video_path = os.path.join(path, "video.mp4")
        comments_path = os.path.join(path, "comments.csv")
        for needed in (os.path.join(catalog_dir, "products.csv"), video_path):
            if not os.path.isfile(needed):
                raise CommandError(f"demo data missing: {needed}")
        User = get_user_model()
        try:
            with transaction.atomic():
                shop, _ = Shop.objects.get_or_create(slug="demo-grocery", defaults={"name": "Demo Grocery"})
                for username, password, role, _ in USERS:
                    user, _ = User.objects.get_or_create(username=username)
                    user.set_password(password)
                    user.is_staff = user.is_superuser = role is None
                    user.save()
                    if role is None:
                        Membership.objects.filter(user=user).delete()
                    else:
                        Membership.objects.update_or_create(user=user, shop=shop, defaults={"role": role})
                summary = import_catalog_folder(shop, catalog_dir)
                seller = User.objects.get(username="seller")
                video = Video.objects.filter(shop=shop, sha256=sha256_of(video_path)).first()
                if video is None:
                    video = create_video_from_path(shop, seller, video_path, "Demo grocery haul")
                if os.path.isfile(comments_path):
                    store_comments(video, parse_comments_file(comments_path, video.duration_s))
                job = None
                has_job = video.jobs.filter(status__in=(Job.Status.QUEUED, Job.Status.RUNNING,
                                                        Job.Status.SUCCEEDED)).exists()
                if not no_job and (rerun or not has_job):
                    try:
                        job = lifecycle.start(video, seller)
                    except lifecycle.JobAlreadyActive as e:
                        job = e.job
                    except lifecycle.BrokerUnavailable as e:  # kept; the worker's reaper sends it
                        job = Job.objects.get(pk=e.job_id)
        except InputError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(self.style.SUCCESS(f"Shop {shop.name!r}: catalog {summary}; video #{video.pk} "
                                             f"({video.duration_s:.1f} s)"))
        if job:
            self.stdout.write(f"  job #{job.pk} queued: a running worker processes it")
        elif not no_job:
            self.stdout.write("  job: not queued, the video already has one (--rerun to process it again)")
        self.stdout.write(f"  open http://127.0.0.1:8000/videos/{video.pk}/ and log in as:")
        for username, password, _, what in USERS:
            self.stdout.write(f"    {username:9s} / {password:20s} ({what})")
