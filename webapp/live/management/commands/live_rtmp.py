"""``manage.py live_rtmp``: run the RTMP ingest server (nginx-rtmp) in the foreground."""

import os
import shutil

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webapp.live import rtmp


class Command(BaseCommand):
    help = "Run the live RTMP ingest server (nginx with the RTMP module) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.SHOPFOCUS_LIVE_RTMP_PORT)
        parser.add_argument("--bind", default=settings.SHOPFOCUS_LIVE_RTMP_BIND)
        parser.add_argument("--callback-url", default=settings.SHOPFOCUS_LIVE_CALLBACK_URL,
                            help="where the RTMP server reaches this web app")
        parser.add_argument("--check", action="store_true", help="only test the configuration")

    def handle(self, *args, port, bind, callback_url, check, **kw):
        if not (os.path.exists(rtmp.NGINX) and os.path.exists(rtmp.RTMP_MODULE)) and not shutil.which("nginx"):
            raise CommandError("nginx with the RTMP module is missing: `make install` installs Debian's nginx and "
                               "libnginx-mod-rtmp")
        workdir = os.path.join(str(settings.SHOPFOCUS_LIVE_DIR), "nginx")
        conf = rtmp.write_config(workdir, port=port, bind=bind, callback_url=callback_url)
        cmd = rtmp.command(workdir, conf)
        if check:
            cmd.append("-t")
        self.stdout.write(f"RTMP ingest on rtmp://{bind}:{port}/{rtmp.APPLICATION} (config {conf})")
        self.stdout.flush()
        os.execv(cmd[0], cmd)
