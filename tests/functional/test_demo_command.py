"""``manage.py demo`` sets up the demo shop from demo/ and can run again without duplicating."""

import shutil

import pytest
from django.core.management import CommandError, call_command

from webapp.accounts.models import Membership, Shop
from webapp.videos.models import Job, Video


@pytest.fixture
def demo_dir(tmp_path, catalog_folder, video_path):
    shutil.copytree(catalog_folder, tmp_path / "demo" / "catalog")
    shutil.copy(video_path, tmp_path / "demo" / "video.mp4")
    (tmp_path / "demo" / "comments.csv").write_text("time_s,user,text\n0,headline,Fresh groceries\n1.2,ann,oat milk?\n")
    return tmp_path / "demo"


def test_the_demo_command_creates_the_shop_users_catalog_video_and_a_job(db, demo_dir, settings, capsys):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", path=str(demo_dir))

    shop = Shop.objects.get(name="Demo Grocery")
    assert sorted(Membership.objects.filter(shop=shop).values_list("user__username", "role")) == [
        ("admin", "admin"), ("reviewer", "reviewer"), ("seller", "seller")]
    assert shop.products.count() == 3
    video = Video.objects.get(shop=shop)
    assert video.comments.count() == 2
    assert Job.objects.get(video=video).status == "queued"
    out = capsys.readouterr().out
    assert "seller    / seller-demo-pass" in out and "staff     / staff-demo-pass" in out


def test_the_demo_admin_is_a_shop_admin_and_only_staff_is_platform_staff(db, demo_dir, settings, django_user_model):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    other = Shop.objects.create(name="Someone Else", slug="someone-else")
    call_command("demo", path=str(demo_dir), no_job=True)

    admin = django_user_model.objects.get(username="admin")
    staff = django_user_model.objects.get(username="staff")
    assert not (admin.is_staff or admin.is_superuser) and staff.is_staff and staff.is_superuser
    assert list(Shop.objects.visible_to(admin)) == [Shop.objects.get(slug="demo-grocery")]
    assert other in Shop.objects.visible_to(staff) and not staff.memberships.exists()


def test_running_the_demo_command_twice_changes_nothing(db, demo_dir, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", path=str(demo_dir))
    call_command("demo", path=str(demo_dir))

    assert Shop.objects.count() == 1 and Video.objects.count() == 1 and Job.objects.count() == 1
    assert Shop.objects.get().products.count() == 3


def test_the_demo_users_can_log_in(db, demo_dir, client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", path=str(demo_dir), no_job=True)
    response = client.post("/login/", {"username": "reviewer", "password": "reviewer-demo-pass"})
    assert response.status_code == 302 and client.get("/").context["user"].username == "reviewer"


def test_the_demo_command_says_what_is_missing(db, tmp_path):
    with pytest.raises(CommandError, match="demo data missing: .*products.csv"):
        call_command("demo", path=str(tmp_path))
