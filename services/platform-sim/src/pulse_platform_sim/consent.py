"""The HTML a person sees during an authorization: the consent page (sign in as one of
the simulated users, then Allow or Deny) and the error page shown instead of redirecting
to an unregistered redirect URI. Plain forms, no JavaScript: a headless browser clicks
``#allow`` or ``#deny`` after choosing in ``select#user``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from pulse_platform_sim.oauth import Provider
from pulse_platform_sim.population import Population, SimUser

STYLE = """
body { font-family: system-ui, sans-serif; background: #f3f2ef; margin: 0; }
main { max-width: 34rem; margin: 3rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
h1 { font-size: 1.4rem; } li { margin: .3rem 0; } code { font-size: .9em; }
.actions { display: flex; gap: 1rem; margin-top: 1.5rem; }
button { font-size: 1rem; padding: .5rem 1.5rem; border-radius: 1.5rem; cursor: pointer; }
#allow { background: #0a66c2; color: #fff; border: 0; }
#deny { background: #fff; border: 1px solid #666; }
.error { color: #b00020; } .note { color: #666; font-size: .8rem; margin-top: 2rem; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><main>\n{body}\n"
        '<p class="note">Simulated by the Pulse platform simulator.</p>\n'
        "</main></body></html>\n"
    )


def _user_label(population: Population, user: SimUser) -> str:
    names = [b.name for b in population.businesses if b.business_id in user.business_ids]
    what = f"administers {', '.join(names)}" if names else "administers no accounts"
    return f"{user.name} ({user.user_id}, {what})"


def consent_page(
    provider: Provider,
    action: str,
    params: Mapping[str, str],
    scopes: Sequence[str],
    users: Sequence[SimUser],
    population: Population,
    selected: str | None,
    error: str | None = None,
) -> str:
    """The consent form. ``params`` are the authorization request's own parameters,
    carried through as hidden fields and checked again when the form comes back."""
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k not in ("user", "decision")
    )
    options = "\n".join(
        f'<option value="{escape(u.user_id)}"{" selected" if u.user_id == selected else ""}>'
        f"{escape(_user_label(population, u))}</option>"
        for u in users
    )
    items = "\n".join(
        f'<li data-scope="{escape(s)}"><code>{escape(s)}</code>: '
        f"{escape(provider.scopes.get(s, s))}</li>"
        for s in scopes
    )
    warning = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    body = f"""<h1>{escape(provider.name)}: sign in and allow access</h1>
{warning}
<p><strong id="app">Pulse</strong>
(client id <code id="client-id">{escape(provider.client_id)}</code>) would like to:</p>
<ul id="scopes">
{items}
</ul>
<form id="consent" method="post" action="{escape(action)}">
{hidden}
<p><label for="user">Sign in as</label>
<select id="user" name="user">
{options}
</select></p>
<div class="actions">
<button id="allow" type="submit" name="decision" value="allow">Allow</button>
<button id="deny" type="submit" name="decision" value="deny">Deny</button>
</div>
</form>"""
    return _page(f"{provider.name}: allow Pulse", body)


def error_page(provider_name: str, title: str, message: str) -> str:
    body = (
        f'<h1 id="error-title">{escape(title)}</h1>\n'
        f'<p class="error" id="error">{escape(message)}</p>'
    )
    return _page(f"{provider_name}: {title}", body)
