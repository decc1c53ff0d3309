"""Every kind of bad input gets its own clear message, and nothing is stored or broken."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests import media

GOOD_CSV = "product_id,title,category,images\nBAN,Banana,fruit,Banana__iconic.jpg\n"


def upload(name, data, ctype="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=ctype)


def text_renamed_mp4(ctx):
    return {"file": upload("notes.mp4", b"these are my notes, not a video\n" * 20, "video/mp4")}


def truncated_mp4(ctx):
    return {"file": upload("cut.mp4", ctx["video_bytes"][: len(ctx["video_bytes"]) // 3], "video/mp4")}


def zero_byte_file(ctx):
    return {"file": upload("empty.mp4", b"", "video/mp4")}


def audio_only_mp4(ctx):
    with open(media.make_audio_only(ctx["tmp_path"] / "voice.mp4"), "rb") as f:
        return {"file": upload("voice.mp4", f.read(), "video/mp4")}


def over_size_limit(ctx):
    ctx["settings"].SHOPFOCUS_MAX_UPLOAD_BYTES = 10_000
    return {"file": upload("big.mp4", ctx["video_bytes"], "video/mp4")}


def wrong_extension(ctx):
    return {"file": upload("shelf.exe", ctx["video_bytes"], "video/mp4")}


def comments_with_bad_times(ctx):
    return {"file": upload("shelf.mp4", ctx["video_bytes"], "video/mp4"),
            "comments": upload("comments.csv", b"time_s,user,text\n1.5,ann,hello\nsoon,bob,banana!\n", "text/csv")}


def zip_with_parent_path(ctx):
    return {"files": upload("cat.zip", media.zip_entries({"products.csv": GOOD_CSV.encode(),
                                                           "../../evil.jpg": media.photo_bytes()}))}


def zip_with_absolute_path(ctx):
    return {"files": upload("cat.zip", media.zip_entries({"products.csv": GOOD_CSV.encode(),
                                                           "/etc/cron.d/evil": b"* * * * * root true"}))}


def zip_with_symlink(ctx):
    return {"files": upload("cat.zip", media.zip_entries({"products.csv": GOOD_CSV.encode(),
                                                           "Banana__iconic.jpg": b"/etc/passwd"},
                                                          symlinks={"Banana__iconic.jpg"}))}


def zip_with_too_many_files(ctx):
    ctx["settings"].SHOPFOCUS_CATALOG_MAX_FILES = 10
    entries = {f"images/{i}.jpg": b"x" for i in range(11)}
    return {"files": upload("cat.zip", media.zip_entries(entries))}


def zip_bomb(ctx):
    return {"files": upload("cat.zip", media.zip_entries({"products.csv": GOOD_CSV.encode(),
                                                           "padding.bin": b"\0" * (20 * 1024 * 1024)}))}


def csv_missing_columns(ctx):
    return {"files": [upload("products.csv", b"product_id,title\nBAN,Banana\n", "text/csv"),
                      upload("Banana__iconic.jpg", media.photo_bytes(), "image/jpeg")]}


def csv_duplicate_ids(ctx):
    csv_ = GOOD_CSV + "BAN,Another banana,fruit,Banana__iconic.jpg\n"
    return {"files": [upload("products.csv", csv_.encode(), "text/csv"),
                      upload("Banana__iconic.jpg", media.photo_bytes(), "image/jpeg")]}


def csv_not_utf8(ctx):
    csv_ = "product_id,title,category,images\nCAF,Café crème,drinks,Banana__iconic.jpg\n"
    return {"files": [upload("products.csv", csv_.encode("latin-1"), "text/csv"),
                      upload("Banana__iconic.jpg", media.photo_bytes(), "image/jpeg")]}


def unreadable_image(ctx):
    return {"files": [upload("products.csv", GOOD_CSV.encode(), "text/csv"),
                      upload("Banana__iconic.jpg", b"\xff\xd8\xff\xe0 definitely not a whole jpeg", "image/jpeg")]}


CASES = [  # (builder, where it is uploaded, what the message must say)
    (text_renamed_mp4, "video", "notes.mp4: not a video file that can be decoded"),
    (truncated_mp4, "video", "cut.mp4: MP4/MOV file is truncated or corrupt"),
    (zero_byte_file, "video", "empty.mp4: file is empty (0 bytes)"),
    (audio_only_mp4, "video", "voice.mp4: has no video stream"),
    (over_size_limit, "video", "big.mp4 is larger than the upload limit of 9.8 KB"),
    (wrong_extension, "video", "shelf.exe: has extension '.exe'"),
    (comments_with_bad_times, "video", "comments.csv line 3: time_s 'soon' is not a number of seconds"),
    (zip_with_parent_path, "catalog", "cat.zip: contains a path that leaves the folder ('../../evil.jpg')"),
    (zip_with_absolute_path, "catalog", "cat.zip: contains an absolute path ('/etc/cron.d/evil')"),
    (zip_with_symlink, "catalog", "cat.zip: contains a symbolic link ('Banana__iconic.jpg')"),
    (zip_with_too_many_files, "catalog", "cat.zip: has 11 entries; at most 10 files are allowed"),
    (zip_bomb, "catalog", "cat.zip: entry 'padding.bin' expands"),
    (csv_missing_columns, "catalog", "products.csv: missing column(s) category, images"),
    (csv_duplicate_ids, "catalog", "products.csv line 3: duplicate product_id 'BAN' (first on line 2)"),
    (csv_not_utf8, "catalog", "products.csv is not UTF-8 text"),
    (unreadable_image, "catalog", "image Banana__iconic.jpg cannot be read"),
]


@pytest.mark.parametrize("build, where, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_gets_its_own_clear_message_and_nothing_breaks(
        build, where, message, personas, settings, tmp_path, video_bytes):
    from webapp.catalog.models import Product
    from webapp.videos.models import Job, Video

    client = personas.client(personas.seller)
    data = build({"settings": settings, "tmp_path": tmp_path, "video_bytes": video_bytes})
    url = (reverse("videos:upload", args=[personas.shop.slug]) if where == "video"
           else reverse("catalog:products", args=[personas.shop.slug]))

    response = client.post(url, data)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not Video.objects.exists() and not Job.objects.exists() and not Product.objects.exists()
    assert client.get(reverse("accounts:shop", args=[personas.shop.slug])).status_code == 200
    for temp in tmp_path.parent.glob("shopfocus-*"):
        pytest.fail(f"temporary folder left behind: {temp}")


def test_a_bad_video_sent_by_the_upload_script_gets_the_message_as_json(personas):
    client = personas.client(personas.seller)
    response = client.post(reverse("videos:upload", args=[personas.shop.slug]),
                           {"file": upload("empty.mp4", b"", "video/mp4")}, headers={"x-requested-with": "XMLHttpRequest"})

    assert response.status_code == 400
    assert response.json() == {"error": "empty.mp4: file is empty (0 bytes)"}
