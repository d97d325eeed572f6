"""An organisation's posts pages and follower gains, as documented (platform-oauth.md, 1.4
and 1.5), and the follower counts back-computed from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse_ingest_linkedin.listing import (
    DailyGain,
    back_computed_counts,
    content_type_of,
    follower_statistics_request,
    parse_follower_gains,
    parse_posts_page,
    posts_request,
)
from pulse_shared.ingest.contracts import PermanentError
from pulse_shared.ingest.oauth import FollowerCount

ORGANIZATION = "urn:li:organization:5515715"
DAY = timedelta(days=1)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


T = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def element(urn: str, at: datetime, **fields: object) -> dict[str, object]:
    """A post as the versioned Posts API shows one (the published sample's fields)."""
    return {
        "id": urn, "author": ORGANIZATION, "commentary": f"post {urn}", "visibility": "PUBLIC",
        "lifecycleState": "PUBLISHED", "lifecycleStateInfo": {"isEditedByAuthor": False},
        "createdAt": ms(at), "publishedAt": ms(at), "lastModifiedAt": ms(at),
        "distribution": {"feedDistribution": "MAIN_FEED", "thirdPartyDistributionChannels": []},
        "isReshareDisabledByAuthor": False, **fields,
    }  # fmt: skip


PAGE = {
    "paging": {"start": 0, "count": 100, "links": [
        {"type": "application/json", "rel": "next",
         "href": "/rest/posts?author=urn%3Ali%3Aorganization%3A5515715&count=100&q=author"
                 "&start=100"}
    ]},
    "elements": [
        element("urn:li:share:7001", T, content={"media": {"id": "urn:li:video:C5F10AQGKQg",
                                                          "title": "a video"}}),
        element("urn:li:ugcPost:7002", T - DAY, content={"media": {"id": "urn:li:image:C4E22",
                                                                  "altText": "a photo"}}),
        element("urn:li:share:7003", T - 2 * DAY, content={"multiImage": {"images": [
            {"id": "urn:li:image:1"}, {"id": "urn:li:image:2"}]}}),
        element("urn:li:share:7004", T - 3 * DAY, content={"article": {
            "source": "https://pulse.example/blog", "title": "Read this",
            "thumbnail": "https://media.licdn.com/dms/image/thumb.jpg"}}),
        element("urn:li:share:7005", T - 4 * DAY),
        element("urn:li:share:7006", T - 5 * DAY, lifecycleState="DRAFT"),
        element("urn:li:instantRepost:7007", T - 6 * DAY),
        # Scheduled the day before it went out: published when it appeared.
        element("urn:li:share:7008", T - 8 * DAY, publishedAt=ms(T - 7 * DAY)),
        element("urn:li:share:7009", T - 9 * DAY, publishedAt=None),
    ],
}  # fmt: skip


def test_a_posts_page_gives_its_published_posts_kinds_and_the_next_start() -> None:
    page = parse_posts_page(PAGE, 0)
    assert [p.platform_post_id for p in page.posts] == [
        "urn:li:share:7001", "urn:li:ugcPost:7002", "urn:li:share:7003", "urn:li:share:7004",
        "urn:li:share:7005", "urn:li:share:7008", "urn:li:share:7009",
    ]  # fmt: skip
    assert [p.content_type for p in page.posts[:5]] == [
        "video", "image", "carousel", "link", "text",
    ]  # fmt: skip
    video = page.posts[0]
    assert video.published_at == T
    assert video.platform_post_url == "https://www.linkedin.com/feed/update/urn:li:share:7001"
    assert video.content_preview == "post urn:li:share:7001"
    assert page.posts[3].thumbnail_url == "https://media.licdn.com/dms/image/thumb.jpg"
    assert page.posts[5].published_at == T - 7 * DAY  # publishedAt, not createdAt
    assert page.posts[6].published_at == T - 9 * DAY  # no publishedAt: createdAt
    # The draft's and the repost's createdAt count too: the page reaches back that far.
    assert page.oldest_created_at == T - 9 * DAY
    # A next link, under a page shorter than its count: on from the elements read (the
    # next page may repeat some, which the lister drops; it never skips one).
    assert page.next_start == 9


def test_the_last_posts_page_ends_the_listing() -> None:
    short = parse_posts_page({"paging": {"start": 200, "count": 100},
                              "elements": [element("urn:li:share:1", T)]}, 200)  # fmt: skip
    assert short.next_start is None
    empty = parse_posts_page({"paging": {"start": 300, "count": 100}, "elements": []}, 300)
    assert (empty.posts, empty.oldest_created_at, empty.next_start) == ([], None, None)
    full_at_total = parse_posts_page(
        {"paging": {"start": 0, "count": 2, "total": 2},
         "elements": [element("urn:li:share:1", T), element("urn:li:share:2", T)]}, 0,
    )  # fmt: skip
    assert full_at_total.next_start is None


def test_an_answer_without_elements_is_not_understood() -> None:
    with pytest.raises(PermanentError):
        parse_posts_page({"message": "?"}, 0)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (None, "text"),
        ({"media": {"id": "urn:li:video:1"}}, "video"),
        ({"media": {"id": "urn:li:image:1"}}, "image"),
        ({"media": {"id": "urn:li:document:1", "title": "deck.pdf"}}, "carousel"),
        ({"multiImage": {"images": [{"id": "urn:li:image:1"}]}}, "carousel"),
        ({"carousel": {"cards": []}}, "carousel"),
        ({"article": {"source": "https://pulse.example"}}, "link"),
        ({"poll": {"question": "?", "options": []}}, "text"),
        ({"celebration": {"type": "LAUNCH"}}, "text"),
    ],
)
def test_the_content_type_follows_the_posts_content(content: object, kind: str) -> None:
    assert content_type_of(content) == kind


def test_the_posts_request_lists_by_author_in_pages_of_100() -> None:
    request = posts_request(ORGANIZATION, 200, api_version="202611")
    assert request.path == (
        "/rest/posts?author=urn%3Ali%3Aorganization%3A5515715&q=author&count=100&start=200"
        "&sortBy=CREATED"
    )
    assert request.endpoint == "/rest/posts"
    assert request.params is None  # the query is in the path, encoded as LinkedIn wants
    assert request.headers == {"LinkedIn-Version": "202611", "X-Restli-Protocol-Version": "2.0.0"}
    modified = posts_request(ORGANIZATION, 0, api_version="202611", sort_by="LAST_MODIFIED")
    assert modified.path.endswith("&start=0&sortBy=LAST_MODIFIED")


# --- followers -------------------------------------------------------------------------

MIDNIGHT = datetime(2026, 12, 3, tzinfo=UTC)


def day(offset: int, organic: int, paid: int = 0) -> dict[str, object]:
    start = MIDNIGHT + offset * DAY
    return {
        "organizationalEntity": ORGANIZATION,
        "timeRange": {"start": ms(start), "end": ms(start + DAY)},
        "followerGains": {"organicFollowerGain": organic, "paidFollowerGain": paid},
    }


def test_the_follower_statistics_request_asks_for_days_in_restli_syntax() -> None:
    request = follower_statistics_request(
        ORGANIZATION, MIDNIGHT, MIDNIGHT + 3 * DAY, api_version="202611"
    )
    assert request.path == (
        "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
        "&organizationalEntity=urn%3Ali%3Aorganization%3A5515715"
        f"&timeIntervals=(timeRange:(start:{ms(MIDNIGHT)},end:{ms(MIDNIGHT + 3 * DAY)}),"
        "timeGranularityType:DAY)"
    )
    assert request.endpoint == "/rest/organizationalEntityFollowerStatistics"
    assert request.params is None


def test_daily_gains_are_organic_plus_paid_once_per_day_oldest_first() -> None:
    lifetime = {"organizationalEntity": ORGANIZATION, "followerCountsBySeniority": [
        {"seniority": "urn:li:seniority:3",
         "followerCounts": {"organicFollowerCount": 9, "paidFollowerCount": 1}}]}  # fmt: skip
    body = {"paging": {"start": 0, "count": 10}, "elements": [
        day(1, 3), day(0, 5, 1), lifetime, day(1, 99), day(2, -2)]}  # fmt: skip
    assert parse_follower_gains(body) == [
        DailyGain(MIDNIGHT, MIDNIGHT + DAY, 6),
        DailyGain(MIDNIGHT + DAY, MIDNIGHT + 2 * DAY, 3),
        DailyGain(MIDNIGHT + 2 * DAY, MIDNIGHT + 3 * DAY, -2),
    ]


def test_each_past_days_count_is_todays_total_less_the_gains_since() -> None:
    gains = parse_follower_gains({"elements": [day(0, 5, 1), day(1, 3), day(2, -2), day(3, 4)]})
    # Now: 06:00 on the day of offset 3, which is still under way.
    now = MIDNIGHT + 3 * DAY + timedelta(hours=6)
    assert back_computed_counts(gains, 1000, now) == [
        FollowerCount(MIDNIGHT + DAY, 1000 - 4 - (-2) - 3),  # 995
        FollowerCount(MIDNIGHT + 2 * DAY, 1000 - 4 - (-2)),  # 998
        FollowerCount(MIDNIGHT + 3 * DAY, 1000 - 4),  # 996: today's gains so far
    ]


def test_a_back_computed_count_is_never_negative() -> None:
    gains = [DailyGain(MIDNIGHT, MIDNIGHT + DAY, 50)]
    assert back_computed_counts(gains, 0, MIDNIGHT + 2 * DAY) == [FollowerCount(MIDNIGHT + DAY, 0)]
    assert back_computed_counts([], 10, MIDNIGHT) == []
