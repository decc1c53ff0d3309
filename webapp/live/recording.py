"""The recording of a live session: the RTMP server's MPEG-TS fragments joined into one growing
MPEG-TS file with one timeline (what ``ml.streaming.follow`` follows), the relay that brings a
pulled URL to the RTMP server, and the MP4 the recording becomes when the stream ends.

Joining: every fragment listed in the HLS playlist (nginx lists a fragment once it is closed) is
remuxed with PyAV into its own small MPEG-TS piece appended to ``recording.ts``, its timestamps
shifted so that the timeline goes on where the last piece ended: a publisher that reconnects
starts its clock at zero again, and the recording must not. What was appended is checkpointed
after every piece (fragment count, file size, timeline), so a worker that dies and comes back
truncates a half-written piece and goes on from the next fragment: nothing is lost or doubled."""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
from dataclasses import asdict, dataclass

import av
import m3u8

from webapp.videos.storage import atomic_write_json

log = logging.getLogger(__name__)

# A fragment starting this far from where the last one ended starts a new timeline part. Only the
# timestamps tell: nginx marks every fragment it cuts between keyframes #EXT-X-DISCONTINUITY too.
JUMP_S = 1.0


@dataclass
class JoinState:
    fragments: int = 0  # fragments of the playlist appended so far
    size: int = 0  # bytes of recording.ts they make
    end_ts: float | None = None  # where the recording's timeline ends (s, recording clock)
    first_ts: float | None = None  # where it starts
    shift: float = 0.0  # added to the current part's timestamps
    input_end: float | None = None  # where the last fragment ended, in its own (publisher's) clock
    parts: int = 0  # publisher connections seen (1 + reconnects that reached the recording)

    @property
    def duration_s(self) -> float:
        if self.end_ts is None or self.first_ts is None:
            return 0.0
        return max(0.0, self.end_ts - self.first_ts)


class Recording:
    """``fragments_dir`` (index.m3u8 + N.ts, written by the RTMP server) -> ``path`` (one MPEG-TS)."""

    def __init__(self, fragments_dir: str, path: str, state_path: str):
        self.fragments_dir = fragments_dir
        self.path = path
        self.state_path = state_path
        self.state = self._load()

    def _load(self) -> JoinState:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = JoinState(**json.load(f))
        except FileNotFoundError:
            state = JoinState()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        # A piece half-written when the last worker died is cut off; it is appended again.
        if os.path.exists(self.path) and os.path.getsize(self.path) != state.size:
            with open(self.path, "r+b") as f:
                f.truncate(state.size)
        return state

    def playlist(self) -> list[m3u8.Segment]:
        index = os.path.join(self.fragments_dir, "index.m3u8")
        try:
            with open(index, encoding="utf-8") as f:
                return list(m3u8.loads(f.read()).segments)
        except FileNotFoundError:
            return []

    @property
    def started(self) -> bool:
        return self.state.fragments > 0

    def pending(self) -> int:
        return max(0, len(self.playlist()) - self.state.fragments)

    def step(self) -> int:
        """Append every fragment listed and not yet appended; returns how many."""
        segments = self.playlist()
        n = 0
        for seg in segments[self.state.fragments:]:
            self._append(os.path.join(self.fragments_dir, seg.uri))
            n += 1
        return n

    def _append(self, fragment: str) -> None:
        try:
            self._remux(fragment)
        except av.error.FFmpegError as e:
            # The last fragment of a publisher that vanished can be a few packets of nothing;
            # the recording goes on without it.
            log.warning("fragment %s could not be read (%s); skipped", fragment, e)
            if os.path.exists(self.path) and os.path.getsize(self.path) != self.state.size:
                with open(self.path, "r+b") as f:
                    f.truncate(self.state.size)
        self.state.fragments += 1
        atomic_write_json(self.state_path, asdict(self.state))

    def _remux(self, fragment: str) -> None:
        s = self.state
        with av.open(fragment) as inp, open(self.path, "ab") as f:
            streams = list(inp.streams.video[:1]) + list(inp.streams.audio[:1])
            starts = [float(st.start_time * st.time_base) for st in streams if st.start_time is not None]
            if not streams or not starts:
                log.warning("fragment %s has nothing to record; skipped", fragment)
            else:
                first = min(starts)
                if s.end_ts is None:
                    s.shift, s.first_ts, s.parts = 0.0, first, 1
                elif s.input_end is None or abs(first - s.input_end) > JUMP_S:
                    s.shift, s.parts = s.end_ts - first, s.parts + 1  # the publisher came back
                out = av.open(f, "w", format="mpegts", options={"mpegts_copyts": "1"})
                try:
                    mapping = {st.index: out.add_stream_from_template(st) for st in streams}
                    last_in, last_out = first, s.end_ts or first
                    for pkt in inp.demux(*streams):
                        if pkt.dts is None:
                            continue
                        tb = pkt.time_base
                        delta = int(round(s.shift / tb))
                        end = float(((pkt.pts if pkt.pts is not None else pkt.dts) + (pkt.duration or 0)) * tb)
                        last_in = max(last_in, end)
                        last_out = max(last_out, end + s.shift)
                        pkt.dts += delta
                        if pkt.pts is not None:
                            pkt.pts += delta
                        pkt.stream = mapping[pkt.stream.index]
                        out.mux(pkt)
                finally:
                    out.close()
                s.input_end, s.end_ts = last_in, last_out
            f.flush()
            os.fsync(f.fileno())
            s.size = f.tell()


# --------------------------------------------------------------------------- pulling a URL
class Relay:
    """``ffmpeg`` reading the seller's URL and publishing it to our RTMP server under the session's
    key, so a pulled stream takes the same path as a pushed one (key check, fragments, drops).
    Runs in its own process group and survives the worker; its pid is kept in ``pid_path``."""

    def __init__(self, url: str, publish_url: str, pid_path: str, log_path: str):
        self.url, self.publish_url, self.pid_path, self.log_path = url, publish_url, pid_path, log_path
        self.exit_path = pid_path + ".exit"  # ffmpeg's exit status, readable by a worker that adopted it

    def command(self) -> list[str]:
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning"]
        if self.url.startswith(("http://", "https://")):
            cmd += ["-re"]  # an HLS playlist may be a finished one: read it at its own pace
        cmd += ["-rw_timeout", "15000000", "-i", self.url, "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
                "-f", "flv", self.publish_url]
        return cmd

    def pid(self) -> int | None:
        try:
            with open(self.pid_path) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                alive = self.publish_url.encode() in f.read()
            with open(f"/proc/{pid}/stat") as f:
                alive = alive and f.read().split(")")[-1].split()[0] != "Z"
            return pid if alive else None
        except (FileNotFoundError, ValueError, ProcessLookupError, IndexError):
            return None

    def running(self) -> bool:
        return self.pid() is not None

    def exit_code(self) -> int | None:
        """0: the source ended (end of a finished playlist, the remote stream stopped); other: it
        failed; None: still running, or never started."""
        try:
            with open(self.exit_path) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def start(self) -> None:
        if self.running():
            return
        try:
            os.remove(self.exit_path)
        except FileNotFoundError:
            pass
        script = f"{shlex.join(self.command())}; echo $? > {shlex.quote(self.exit_path)}"
        with open(self.log_path, "ab") as logf:
            proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        with open(self.pid_path, "w") as f:
            f.write(str(proc.pid))
        self._proc = proc  # reaped by poll() below, so it never lingers as a zombie

    def poll(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None:
            proc.poll()

    def last_error(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
        except FileNotFoundError:
            return ""
        return lines[-1][:300] if lines else ""

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.poll()


# --------------------------------------------------------------------------- the end
def to_mp4(ts_path: str, mp4_path: str) -> None:
    """The recording as an MP4 the review pages play and cut (a stream copy, seconds per hour)."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is missing: `make install` installs it")
    tmp = mp4_path + ".part"
    proc = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-fflags", "+genpts",
                           "-i", ts_path, "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-movflags", "+faststart",
                           "-f", "mp4", tmp], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the recording could not be turned into an MP4: {proc.stderr.strip()[-300:]}")
    os.replace(tmp, mp4_path)
