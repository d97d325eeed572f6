"""The reports' colour and logo over HTTP: every member sees them, owners and admins change
them; a logo is PNG, JPEG or WebP whose bytes are what its type says, at most 512 KiB; SVG
is refused; another business's branding is not found."""

from __future__ import annotations

import http.client

import pytest

from pulse_reporter.rendering import DEFAULT_COLOUR
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.api_support import Team, client, field_of, image

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

BRANDING = "/reports/branding"
LOGO = "/reports/branding/logo"


async def test_the_colour_and_logo_are_set_shown_and_removed(
    reporter_api: ServiceProcess, team: Team
) -> None:
    async with client(reporter_api, team.viewer) as api:
        shown = await api.get(team.path(BRANDING))
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"colour": DEFAULT_COLOUR, "logo": None, "updated_at": None}

    png = image("PNG")
    async with client(reporter_api, team.admin) as api:
        logo = await api.put(team.path(LOGO), content=png, headers={"Content-Type": "image/png"})
        assert logo.status_code == 200, logo.text
        assert logo.json()["colour"] == DEFAULT_COLOUR
        assert logo.json()["logo"] == {
            "media_type": "image/png",
            "bytes": len(png),
            "url": f"/v1/businesses/{team.business_id}{LOGO}",
        }
        coloured = await api.put(team.path(BRANDING), json={"colour": "#0A66C2"})
        assert coloured.status_code == 200, coloured.text
        assert coloured.json()["colour"] == "#0a66c2"
        assert coloured.json()["logo"]["media_type"] == "image/png"  # kept

    async with client(reporter_api, team.viewer) as api:
        fetched = await api.get(team.path(LOGO))
    assert fetched.status_code == 200
    assert fetched.content == png
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in fetched.headers["content-security-policy"]

    async with client(reporter_api, team.owner) as api:
        jpeg = image("JPEG")
        replaced = await api.put(
            team.path(LOGO), content=jpeg, headers={"Content-Type": "image/jpeg"}
        )
        assert replaced.json()["logo"]["media_type"] == "image/jpeg"
        webp = image("WEBP")
        replaced = await api.put(
            team.path(LOGO), content=webp, headers={"Content-Type": "image/webp"}
        )
        assert replaced.json()["logo"]["bytes"] == len(webp)
        removed = await api.delete(team.path(LOGO))
        assert removed.status_code == 200
        assert removed.json()["logo"] is None
        assert removed.json()["colour"] == "#0a66c2"
        assert (await api.get(team.path(LOGO))).status_code == 404


async def test_analysts_and_viewers_may_not_change_the_branding(
    reporter_api: ServiceProcess, team: Team
) -> None:
    for person in (team.analyst, team.viewer):
        async with client(reporter_api, person) as api:
            refused = [
                await api.put(team.path(BRANDING), json={"colour": "#000000"}),
                await api.put(
                    team.path(LOGO), content=image(), headers={"Content-Type": "image/png"}
                ),
                await api.delete(team.path(LOGO)),
            ]
        for answer in refused:
            assert answer.status_code == 403, answer.text
            assert "manage_reports" in answer.json()["detail"]


async def test_another_business_branding_is_not_found(
    reporter_api: ServiceProcess, team: Team, other_team: Team
) -> None:
    async with client(reporter_api, other_team.owner) as api:
        await api.put(other_team.path(LOGO), content=image(), headers={"Content-Type": "image/png"})
    theirs = other_team.business_id
    async with client(reporter_api, team.owner) as api:
        for answer in (
            await api.get(team.path(BRANDING, theirs)),
            await api.put(team.path(BRANDING, theirs), json={"colour": "#000000"}),
            await api.get(team.path(LOGO, theirs)),
            await api.put(
                team.path(LOGO, theirs), content=image(), headers={"Content-Type": "image/png"}
            ),
            await api.delete(team.path(LOGO, theirs)),
        ):
            assert answer.status_code == 404, answer.text
            assert answer.json()["detail"] == f"business {theirs} not found"
    async with client(reporter_api, other_team.viewer) as api:
        assert (await api.get(other_team.path(LOGO))).content == image()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("content_type", "body", "loc"),
    [
        ("image/svg+xml", SVG, ["header", "content-type"]),
        ("image/gif", b"GIF89a" + b"\0" * 20, ["header", "content-type"]),
        ("text/html", b"<html></html>", ["header", "content-type"]),
        ("image/png", image("JPEG"), ["body"]),  # a JPEG said to be a PNG
        ("image/jpeg", b"\xff\xd8\xff" + b"not really a jpeg" * 10, ["body"]),
        ("image/png", b"", ["body"]),
        ("image/png", image("PNG", (4097, 1)), ["body"]),  # wider than 4096 pixels
    ],
    ids=["svg", "gif", "html", "mismatch", "truncated", "empty", "too-wide"],
)
async def test_a_logo_that_is_not_what_it_says_is_refused(
    reporter_api: ServiceProcess, team: Team, content_type: str, body: bytes, loc: list[str]
) -> None:
    async with client(reporter_api, team.owner) as api:
        answer = await api.put(
            team.path(LOGO), content=body, headers={"Content-Type": content_type}
        )
        assert field_of(answer) == [loc]
        assert (await api.get(team.path(BRANDING))).json()["logo"] is None


async def test_a_logo_over_512_kib_is_refused_before_it_is_read(
    reporter_api: ServiceProcess, team: Team
) -> None:
    # The length is declared and only its first 64 KiB sent: the answer must come from the
    # declaration alone (sending all of it races the server's early close of the socket).
    large = image("PNG") + b"\0" * (512 * 1024)
    host, port = reporter_api.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("PUT", team.path(LOGO))
        for name, value in {**team.owner.headers, "Content-Type": "image/png"}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(large)))
        conn.endheaders()
        conn.send(large[: 64 * 1024])
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    async with client(reporter_api, team.owner) as api:
        assert (await api.get(team.path(BRANDING))).json()["logo"] is None


@pytest.mark.parametrize("colour", ["blue", "#12345", "#1234567", "#ggg000", "0a66c2", 7])
async def test_a_bad_colour_is_refused_naming_the_field(
    reporter_api: ServiceProcess, team: Team, colour: object
) -> None:
    async with client(reporter_api, team.owner) as api:
        answer = await api.put(team.path(BRANDING), json={"colour": colour})
    assert field_of(answer) == [["body", "colour"]]
