"""A reviewer's work on the tabletop clip (``tests.media.make_tabletop_video``), for the tests
of learning from reviews."""

from webapp.review import services as review

SCENES = {"BAN": (0.0, 4.0), "OAT": (4.0, 8.0), "JUI": (8.0, 12.0)}


def review_in_full(video, user):
    """A reviewer accepts the machine's right intervals (adds the ones it missed), rejects its
    wrong ones, and marks the two other products at each scene as rejected: 9 examples."""
    covered = set()
    for iv in list(video.intervals.select_related("product")):
        a, b = SCENES[iv.product.product_id]
        right = min(b, iv.end_s) - max(a, iv.start_s) >= 0.5 * (b - a)
        review.update_interval(iv.pk, user, {"status": "accepted" if right else "rejected"}, iv.version)
        covered |= {iv.product.product_id} if right else set()
    for pid, (a, b) in SCENES.items():
        if pid not in covered:
            review.create_interval(video, user, pid, a, b)
        for other in sorted(SCENES.keys() - {pid}):
            review.create_interval(video, user, other, a, b, status="rejected")
