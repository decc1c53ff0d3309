"""Happy paths of the uploads: a video is stored, hashed, probed and queued; catalogs import."""

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests import media
from webapp.catalog.models import Product
from webapp.videos.models import Job, Video


def test_a_seller_uploads_a_video_and_a_job_is_queued(personas, catalog, video_upload, video_bytes, django_capture_on_commit_callbacks):
    client = personas.client(personas.seller)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("videos:upload", args=[personas.shop.slug]),
                               {"title": "Shelf tour", "file": video_upload})

    video = Video.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("videos:detail", args=[video.pk])
    assert (video.title, video.duration_s, video.width, video.height) == ("Shelf tour", 3.0, 320, 240)
    assert video.sha256 == hashlib.sha256(video_bytes).hexdigest() and video.size_bytes == len(video_bytes)
    assert video.uploader == personas.seller
    job = Job.objects.get(video=video)
    assert job.status == "queued" and job.queue == "cpu"
    assert len(callbacks) == 1  # the task is sent only once the transaction commits


def test_the_upload_script_gets_json_with_the_video_page(personas, catalog, video_upload):
    response = personas.client(personas.seller).post(
        reverse("videos:upload", args=[personas.shop.slug]), {"file": video_upload},
        headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 201
    assert response.json()["redirect"] == reverse("videos:detail", args=[Video.objects.get().pk])


def test_a_video_uploaded_with_comments_keeps_them(personas, catalog, video_upload):
    comments = SimpleUploadedFile("c.csv", b"time_s,user,text\n0,headline,Fresh fruit today\n1.5,ann,oat milk?\n")
    personas.client(personas.seller).post(reverse("videos:upload", args=[personas.shop.slug]),
                                          {"file": video_upload, "comments": comments})
    assert list(Video.objects.get().comments.values_list("time_s", "user")) == [(0.0, "headline"), (1.5, "ann")]


def test_jobs_go_to_the_gpu_queue_when_configured(personas, catalog, video_upload, settings):
    settings.SHOPFOCUS_GPU_QUEUE = True
    personas.client(personas.seller).post(reverse("videos:upload", args=[personas.shop.slug]), {"file": video_upload})
    assert Job.objects.get().queue == "gpu"


def test_a_reviewer_cannot_upload_videos(personas, video_upload):
    response = personas.client(personas.reviewer).post(reverse("videos:upload", args=[personas.shop.slug]),
                                                       {"file": video_upload})
    assert response.status_code == 403 and not Video.objects.exists()


def test_a_catalog_zip_of_the_contract_folder_imports_products_and_images(personas, catalog_folder):
    zipped = SimpleUploadedFile("catalog.zip", media.zip_folder(catalog_folder), content_type="application/zip")
    response = personas.client(personas.seller).post(reverse("catalog:products", args=[personas.shop.slug]),
                                                     {"files": zipped})

    assert response.status_code == 302
    products = Product.objects.filter(shop=personas.shop)
    assert sorted(products.values_list("product_id", flat=True)) == ["BAN", "JUI", "OAT"]
    banana = products.get(product_id="BAN")
    assert banana.category.name == "fruit" and banana.category.parent.name == "produce"
    assert banana.images.count() == 1


def test_a_zip_with_the_folder_inside_a_top_folder_also_imports(personas, catalog_folder, tmp_path):
    import shutil

    shutil.copytree(catalog_folder, tmp_path / "wrap" / "my-catalog")
    zipped = SimpleUploadedFile("catalog.zip", media.zip_folder(tmp_path / "wrap"))
    personas.client(personas.seller).post(reverse("catalog:products", args=[personas.shop.slug]), {"files": zipped})
    assert Product.objects.filter(shop=personas.shop).count() == 3


def test_products_csv_and_images_uploaded_together_import_and_update(personas):
    client = personas.client(personas.seller)
    url = reverse("catalog:products", args=[personas.shop.slug])

    def post(title):
        csv_ = f"product_id,title,category,images\nBAN,{title},fruit,pics/Banana__iconic.jpg\n".encode()
        return client.post(url, {"files": [SimpleUploadedFile("products.csv", csv_),
                                           SimpleUploadedFile("Banana__iconic.jpg", media.photo_bytes())]})

    assert post("Banana").status_code == 302
    assert post("Ripe banana").status_code == 302
    product = Product.objects.get(shop=personas.shop)
    assert product.title == "Ripe banana" and product.images.count() == 1


def test_the_exported_catalog_folder_loads_in_the_pipeline(personas, catalog, tmp_path):
    from ml.catalog import load_catalog
    from webapp.catalog.services import export_catalog_folder

    loaded = load_catalog(export_catalog_folder(personas.shop, str(tmp_path / "out")))
    assert loaded.ids == ["BAN", "JUI", "OAT"]
    assert loaded.products[0].parent_category == "produce"


def test_the_video_file_is_served_with_http_range_for_seeking(personas, video, video_bytes):
    response = personas.client(personas.seller).get(video.file.url, headers={"range": "bytes=100-199"})
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == video_bytes[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(video_bytes)}"


def test_the_same_file_uploaded_twice_warns_about_the_duplicate_in_the_page_and_the_api(
        personas, catalog, video_bytes):
    client = personas.client(personas.seller)
    url = reverse("videos:upload", args=[personas.shop.slug])
    client.post(url, {"title": "Monday", "file": SimpleUploadedFile("shelf.mp4", video_bytes, "video/mp4")})
    first = Video.objects.get()

    page = client.post(url, {"title": "Monday again", "file": SimpleUploadedFile("copy.mp4", video_bytes, "video/mp4")},
                       follow=True)
    second = Video.objects.exclude(pk=first.pk).get()
    assert f"This file was uploaded before, as &#x27;Monday&#x27; (video #{first.pk})" in page.content.decode()

    xhr = client.post(url, {"file": SimpleUploadedFile("third.mp4", video_bytes, "video/mp4")},
                      headers={"x-requested-with": "XMLHttpRequest"}).json()
    assert [d["id"] for d in xhr["duplicates"]] == [first.pk, second.pk]
    assert xhr["warnings"][0].startswith(f"this file was uploaded before, as 'Monday' (video #{first.pk}) and 1 other")
    assert client.get(f"/api/videos/{first.pk}/").json()["duplicates"] == [second.pk, xhr["id"]]


def test_a_comments_row_past_the_end_of_the_video_is_skipped_and_reported_the_rest_imported(
        personas, catalog, video_upload):
    comments = SimpleUploadedFile("c.csv", b"time_s,user,text\n0,headline,Fresh fruit\n1.5,ann,oat milk?\n"
                                           b"95,bob,see you tomorrow\n2.5,cy,bananas!\n")
    response = personas.client(personas.seller).post(
        reverse("videos:upload", args=[personas.shop.slug]), {"file": video_upload, "comments": comments},
        headers={"x-requested-with": "XMLHttpRequest"})

    assert response.status_code == 201
    body = response.json()
    assert body["skipped_comment_lines"] == [4]
    assert body["warnings"] == ["3 comment(s) imported from c.csv; 1 row(s) after the end of the video (3.0 s) "
                                "were skipped (line 4)"]
    assert list(Video.objects.get().comments.values_list("user", flat=True)) == ["headline", "ann", "cy"]


def test_replacing_the_comments_of_a_video_reports_the_rows_it_skipped(personas, video):
    comments = SimpleUploadedFile("later.csv", b"time_s,user,text\n1,ann,hi\n40,bob,too late\n")
    page = personas.client(personas.seller).post(reverse("videos:comments", args=[video.pk]),
                                                 {"comments": comments}, follow=True)
    assert ("1 comment(s) imported from later.csv; 1 row(s) after the end of the video (3.0 s) were skipped "
            "(line 3); re-run the job to use them.") in page.content.decode()
    assert video.comments.count() == 1
