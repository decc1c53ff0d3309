"""The disk under MEDIA_ROOT (or the upload's temporary folder) is full: a small tmpfs this test
mounts and fills. Uploads get a clear "storage full" answer (507, JSON or a page, never a 500),
partial files are removed, and a job whose results do not fit fails with that message and leaves
no half-written or 0-byte result behind."""

import os
import subprocess

import pytest
from django.urls import reverse

from webapp.videos.models import Job, Video


class SmallDisk:
    def __init__(self, path, size="1m"):
        self.path = path
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"these tests mount a small tmpfs and need root (as in CI): {done.stderr.strip()}")

    def fill(self, leave_bytes: int = 0) -> None:
        """Take all the free space but ``leave_bytes``."""
        st = os.statvfs(self.path)
        with open(self.path / "filler", "ab") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_bytes))

    def files(self) -> list[str]:
        found = []
        for root, _, names in os.walk(self.path):
            found += [os.path.relpath(os.path.join(root, n), self.path) for n in names]
        return sorted(f for f in found if f != "filler")

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path, unmount_after):
    return unmount_after(SmallDisk(tmp_path / "small"))


@pytest.fixture
def unmount_after():
    disks = []
    yield lambda disk: disks.append(disk) or disk
    for disk in disks:
        disk.unmount()


@pytest.mark.parametrize("full", ["media", "upload temporary folder"])
@pytest.mark.parametrize("xhr", [True, False], ids=["xhr", "page"])
def test_an_upload_to_a_full_disk_gets_storage_full_and_leaves_nothing(
        full, xhr, small_disk, settings, personas, catalog, video_upload):
    if full == "media":
        settings.MEDIA_ROOT = small_disk.path / "media"
    else:
        settings.FILE_UPLOAD_TEMP_DIR = str(small_disk.path)
    small_disk.fill(leave_bytes=16 * 1024)  # the 3 s test video is several times that

    response = personas.client(personas.seller).post(
        reverse("videos:upload", args=[personas.shop.slug]), {"file": video_upload},
        headers={"x-requested-with": "XMLHttpRequest"} if xhr else {})

    assert response.status_code == 507
    text = response.json()["error"] if xhr else response.content.decode()
    assert "storage full: the server has no room left to store" in text and "nothing was kept" in text
    assert not Video.objects.exists() and not Job.objects.exists()
    assert small_disk.files() == []


def test_a_job_whose_results_do_not_fit_fails_with_storage_full_and_leaves_no_partial_result(
        tmp_path, unmount_after, settings, personas, catalog_folder, video_path):
    from webapp.catalog.services import import_catalog_folder
    from webapp.videos.ingest import create_video_from_path
    from webapp.videos.tasks import process_video

    small_disk = SmallDisk(tmp_path / "small-media", size="8m")
    unmount_after(small_disk)
    settings.MEDIA_ROOT = small_disk.path
    import_catalog_folder(personas.shop, catalog_folder)
    video = create_video_from_path(personas.shop, personas.seller, video_path, "Shelf tour")
    job = Job.objects.create(video=video)
    small_disk.fill(leave_bytes=2048)  # room for a small file or two, not for the results

    process_video.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == "failed" and job.message.startswith("storage full: the server has no room left")
    assert "the video is kept: press Re-run" in job.message and not job.artefacts
    stored = [f for f in small_disk.files() if not f.startswith("catalog/")]
    assert stored == [video.file.name]  # the video, and no result.json of any size
