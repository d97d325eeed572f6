"""X's user timeline pages and token answers, as documented (platform-oauth.md, 2.2, 2.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_ingest_twitter.listing import parse_user_tweets, user_tweets_request
from pulse_ingest_twitter.oauth import XOAuthClient, grant_of
from pulse_shared.ingest.oauth import OAuthRefused

PAGE = {
    "data": [
        {"id": "1790000000000000001", "text": "a video", "created_at":
         "2026-11-30T10:00:00.000Z",
         "attachments": {"media_keys": ["7_1"]}},
        {"id": "1790000000000000002", "text": "two photos", "created_at":
         "2026-11-29T10:00:00.000Z",
         "attachments": {"media_keys": ["3_1", "3_2"]}},
        {"id": "1790000000000000003", "text": "see https://t.co/x", "created_at":
         "2026-11-28T10:00:00.000Z",
         "entities": {"urls": [{"url": "https://t.co/x"}]}},
        {"id": "1790000000000000004", "text": "words", "created_at":
         "2026-11-27T10:00:00.000Z"},
        {"id": "1790000000000000005", "text": "no date"},
    ],
    "includes": {"media": [
        {"media_key": "7_1", "type": "video", "preview_image_url": "https://pbs.twimg.com/v.jpg",
         "duration_ms": 12500},
        {"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/1.jpg"},
        {"media_key": "3_2", "type": "photo", "url": "https://pbs.twimg.com/2.jpg"},
    ]},
    "meta": {"result_count": 5, "newest_id": "1790000000000000001",
             "next_token": "7140dibdnow9c7btw4"},
}  # fmt: skip


def test_a_page_gives_its_posts_kinds_previews_and_the_next_token() -> None:
    posts, token = parse_user_tweets(PAGE)
    assert token == "7140dibdnow9c7btw4"
    assert [p.content_type for p in posts] == ["video", "carousel", "link", "text"]
    video = posts[0]
    assert video.thumbnail_url == "https://pbs.twimg.com/v.jpg"
    assert video.video_duration_s == 12.5
    assert video.published_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert video.platform_post_url == "https://x.com/i/web/status/1790000000000000001"


def test_the_last_page_has_no_next_token() -> None:
    posts, token = parse_user_tweets({"meta": {"result_count": 0}})
    assert (posts, token) == ([], None)


def test_the_request_asks_for_pages_of_100_since_the_start() -> None:
    request = user_tweets_request("2244994945", datetime(2026, 9, 1, tzinfo=UTC), "abc")
    assert request.path == "/2/users/2244994945/tweets"
    assert request.params is not None
    assert request.params["max_results"] == "100"
    assert request.params["start_time"] == "2026-09-01T00:00:00Z"
    assert request.params["pagination_token"] == "abc"


def test_a_token_answer_becomes_a_grant() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    body = {"token_type": "bearer", "expires_in": 7200, "access_token": "a", "scope":
            "tweet.read users.read offline.access", "refresh_token": "r"}  # fmt: skip
    grant = grant_of(body, now)
    assert grant.expires_at == datetime(2026, 12, 6, 2, tzinfo=UTC)
    assert grant.refresh_token == "r"
    assert "offline.access" in grant.scopes
    with pytest.raises(OAuthRefused):
        grant_of({"error": "invalid_request"}, now)


def test_the_consent_url_carries_pkce_and_the_scopes() -> None:
    client = XOAuthClient(client_id="cid", client_secret="s", authorize_base_url="http://sim")
    url = client.authorization_url(state="st", redirect_uri="http://i/cb", code_challenge="ch")
    assert url.startswith("http://sim/i/oauth2/authorize?response_type=code&client_id=cid")
    assert "code_challenge=ch&code_challenge_method=S256" in url
    assert "scope=tweet.read+users.read+offline.access" in url
