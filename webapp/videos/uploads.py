"""Upload handler: every uploaded file streams to a temporary file on disk in chunks, is hashed
(SHA-256) and counted as it streams, and is cut off as soon as it passes
``SHOPFOCUS_MAX_UPLOAD_BYTES``. A file named as a video whose first chunk is no video container
(2 GB of junk called .mp4) is refused on that first chunk, and so is an upload the temporary
disk has no room for: the rest of the body is not read, nothing is kept, and the view learns
why from ``request.upload_errors`` (field name -> InputError or StorageFull)."""

import hashlib
import os

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from ml.errors import InputError

from .sniff import SNIFF_BYTES, not_a_video_message, sniff_container
from .storage import StorageFull, is_storage_full


class HashedTemporaryUploadedFile(TemporaryUploadedFile):
    sha256 = ""


def format_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


class StreamingHashUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.limit = settings.SHOPFOCUS_MAX_UPLOAD_BYTES
        self.size = 0
        self.hasher = hashlib.sha256()
        self.is_video = os.path.splitext(self.file_name or "")[1].lower() in settings.SHOPFOCUS_VIDEO_EXTENSIONS
        self.file = None
        try:
            self.file = HashedTemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                                    self.content_type_extra)
        except OSError as e:
            self._refuse(e, stop=True)

    def _refuse(self, error, stop: bool):
        if isinstance(error, OSError):
            if not is_storage_full(error):
                raise error
            error = StorageFull(f"{self.file_name} while it was uploaded")
        if self.file is not None:
            self.file.close()  # a temporary file deletes itself on close
        errors = getattr(self.request, "upload_errors", None)
        if errors is None:
            errors = self.request.upload_errors = {}
        errors[self.field_name] = error
        # Stop reading the body: the rest of a refused upload is never worth receiving.
        raise StopUpload(connection_reset=True) if stop else SkipFile()

    def receive_data_chunk(self, raw_data, start):
        if start == 0 and self.is_video and len(raw_data) >= SNIFF_BYTES and sniff_container(raw_data) is None:
            self._refuse(InputError(not_a_video_message(self.file_name)), stop=True)
        self.size += len(raw_data)
        if self.size > self.limit:
            self._refuse(InputError(f"{self.file_name} is larger than the upload limit of {format_bytes(self.limit)}"),
                         stop=False)
        self.hasher.update(raw_data)
        try:
            self.file.write(raw_data)
        except OSError as e:
            self._refuse(e, stop=True)
        return None

    def file_complete(self, file_size):
        try:
            self.file.flush()
        except OSError as e:
            self._refuse(e, stop=True)
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self):
        if getattr(self, "file", None) is not None:
            try:
                self.file.close()
            except FileNotFoundError:
                pass
