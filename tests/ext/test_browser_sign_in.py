"""``sign_in_with_browser``: a real loopback server, the sandbox, asyncio and trio.

The sandbox approves every authorization request at once for its test user, so a test's
``open_browser`` plays the browser by following the authorization URL with an HTTP client
(sandbox, then the loopback redirect). After every test the port listened on refuses
connections.
"""

from __future__ import annotations

import socket
import webbrowser

import anyio
import httpx
import pytest

from intelliauth_ext import (
    AccessDeniedError,
    AuthorizationCodeFlow,
    IntelliAuth,
    InvalidCallbackError,
    SignInTimeoutError,
    TokenSet,
)
from intelliauth_ext._loopback_server import MAX_REQUEST_HEAD
from intelliauth_ext.testing import TEST_USER_EMAIL, Sandbox

from .native_apps import SCOPES, Browser, assert_refused, native_flow

pytestmark = pytest.mark.anyio


async def test_sign_in_returns_verified_tokens_and_closes_the_port(
    intelliauth_sandbox: Sandbox,
) -> None:
    """The browser's redirect lands on the loopback server; tokens come back; port closed."""
    flow = native_flow(intelliauth_sandbox)
    browser = Browser()
    tokens = await flow.sign_in_with_browser(open_browser=browser.follow, timeout=30)
    assert isinstance(tokens, TokenSet)
    assert tokens.id_token
    assert tokens.refresh_token
    [page] = browser.pages
    assert page.status_code == 200
    assert "You can close this window" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    sent = httpx.URL(browser.authorization_urls[0]).params["redirect_uri"]
    assert sent.startswith("http://127.0.0.1:")
    assert sent.endswith("/callback")
    assert httpx.URL(sent).port not in (None, 80)  # RFC 8252 7.3: the port listened on
    assert browser.redirect_target() == sent
    assert_refused(sent)


async def test_refreshing_auth_calls_the_api_as_the_user(intelliauth_sandbox: Sandbox) -> None:
    """``flow.refreshing_auth(tokens)`` is wired to the flow's token endpoint and client."""
    flow = native_flow(intelliauth_sandbox)
    tokens = await flow.sign_in_with_browser(open_browser=Browser().follow, timeout=30)
    auth = flow.refreshing_auth(tokens)
    async with IntelliAuth(intelliauth_sandbox.url, auth=auth) as client:
        assert (await client.me.get_profile()).email == TEST_USER_EMAIL
        refreshed = await auth.refresh()
        assert refreshed.refresh_token != tokens.refresh_token  # the sandbox rotates
        assert (await client.me.get_profile()).email == TEST_USER_EMAIL
    await auth.aclose()


async def test_refreshing_auth_needs_the_metadata_first(intelliauth_sandbox: Sandbox) -> None:
    """Before any sign-in the token endpoint is unknown: a RuntimeError says so."""
    flow = native_flow(intelliauth_sandbox)
    with pytest.raises(RuntimeError, match="sign in first"):
        flow.refreshing_auth(TokenSet(access_token="a", refresh_token="r"))


async def test_a_fixed_port_is_used(intelliauth_sandbox: Sandbox) -> None:
    """``port=`` listens there and sends that port in the redirect URI."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    flow = native_flow(intelliauth_sandbox)
    browser = Browser()
    await flow.sign_in_with_browser(open_browser=browser.follow, port=port, timeout=30)
    assert browser.redirect_target() == f"http://127.0.0.1:{port}/callback"
    assert_refused(f"http://127.0.0.1:{port}")


async def test_ipv6_loopback_redirect(intelliauth_sandbox: Sandbox) -> None:
    """``http://[::1]/callback`` listens on ::1."""
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6 loopback")
    flow = native_flow(intelliauth_sandbox, "http://[::1]/callback")
    browser = Browser()
    await flow.sign_in_with_browser(open_browser=browser.follow, timeout=30)
    assert browser.redirect_target().startswith("http://[::1]:")
    assert_refused(browser.redirect_target())


async def test_forged_state_is_refused_and_the_real_callback_still_wins(
    intelliauth_sandbox: Sandbox,
) -> None:
    """A callback with another state gets 400 and changes nothing; the right one completes."""
    flow = native_flow(intelliauth_sandbox)
    answers: list[httpx.Response] = []

    async def attacker_then_browser(url: str) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            callback = httpx.URL((await http.get(url)).headers["location"])
            forged = callback.copy_set_param("state", "forged-state")
            answers.append(await http.get(forged))
            answers.append(await http.get(callback.copy_with(query=b"state=")))
            answers.append(await http.get(callback.copy_with(path="/favicon.ico")))
            answers.append(await http.post(callback))
            answers.append(await http.get(callback))

    tokens = await flow.sign_in_with_browser(open_browser=attacker_then_browser, timeout=30)
    assert tokens.access_token
    assert [answer.status_code for answer in answers] == [400, 400, 404, 405, 200]
    assert "not the sign-in this application started" in answers[0].text


async def test_replayed_callback_finds_the_server_closed(intelliauth_sandbox: Sandbox) -> None:
    """After the sign-in, the same callback is refused: no server, and the state is spent."""
    flow = native_flow(intelliauth_sandbox)
    browser = Browser()
    await flow.sign_in_with_browser(open_browser=browser.follow, timeout=30)
    [callback] = browser.callback_urls
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(callback)
    with pytest.raises(InvalidCallbackError) as info:
        await flow.complete(callback)
    assert info.value.check == "replay"


async def test_a_state_of_an_earlier_sign_in_is_refused(intelliauth_sandbox: Sandbox) -> None:
    """The callback of the first sign-in, sent to the second one's server, gets 400."""
    flow = native_flow(intelliauth_sandbox)
    first = Browser()
    await flow.sign_in_with_browser(open_browser=first.follow, timeout=30)
    replayed: list[int] = []

    async def replay_then_follow(url: str) -> None:
        port = httpx.URL(httpx.URL(url).params["redirect_uri"]).port
        old = httpx.URL(first.callback_urls[0]).copy_with(port=port)
        async with httpx.AsyncClient(trust_env=False) as http:
            replayed.append((await http.get(old)).status_code)
        await Browser().follow(url)

    await flow.sign_in_with_browser(open_browser=replay_then_follow, timeout=30)
    assert replayed == [400]


async def test_timeout_raises_and_closes_the_port(intelliauth_sandbox: Sandbox) -> None:
    """A browser that never comes back (closed) is SignInTimeoutError; the port is closed."""
    flow = native_flow(intelliauth_sandbox)
    urls: list[str] = []
    with pytest.raises(SignInTimeoutError) as info:
        await flow.sign_in_with_browser(open_browser=urls.append, timeout=0.3)
    assert isinstance(info.value, TimeoutError)
    assert_refused(httpx.URL(urls[0]).params["redirect_uri"])


async def test_access_denied_is_raised_and_shown(intelliauth_sandbox: Sandbox) -> None:
    """``error=access_denied`` with this sign-in's state is AccessDeniedError; page says so."""
    flow = native_flow(intelliauth_sandbox)
    pages: list[httpx.Response] = []
    redirect: list[str] = []

    async def deny(url: str) -> None:
        params = httpx.URL(url).params
        redirect.append(params["redirect_uri"])
        denied = httpx.URL(params["redirect_uri"]).copy_merge_params(
            {"error": "access_denied", "error_description": "<b>no</b>", "state": params["state"],
             "iss": intelliauth_sandbox.url}
        )  # fmt: skip
        async with httpx.AsyncClient(trust_env=False) as http:
            pages.append(await http.get(denied))

    with pytest.raises(AccessDeniedError):
        await flow.sign_in_with_browser(open_browser=deny, timeout=30)
    [page] = pages
    assert page.status_code == 400
    assert "did not complete (access_denied)" in page.text
    assert "<b>" not in page.text
    assert_refused(redirect[0])


async def test_an_opener_that_fails_raises_its_error(intelliauth_sandbox: Sandbox) -> None:
    """The opener's exception is raised at once, not after the timeout; the port closes."""
    flow = native_flow(intelliauth_sandbox)
    seen: list[str] = []

    def broken(url: str) -> None:
        seen.append(url)
        raise OSError("no display")

    with anyio.fail_after(10), pytest.raises(OSError, match="no display"):
        await flow.sign_in_with_browser(open_browser=broken, timeout=300)
    assert_refused(httpx.URL(seen[0]).params["redirect_uri"])


async def test_an_idle_and_an_oversized_connection_do_not_block(
    intelliauth_sandbox: Sandbox,
) -> None:
    """A connection that sends nothing, and one that sends too much, leave the server serving."""
    flow = native_flow(intelliauth_sandbox)

    async def noise_then_follow(url: str) -> None:
        port = httpx.URL(httpx.URL(url).params["redirect_uri"]).port
        assert port is not None
        idle = await anyio.connect_tcp("127.0.0.1", port)
        huge = await anyio.connect_tcp("127.0.0.1", port)
        await huge.send(b"GET /callback?" + b"a" * (MAX_REQUEST_HEAD * 2))
        await Browser().follow(url)
        await idle.aclose()
        await huge.aclose()

    with anyio.fail_after(20):
        tokens = await flow.sign_in_with_browser(open_browser=noise_then_follow, timeout=30)
    assert tokens.access_token


async def test_custom_success_page(intelliauth_sandbox: Sandbox) -> None:
    """``success_page`` is what the browser shows after the sign-in."""
    flow = native_flow(intelliauth_sandbox)
    browser = Browser()
    await flow.sign_in_with_browser(
        open_browser=browser.follow, timeout=30, success_page="<p>Back to the notebook!</p>"
    )
    assert browser.pages[0].text == "<p>Back to the notebook!</p>"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_default_opener_is_webbrowser(
    intelliauth_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``open_browser``, ``webbrowser.open`` gets the URL (in a worker thread)."""
    flow = native_flow(intelliauth_sandbox)
    opened: list[str] = []

    def system_browser(url: str) -> bool:
        opened.append(url)
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as http:
            assert http.get(url).status_code == 200
        return True

    monkeypatch.setattr(webbrowser, "open", system_browser)
    tokens = await flow.sign_in_with_browser(timeout=30)
    assert tokens.access_token
    assert len(opened) == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_without_a_browser_the_url_is_printed(
    intelliauth_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When ``webbrowser`` finds no browser, the URL goes to stderr, and the wait goes on."""
    flow = native_flow(intelliauth_sandbox)
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    with pytest.raises(SignInTimeoutError):
        await flow.sign_in_with_browser(timeout=0.5)
    line = capsys.readouterr().err.strip()
    assert line.startswith("Open this URL in a browser to sign in: http://127.0.0.1:")
    assert "/oauth2/authorize?" in line


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://app.example.com/callback", "com.example.app:/callback", "http://192.168.1.2/cb"],
)
async def test_a_redirect_uri_that_is_not_loopback_is_refused(
    intelliauth_sandbox: Sandbox, redirect_uri: str
) -> None:
    """Only an http loopback redirect can be caught on this machine: ValueError otherwise."""
    flow = AuthorizationCodeFlow(
        intelliauth_sandbox.url, "client", redirect_uri="http://127.0.0.1/cb", scopes=SCOPES
    )
    flow.redirect_uri = redirect_uri
    with pytest.raises(ValueError, match="loopback redirect URI"):
        await flow.sign_in_with_browser(open_browser=print)


async def test_it_runs_inside_an_already_running_loop_beside_other_tasks(
    intelliauth_sandbox: Sandbox,
) -> None:
    """A notebook cell awaits it while other tasks of the loop keep running."""
    flow = native_flow(intelliauth_sandbox)
    ticks: list[int] = []

    async def ticker() -> None:
        for tick in range(1000):
            ticks.append(tick)
            await anyio.sleep(0.01)

    async def slow_browser(url: str) -> None:
        await anyio.sleep(0.2)
        await Browser().follow(url)

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await flow.sign_in_with_browser(open_browser=slow_browser, timeout=30)
        group.cancel_scope.cancel()
    assert len(ticks) >= 5  # the loop was never blocked while the sign-in waited
