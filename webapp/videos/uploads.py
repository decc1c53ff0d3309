"""Upload handler: every uploaded file streams to a temporary file on disk in chunks, is hashed
(SHA-256) and counted as it streams, and is cut off as soon as it passes
``SHOPFOCUS_MAX_UPLOAD_BYTES``. Views learn about a cut-off file from ``request.upload_errors``."""

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


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
        self.file = HashedTemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                                self.content_type_extra)

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > self.limit:
            self.file.close()
            errors = getattr(self.request, "upload_errors", None)
            if errors is None:
                errors = self.request.upload_errors = {}
            errors[self.field_name] = (
                f"{self.file_name} is larger than the upload limit of {format_bytes(self.limit)}"
            )
            raise SkipFile()
        self.hasher.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self):
        if hasattr(self, "file"):
            try:
                self.file.close()
            except FileNotFoundError:
                pass
