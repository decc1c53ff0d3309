"""The RTMP ingest: nginx with its RTMP module (Debian's ``libnginx-mod-rtmp``), configured here.

Why nginx-rtmp and not one ``ffmpeg -listen 1`` per session: one port for every session (OBS
gets a server URL and a key, as on any platform); the server asks this app about every publisher
(``on_publish``: a wrong key is refused, ``on_update``: an ended session's publisher is dropped,
``on_publish_done``: a drop starts the reconnect grace) and refuses a second publisher on a busy
stream name by itself ("Already publishing"); and it writes each stream's MPEG-TS fragments
(its HLS writer) whoever follows them, so a live worker that dies loses no second of the stream.
An ``ffmpeg -listen`` receiver takes one connection, knows no keys, and dies with its worker.

Fragments are cut at keyframes after ``hls_fragment`` and forced at ``hls_max_fragment`` (1 s: the
recording joins them back into one stream, so a cut between keyframes costs nothing); nginx
keeps every fragment (``hls_cleanup off``) and continues their numbers across a reconnect
(``hls_continuous``), marking it ``#EXT-X-DISCONTINUITY``."""

from __future__ import annotations

import getpass
import hmac
import os

from django.conf import settings
from django.utils.crypto import salted_hmac

NGINX = "/usr/sbin/nginx"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
APPLICATION = "live"


def callback_token() -> str:
    """The secret the RTMP server sends back on its callbacks (only it knows the URLs with it)."""
    return salted_hmac("shopfocus.live.rtmp-callbacks", "nginx", algorithm="sha256").hexdigest()[:40]


def token_ok(token: str) -> bool:
    return hmac.compare_digest(str(token or ""), callback_token())


def config_text(workdir: str, port: int | None = None, bind: str | None = None, callback_url: str | None = None,
                hls_dir: str | None = None) -> str:
    """nginx.conf for the RTMP server (foreground, logs to stderr, pid and temp files in workdir)."""
    port = port or settings.SHOPFOCUS_LIVE_RTMP_PORT
    bind = bind or settings.SHOPFOCUS_LIVE_RTMP_BIND
    base = (callback_url or settings.SHOPFOCUS_LIVE_CALLBACK_URL).rstrip("/")
    hls_dir = hls_dir or os.path.join(str(settings.SHOPFOCUS_LIVE_DIR), "hls")
    token = callback_token()

    def hook(name):
        return f"{base}/live/rtmp/{name}?token={token}"

    user = "user root root;" if os.geteuid() == 0 else f"# runs as {getpass.getuser()}"
    return f"""# written by `manage.py live_rtmp`; edits are overwritten
load_module {RTMP_MODULE};
daemon off;
master_process on;
worker_processes 1;
{user}
error_log stderr notice;
pid {workdir}/nginx.pid;
events {{ worker_connections 1024; }}
rtmp {{
  server {{
    listen {bind}:{port};
    chunk_size 4096;
    notify_method post;
    application {APPLICATION} {{
      live on;
      record off;
      allow publish all;
      allow play 127.0.0.1;
      deny play all;
      drop_idle_publisher 10s;
      on_publish {hook("publish")};
      on_publish_done {hook("publish_done")};
      on_update {hook("update")};
      notify_update_timeout {settings.SHOPFOCUS_LIVE_RTMP_UPDATE_S}s;
      hls on;
      hls_path {hls_dir};
      hls_nested on;
      hls_fragment 1s;
      hls_max_fragment 1s;
      hls_playlist_length 24h;
      hls_cleanup off;
      hls_continuous on;
      hls_fragment_naming sequential;
    }}
  }}
}}
"""


def write_config(workdir: str, **kw) -> str:
    os.makedirs(workdir, exist_ok=True)
    os.makedirs(kw.get("hls_dir") or os.path.join(str(settings.SHOPFOCUS_LIVE_DIR), "hls"), exist_ok=True)
    path = os.path.join(workdir, "nginx.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(config_text(workdir, **kw))
    return path


def command(workdir: str, conf: str) -> list[str]:
    return [NGINX, "-p", workdir, "-c", conf, "-e", "stderr"]
