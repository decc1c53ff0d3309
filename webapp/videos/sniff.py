"""What kind of file an upload is, from its first bytes (before anything is stored)."""

SNIFF_BYTES = 12


def sniff_container(head: bytes) -> str | None:
    """The container family of a file from its first bytes, or None when it is none we accept.

    A fixed table rather than a magic-number library: we accept exactly these containers (what
    SHOPFOCUS_VIDEO_EXTENSIONS names and ffmpeg decodes), and the check must run on the first
    upload chunk, before anything is written."""
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"):
        return "mp4/mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def not_a_video_message(name: str) -> str:
    return (f"{name}: not a video file that can be decoded (its first bytes are not an MP4, MOV, "
            "Matroska/WebM or AVI container)")
