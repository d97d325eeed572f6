"""Listing a Page's posts and an Instagram account's media, and the follower history, on
payloads shaped as documented (platform-oauth.md, 3.4 and 3.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse_ingest_meta.listing import (
    follower_count_request,
    follower_counts,
    graph_time,
    instagram_media_request,
    parse_instagram_media,
    parse_published_posts,
    published_posts_request,
    published_since,
)
from pulse_shared.ingest.contracts import PermanentError
from pulse_shared.ingest.oauth import FollowerCount

PAGE_ID = "134895793791914"
IG_USER_ID = "17841405822304914"
NEXT = "https://graph.facebook.com/v26.0/134895793791914/published_posts?access_token=EAAG&after=QVFIUm"

PUBLISHED_POSTS: dict[str, Any] = {
    "data": [
        {"id": f"{PAGE_ID}_1001", "created_time": "2026-11-30T10:00:00+0000",
         "message": "our new video", "permalink_url": "https://www.facebook.com/p/1001",
         "full_picture": "https://scontent.xx.fbcdn.net/v/1001_n.jpg",
         "attachments": {"data": [{"media_type": "video"}]}},
        {"id": f"{PAGE_ID}_1002", "created_time": "2026-11-29T10:00:00+0000",
         "message": "an album", "full_picture": "https://scontent.xx.fbcdn.net/v/1002_n.jpg",
         "attachments": {"data": [{"media_type": "album"}]}},
        {"id": f"{PAGE_ID}_1003", "created_time": "2026-11-28T10:00:00+0000",
         "message": "read this", "full_picture": "https://scontent.xx.fbcdn.net/v/1003_n.jpg",
         "attachments": {"data": [{"media_type": "link"}]}},
        {"id": f"{PAGE_ID}_1004", "created_time": "2026-11-27T10:00:00+0000",
         "full_picture": "https://scontent.xx.fbcdn.net/v/1004_n.jpg",
         "attachments": {"data": [{"media_type": "photo"}]}},
        {"id": f"{PAGE_ID}_1005", "created_time": "2026-11-26T10:00:00+0000",
         "message": "a picture, no attachment asked",
         "full_picture": "https://scontent.xx.fbcdn.net/v/1005_n.jpg"},
        {"id": f"{PAGE_ID}_1006", "created_time": "2026-11-25T10:00:00+0000", "message": "words"},
        {"id": f"{PAGE_ID}_1007", "message": "no date"},
    ],
    "paging": {"cursors": {"before": "QVFIUa", "after": "QVFIUm"}, "next": NEXT},
}  # fmt: skip

INSTAGRAM_MEDIA: dict[str, Any] = {
    "data": [
        {"id": "17895695668004550", "caption": "a reel", "media_type": "VIDEO",
         "media_product_type": "REELS", "media_url": "https://scontent.cdninstagram.com/r.mp4",
         "permalink": "https://www.instagram.com/reel/Cx1/",
         "thumbnail_url": "https://scontent.cdninstagram.com/r.jpg",
         "timestamp": "2017-08-31T18:10:00+0000"},
        {"id": "17895695668004551", "caption": "a carousel", "media_type": "CAROUSEL_ALBUM",
         "media_product_type": "FEED", "media_url": "https://scontent.cdninstagram.com/c.jpg",
         "permalink": "https://www.instagram.com/p/Cx2/", "timestamp": "2017-08-30T18:10:00+0000"},
        {"id": "17895695668004552", "media_type": "IMAGE", "media_product_type": "FEED",
         "media_url": "https://scontent.cdninstagram.com/i.jpg",
         "timestamp": "2017-08-29T18:10:00+0000"},
        {"id": "17895695668004553", "caption": "a video without its frame", "media_type": "VIDEO",
         "media_url": "https://scontent.cdninstagram.com/v.mp4",
         "permalink": "https://www.instagram.com/p/Cx4/", "timestamp": "2017-08-28T18:10:00+0000"},
    ],
    "paging": {"cursors": {"before": "QVFIUb", "after": "QVFIUc"}},
}  # fmt: skip


def test_a_page_of_posts_gives_their_kinds_previews_and_the_next_cursor() -> None:
    posts, after = parse_published_posts(PUBLISHED_POSTS)
    assert after == "QVFIUm"
    assert [p.content_type for p in posts] == [
        "video",
        "carousel",
        "link",
        "image",
        "image",
        "text",
    ]
    video = posts[0]
    assert video.platform_post_id == f"{PAGE_ID}_1001"
    assert video.published_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert video.content_preview == "our new video"
    assert video.platform_post_url == "https://www.facebook.com/p/1001"
    assert video.thumbnail_url == "https://scontent.xx.fbcdn.net/v/1001_n.jpg"
    assert posts[3].content_preview == ""  # a photo without a message
    assert posts[5].thumbnail_url is None
    assert f"{PAGE_ID}_1007" not in {p.platform_post_id for p in posts}  # cannot be dated


def test_the_last_page_has_no_next_even_with_cursors() -> None:
    # "When next is missing, this is the last page"; the cursors are still there.
    last = {
        "data": PUBLISHED_POSTS["data"][:1],
        "paging": {"cursors": {"before": "a", "after": "b"}},
    }
    assert parse_published_posts(last)[1] is None
    assert parse_published_posts({"data": []}) == ([], None)


def test_a_short_page_with_a_next_is_not_the_end() -> None:
    # "Fewer than limit results does not mean the end."
    short = {"data": PUBLISHED_POSTS["data"][:2], "paging": PUBLISHED_POSTS["paging"]}
    assert parse_published_posts(short)[1] == "QVFIUm"


def test_an_answer_that_is_no_page_is_permanent() -> None:
    with pytest.raises(PermanentError):
        parse_published_posts({"data": {"id": "1"}})
    with pytest.raises(PermanentError):
        parse_instagram_media([])


def test_instagram_media_kinds_thumbnails_and_permalinks() -> None:
    posts, after = parse_instagram_media(INSTAGRAM_MEDIA)
    assert after is None
    assert [p.content_type for p in posts] == ["video", "carousel", "image", "video"]
    reel, carousel, image, bare_video = posts
    assert reel.thumbnail_url == "https://scontent.cdninstagram.com/r.jpg"
    assert reel.platform_post_url == "https://www.instagram.com/reel/Cx1/"
    assert reel.published_at == datetime(2017, 8, 31, 18, 10, tzinfo=UTC)
    assert carousel.thumbnail_url == "https://scontent.cdninstagram.com/c.jpg"
    assert image.thumbnail_url == "https://scontent.cdninstagram.com/i.jpg"
    assert image.platform_post_url is None  # left out for copyright-flagged media
    assert bare_video.thumbnail_url is None  # its media_url is the video, not a picture


def test_listing_stops_at_the_first_post_older_than_since() -> None:
    posts, _ = parse_published_posts(PUBLISHED_POSTS)
    kept, past = published_since(posts, datetime(2026, 11, 28, 10, tzinfo=UTC))
    assert [p.platform_post_id for p in kept] == [f"{PAGE_ID}_100{i}" for i in (1, 2, 3)]
    assert past
    assert published_since(posts, datetime(2026, 1, 1, tzinfo=UTC)) == (posts, False)


def test_the_requests_ask_for_pages_of_100_by_cursor() -> None:
    since = datetime(2026, 9, 1, tzinfo=UTC)
    first = published_posts_request(PAGE_ID, None, api_version="v26.0")
    assert first.path == f"/v26.0/{PAGE_ID}/published_posts"
    assert first.endpoint == "/{page-id}/published_posts"
    assert first.params == {
        "fields": "id,message,created_time,permalink_url,full_picture,attachments{media_type}",
        "limit": "100",
    }
    assert published_posts_request(PAGE_ID, "QVFIUm").params == {
        **(first.params or {}),
        "after": "QVFIUm",
    }
    media = instagram_media_request(IG_USER_ID, since, "QVFIUc", api_version="v26.0")
    assert media.path == f"/v26.0/{IG_USER_ID}/media"
    assert media.params is not None
    assert media.params["since"] == str(int(since.timestamp()))
    assert media.params["after"] == "QVFIUc"
    assert media.params["limit"] == "100"
    assert "media_product_type" in media.params["fields"].split(",")
    with pytest.raises(PermanentError):
        published_posts_request("urn:li:organization:1", None)


def test_the_follower_history_request_asks_for_daily_counts() -> None:
    until = datetime(2026, 12, 6, 12, tzinfo=UTC)
    request = follower_count_request(IG_USER_ID, until - timedelta(days=30), until)
    assert request.path == f"/v26.0/{IG_USER_ID}/insights"
    assert request.params == {
        "metric": "follower_count",
        "period": "day",
        "since": str(int((until - timedelta(days=30)).timestamp())),
        "until": str(int(until.timestamp())),
    }


def _follower_answer(values: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "name": "follower_count",
                "period": "day",
                "values": [{"value": v, "end_time": t} for t, v in values],
                "title": "Follower Count",
                "description": "Total number of unique accounts following this profile",
                "id": f"{IG_USER_ID}/insights/follower_count/day",
            }
        ]
    }


def test_daily_gains_become_counts_back_computed_from_today() -> None:
    body = _follower_answer(
        [
            ("2026-12-03T07:00:00+0000", 5),
            ("2026-12-04T07:00:00+0000", 7),
            ("2026-12-05T07:00:00+0000", -2),  # lost more than gained
            ("2026-12-06T07:00:00+0000", 10),
        ]
    )
    assert follower_counts(body, 1000) == [
        FollowerCount(datetime(2026, 12, 3, 7, tzinfo=UTC), 1000 - 10 + 2 - 7),
        FollowerCount(datetime(2026, 12, 4, 7, tzinfo=UTC), 1000 - 10 + 2),
        FollowerCount(datetime(2026, 12, 5, 7, tzinfo=UTC), 1000 - 10),
        FollowerCount(datetime(2026, 12, 6, 7, tzinfo=UTC), 1000),
    ]


def test_back_computing_stops_at_a_missing_day_and_below_zero() -> None:
    gap = _follower_answer(
        [
            ("2026-12-02T07:00:00+0000", 5),  # 4 Dec is missing: this one cannot be placed
            ("2026-12-03T07:00:00+0000", 5),
            ("2026-12-05T07:00:00+0000", 7),
            ("2026-12-06T07:00:00+0000", 10),
        ]
    )
    assert [c.followers for c in follower_counts(gap, 1000)] == [990, 1000]
    small = _follower_answer([("2026-12-05T07:00:00+0000", 50), ("2026-12-06T07:00:00+0000", 30)])
    assert follower_counts(small, 20) == [FollowerCount(datetime(2026, 12, 6, 7, tzinfo=UTC), 20)]


def test_no_follower_data_is_no_history() -> None:
    # Fewer than 100 followers, or not computed yet: "an empty data set, not 0".
    assert follower_counts({"data": []}, 80) == []
    with pytest.raises(PermanentError):
        follower_counts({"data": "none"}, 80)


def test_graph_times_have_offsets_without_a_colon() -> None:
    assert graph_time("2019-05-17T16:24:04+0000") == datetime(2019, 5, 17, 16, 24, 4, tzinfo=UTC)
    assert graph_time("2019-05-17T18:24:04+0200") == datetime(2019, 5, 17, 16, 24, 4, tzinfo=UTC)
    assert graph_time("yesterday") is None
    assert graph_time(1558110244) is None
