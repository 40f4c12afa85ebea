"""Every python block of the README and of the documentation site runs, or says why not.

The rule (the README's "Contributing" section says the same):

- Each block runs as written against a sandbox tenant served on 127.0.0.1 for the test
  (``intelliauth_ext.testing``), after these substitutions, and nothing else:

  ==============================  ==========================================================
  in the block                    becomes
  ==============================  ==========================================================
  ``https://acme.intelliauth.io`` the sandbox's URL (``http://127.0.0.1:<port>``)
  ``"app_123"``                   the id of the sandbox's ready confidential client
  ``client_secret="..."``         its secret
  ``"app_web"``                   a public client of the sandbox whose redirect URI is
                                  ``http://localhost:8000/callback``
  ``"app_cli"``                   a public client of the sandbox whose redirect URI is
                                  ``http://127.0.0.1/callback`` (any port, RFC 8252)
  ``"app_fapi"``                  the ``private_key_jwt`` + DPoP application of a
                                  ``Sandbox(fapi=True)`` served for that block (its tenant
                                  URL replaces the placeholder there), with its PEM in
                                  ``INTELLIAUTH_PRIVATE_KEY``
  ==============================  ==========================================================

  and with ``INTELLIAUTH_TENANT_URL``, ``INTELLIAUTH_CLIENT_ID``,
  ``INTELLIAUTH_CLIENT_SECRET`` of that client, ``INTELLIAUTH_WEBHOOK_SECRETS=whsec_test``
  and, for the Redis blocks, ``REDIS_URL`` of a redis-server the test starts (and
  ``APP_SECRET``, a 32-byte secret, for the blocks that seal what they store), in the
  environment, in an empty working folder.
- How it runs follows from what it is: a program (``anyio.run(main)``) runs as
  ``__main__``; a snippet (a top-level ``await`` or ``async for``, or the ``client`` it
  uses without making it) runs in an ``async def`` given ``client``, an ``IntelliAuth``
  client of the sandbox; a block that defines an ``app`` is served, and the test sends it
  requests; a block of tests is run by pytest; a block that defines a class is used by the
  test. The test then checks what the block printed or answered.
- A block that can not run that way says why on the line before it:
  ``<!-- not run: REASON -->`` (another provider's endpoints, a browser, ...).

``test_every_block_runs_or_says_why_not`` fails on a block that is neither run here nor
marked, and on a check whose block is gone; it prints the counts of each.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import anyio
import attrs
import httpx
import pytest
import yaml
from ext.redis_server import redis_server as start_redis_server
from integrations.drivers import serve_aiohttp, serve_asgi

from intelliauth_ext import IntelliAuth, webhooks
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox
from intelliauth_ext.testing._threaded import serve_in_thread

ROOT: Final = Path(__file__).resolve().parents[1]
README: Final = ROOT / "README.md"
DOCS: Final = ROOT / "docs" / "site"

PLACEHOLDER_TENANT: Final = "https://acme.intelliauth.io"
CALLBACK: Final = "http://localhost:8000/callback"
NATIVE_CALLBACK: Final = "http://127.0.0.1/callback"
WEBHOOK_SECRET: Final = "whsec_test"  # the examples' placeholder secret
API_AUDIENCE: Final = "https://api.acme.dev"  # the examples' own API

_HEADING: Final = re.compile(r"^#{1,6} (?P<title>.+?)\s*$")
_FENCE: Final = re.compile(r"^(```|~~~)(?P<info>.*)$")
_NOT_RUN: Final = re.compile(r"^<!-- not run: (?P<reason>.+?) -->$")


# ---------------------------------------------------------------------------- the blocks


@attrs.frozen
class Block:
    """One python block: where it is, and the reason it is not run, if it says one."""

    file: str
    heading: str
    number: int  # 1 for the first block under this heading
    line: int
    code: str
    not_run: str | None

    @property
    def key(self) -> str:
        """``file#heading#number``: how a check names its block."""
        return f"{self.file}#{self.heading}#{self.number}"


def python_blocks(path: Path) -> list[Block]:
    """Every python fenced block of a Markdown file, with its heading and marker."""
    blocks: list[Block] = []
    heading = "(top)"
    per_heading: dict[str, int] = {}
    fence: tuple[str, int, list[str], str | None] | None = None
    previous = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                marker = _NOT_RUN.match(previous.strip())
                fence = (
                    match["info"].strip(),
                    number + 1,
                    [],
                    marker["reason"] if marker else None,
                )
            elif heading_match := _HEADING.match(line):
                heading = heading_match["title"]
            if line.strip():
                previous = line
        elif _FENCE.match(line):
            info, first, lines, reason = fence
            if info == "python":
                per_heading[heading] = per_heading.get(heading, 0) + 1
                code = "\n".join(lines) + "\n"
                name = str(path.relative_to(ROOT))
                blocks.append(Block(name, heading, per_heading[heading], first, code, reason))
            fence = None
            previous = line
        else:
            fence[2].append(line)
    return blocks


def every_block() -> list[Block]:
    """The README's blocks and those written in the documentation site's own pages.

    (Site pages that include a README section with ``<!-- readme: ... -->`` show the
    README's blocks, which are counted once, as the README's.)
    """
    blocks = python_blocks(README)
    for page in sorted(DOCS.rglob("*.md")):
        blocks.extend(python_blocks(page))
    return blocks


BLOCKS: Final = {block.key: block for block in every_block()}


# ---------------------------------------------------------------------------- the tenant


@attrs.frozen
class Tenant:
    """The sandbox a block runs against, and what the substitutions put in its place."""

    sandbox: Sandbox
    public_client_id: str
    native_client_id: str
    folder: Path

    @property
    def url(self) -> str:
        return self.sandbox.url

    def substitute(self, code: str) -> str:
        """The block with the placeholders of the module's rule replaced."""
        return (
            code.replace(PLACEHOLDER_TENANT, self.url)
            .replace('"app_123"', json.dumps(self.sandbox.client_id))
            .replace(
                'client_secret="..."', f"client_secret={json.dumps(self.sandbox.client_secret)}"
            )
            .replace('"app_web"', json.dumps(self.public_client_id))
            .replace('"app_cli"', json.dumps(self.native_client_id))
        )

    def client(self) -> IntelliAuth:
        """An ``IntelliAuth`` client of the sandbox's ready confidential client."""
        return IntelliAuth(
            self.url, client_id=self.sandbox.client_id, client_secret=self.sandbox.client_secret
        )

    async def token(self, *scopes: str, audience: str | None = None) -> str:
        """A client-credentials access token of the ready client."""
        form = {"grant_type": "client_credentials", "scope": " ".join(scopes)}
        if audience is not None:
            form["audience"] = audience
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.post(
                f"{self.url}/oauth2/token",
                data=form,
                auth=(self.sandbox.client_id, self.sandbox.client_secret),
            )
        response.raise_for_status()
        return str(response.json()["access_token"])


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    """A served sandbox, the environment of the rule, and an empty working folder."""
    for name in list(os.environ):
        if name.startswith("INTELLIAUTH_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    with serve_in_thread(validate=True) as sandbox:
        public = sandbox.add_client(name="app_web", public=True, redirect_uris=(CALLBACK,))
        native = sandbox.add_client(name="app_cli", public=True, redirect_uris=(NATIVE_CALLBACK,))
        monkeypatch.setenv("INTELLIAUTH_TENANT_URL", sandbox.url)
        monkeypatch.setenv("INTELLIAUTH_CLIENT_ID", sandbox.client_id)
        monkeypatch.setenv("INTELLIAUTH_CLIENT_SECRET", sandbox.client_secret)
        monkeypatch.setenv("INTELLIAUTH_WEBHOOK_SECRETS", WEBHOOK_SECRET)
        yield Tenant(sandbox, public.client_id, native.client_id, tmp_path)


# ---------------------------------------------------------------------------- running


def run_program(block: Block, tenant: Tenant) -> None:
    """Run a program block as ``python block.py`` would (``__name__ == "__main__"``)."""
    code = compile(tenant.substitute(block.code), block.key, "exec")
    exec(code, {"__name__": "__main__"})  # noqa: S102 - the documentation's own example


def run_snippet(block: Block, tenant: Tenant) -> None:
    """Run a snippet inside ``async def`` with ``client``, the sandbox's client."""
    source = "async def __block__(client):\n" + textwrap.indent(
        tenant.substitute(block.code), "    ", lambda line: bool(line.strip())
    )
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(source, block.key, "exec"), namespace)  # noqa: S102

    async def main() -> None:
        async with tenant.client() as client:
            await namespace["__block__"](client)

    anyio.run(main)


def load_module(block: Block, tenant: Tenant) -> dict[str, Any]:
    """Run a block as an imported module (``__name__`` is not ``__main__``); its names."""
    namespace: dict[str, Any] = {"__name__": "readme_module"}
    exec(compile(tenant.substitute(block.code), block.key, "exec"), namespace)  # noqa: S102
    return namespace


def run_pytest(block: Block, tenant: Tenant) -> str:
    """Run a block of tests with pytest, in a process of its own; its report."""
    test_file = tenant.folder / "test_readme_block.py"
    test_file.write_text(tenant.substitute(block.code), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tenant.folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.search(r"^\d+ passed in ", completed.stdout, flags=re.MULTILINE), completed.stdout
    return completed.stdout


def signed_user_created() -> tuple[bytes, dict[str, str]]:
    """The contract's user.created example, signed with the examples' webhook secret."""
    spec = yaml.safe_load((ROOT / "openapi" / "intelliauth.openapi.yaml").read_text())
    examples = spec["webhooks"]["user.created"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    body = json.dumps(next(iter(examples.values()))["value"]).encode()
    return body, {webhooks.SIGNATURE_HEADER: webhooks.sign(body, WEBHOOK_SECRET)}


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free loopback port, without persistence; its URL."""
    try:
        with start_redis_server(folder) as url:
            yield url
    except FileNotFoundError:
        pytest.fail("redis-server is not on PATH: `make test` installs it (apt redis-server)")


# ---------------------------------------------------------------------------- the checks

Check = Callable[[Block, Tenant, pytest.CaptureFixture[str], pytest.MonkeyPatch], None]
CHECKS: dict[str, Check] = {}


def check(heading: str, number: int = 1, *, file: str = "README.md") -> Callable[[Check], Check]:
    """Register the check of the ``number``-th python block under ``heading``."""

    def register(function: Check) -> Check:
        CHECKS[f"{file}#{heading}#{number}"] = function
        return function

    return register


@check("Using the client")
def _using_the_client(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)
    email, missing = capsys.readouterr().out.splitlines()
    assert email == TEST_USER_EMAIL
    assert missing.startswith("404 not_found req_")


@check("Raw responses and per-call options")
def _raw_responses(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)
    assert capsys.readouterr().out.splitlines() == ["200 True", "req_checkout42", "True 1"]
    assert tenant.sandbox.served.statuses("getUser") == {200: 3}


@check("Plain dicts and strings as input")
def _plain_inputs(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)
    assert capsys.readouterr().out.splitlines() == ["A True", "body.nmae"]
    assert tenant.sandbox.served.statuses("createUser") == {201: 1}  # the refused one: unsent


@check("Configuration from the environment")
def _configuration_from_the_environment(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)  # the tenant fixture set the INTELLIAUTH_* variables
    assert capsys.readouterr().out.split() == ["127.0.0.1", "1"]


def _unset_tracer_provider() -> None:
    # OpenTelemetry lets a process set its tracer provider once; its own test utilities
    # reset these two globals the same way.
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()


@check("OpenTelemetry")
def _opentelemetry(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    _unset_tracer_provider()
    try:
        run_program(block, tenant)
    finally:
        _unset_tracer_provider()
    assert capsys.readouterr().out.splitlines() == [
        "oauth2.token None 200",
        "listUsers /api/v1/users 200",
        "getUser /api/v1/users/{user_id} 200",
        "handle-request None None",
    ]


@check("Discovery and UserInfo of any provider")
def _discovery_and_userinfo(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)
    assert capsys.readouterr().out.splitlines() == ["True True", "True lin@example.com False"]


@check("Machine-to-machine")
def _client_credentials(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)
    status, token = capsys.readouterr().out.splitlines()
    assert status == "200"
    assert token.startswith("('groups:read', 'users:read') ")
    assert float(token.split(") ")[1]) > time.time()


@check("Keeping a user's tokens fresh")
def _refreshing_auth(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    async def sign_in() -> dict[str, Any]:
        async with tenant.client() as client:
            signed_in = await client.auth.sign_in_with_password(
                TEST_USER_EMAIL, TEST_USER_PASSWORD, scope="openid profile email offline_access"
            )
        return signed_in.tokens.as_dict()  # type: ignore[union-attr]

    saved = anyio.run(sign_in)
    saved["expires_at"] = time.time() - 1  # due: the example refreshes before its call
    (tenant.folder / "session.json").write_text(json.dumps(saved))
    run_program(block, tenant)
    assert f"'email': '{TEST_USER_EMAIL}'" in capsys.readouterr().out
    rotated = json.loads((tenant.folder / "session.json").read_text())
    assert rotated["refresh_token"] != saved["refresh_token"]  # on_token_update saved it


@check("Sharing tokens across a fleet")
def _redis_fleet(block: Block, tenant: Tenant, capsys: Any, monkeypatch: Any) -> None:
    with redis_server(tenant.folder) as url:
        monkeypatch.setenv("REDIS_URL", url)
        run_program(block, tenant)
    served = tenant.sandbox.served
    assert served.statuses("requestToken") == {200: 1}  # 100 calls, one token request
    assert served.statuses("listUsers") == {200: 100}


@check("FAPI 2.0 / banking-grade")
def _fapi(block: Block, tenant: Tenant, capsys: Any, monkeypatch: Any) -> None:
    # A FAPI tenant of its own: it requires PAR of every client, which the other blocks'
    # tenant must not.
    with serve_in_thread(validate=True, fapi=True) as fapi:
        assert fapi.fapi_client is not None
        monkeypatch.setenv("INTELLIAUTH_PRIVATE_KEY", fapi.fapi_private_key)
        code = block.code.replace(PLACEHOLDER_TENANT, fapi.url).replace(
            '"app_fapi"', json.dumps(fapi.fapi_client.client_id)
        )
        exec(compile(code, block.key, "exec"), {"__name__": "__main__"})  # noqa: S102
        token_statuses = fapi.served.statuses("requestToken")
    user, pushed = capsys.readouterr().out.splitlines()
    assert user == f"{TEST_USER_EMAIL} DPoP"  # a DPoP-bound token, accepted by the API
    assert pushed == "['client_id', 'request_uri']"
    assert token_statuses == {200: 1}  # private_key_jwt accepted at once


async def sign_in_as_the_test_user(
    browser: httpx.AsyncClient, login: httpx.Response, tenant: Tenant
) -> httpx.Response:
    """Follow ``login``'s redirect to the sandbox's sign-in page and fill it in as a person
    would; the sandbox's answer, which redirects to the app's callback."""
    page = await browser.get(login.headers["location"], follow_redirects=True)
    form = {
        name: html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    form.update(email=TEST_USER_EMAIL, password=TEST_USER_PASSWORD)
    return await browser.post(f"{tenant.url}/_sandbox/login", data=form)


@check("Browser sign-in with PKCE")
def _browser_sign_in(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    app = load_module(block, tenant)["app"]

    async def browse() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as web_app,
            httpx.AsyncClient(trust_env=False) as browser,
        ):
            login = await web_app.get("/login")
            assert login.status_code == 303
            state = login.cookies["oauth_state"]
            # prompt="login": the tenant's sign-in page, filled in as a person would.
            approved = await sign_in_as_the_test_user(browser, login, tenant)
            callback = httpx.URL(approved.headers["location"])
            assert str(callback.copy_with(query=None)) == CALLBACK
            target = callback.raw_path.decode()
            forged = await web_app.get(target, headers={"Cookie": "oauth_state=another"})
            assert forged.json() == {"error": "sign-in failed, please retry", "check": "state"}
            done = await web_app.get(target, headers={"Cookie": f"oauth_state={state}"})
            assert done.status_code == 200, done.text
            assert done.json()["email"] == TEST_USER_EMAIL
            assert done.json()["signed_in_as"] == tenant.sandbox.test_user["id"]

    anyio.run(browse)


@check("Web apps on several workers (Redis)")
def _several_workers(block: Block, tenant: Tenant, capsys: Any, monkeypatch: Any) -> None:
    from intelliauth_ext import RedisTokenSetStore, TokenSet

    app_secret = "a-32-byte-secret-of-the-readme-app!!"

    async def browse(redis_url: str) -> None:
        # Two workers: the block loaded twice (two apps, nothing shared but Redis).
        one, two = (load_module(block, tenant)["app"] for _ in range(2))
        async with (
            contextlib.AsyncExitStack() as stack,
            serve_asgi(one) as first,
            serve_asgi(two) as second,
            httpx.AsyncClient(trust_env=False) as browser,
        ):
            login = await browser.get(f"{first}/login")
            assert login.status_code == 303
            state = login.cookies["oauth_state"]
            approved = await sign_in_as_the_test_user(browser, login, tenant)
            target = httpx.URL(approved.headers["location"]).raw_path.decode()
            cookie = {"Cookie": f"oauth_state={state}"}
            done = await browser.get(f"{second}{target}", headers=cookie)  # the other worker
            assert done.json() == {"signed_in": True}, done.text
            again = await browser.get(f"{first}{target}", headers=cookie)
            assert again.json() == {"error": "sign-in failed", "check": "replay"}
            session = {"Cookie": f"session={done.cookies['session']}"}

            # The session's access token expires: 2 workers x 10 calls, one refresh.
            store = RedisTokenSetStore(redis_url, secret=app_secret)
            stack.push_async_callback(store.aclose)
            (key,) = [key async for key in store._redis.scan_iter("intelliauth:session:*")]
            stored = await store._read(key.decode())
            assert stored is not None
            expired = TokenSet.from_dict({**stored.as_dict(), "expires_at": time.time() - 5})
            await store._redis.set(key, store._encoded(key.decode(), expired))
            answers: list[httpx.Response] = []

            async def call(worker: str) -> None:
                answers.append(await browser.get(f"{worker}/profile", headers=session))

            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(call, first)
                    group.start_soon(call, second)
            assert {answer.status_code for answer in answers} == {200}
            assert {answer.json()["data"]["email"] for answer in answers} == {TEST_USER_EMAIL}
            refreshed = await store._read(key.decode())
            assert refreshed is not None
            assert refreshed.refresh_token != stored.refresh_token  # rotated, and stored

    with redis_server(tenant.folder) as url:
        monkeypatch.setenv("REDIS_URL", url)
        monkeypatch.setenv("APP_SECRET", app_secret)
        anyio.run(browse, url)
    # The code exchange and ONE refresh, however many workers and calls saw it expire.
    assert tenant.sandbox.served.statuses("requestToken") == {200: 2}


def follow_in_the_browser(url: str) -> bool:
    """``webbrowser.open`` of a test: the sandbox approves, the redirect hits the loopback."""
    with httpx.Client(trust_env=False, follow_redirects=True, timeout=30) as browser:
        page = browser.get(url)
    assert page.status_code == 200, page.text
    assert "You can close this window" in page.text
    return True


@check("Sign-in for terminals, notebooks and desktop apps")
def _native_sign_in(block: Block, tenant: Tenant, capsys: Any, monkeypatch: Any) -> None:
    import webbrowser

    opened: list[str] = []

    def system_browser(url: str) -> bool:
        opened.append(url)
        return follow_in_the_browser(url)

    monkeypatch.setattr(webbrowser, "open", system_browser)
    run_program(block, tenant)
    assert capsys.readouterr().out == f"{TEST_USER_EMAIL}\n"
    [url] = opened
    assert httpx.URL(url).params["redirect_uri"].startswith("http://127.0.0.1:")


@check("Sign-in for terminals, notebooks and desktop apps", 2)
def _native_sign_in_stored(block: Block, tenant: Tenant, capsys: Any, monkeypatch: Any) -> None:
    import keyring
    from keyring.backends import fail

    from intelliauth_ext import AuthorizationCodeFlow, FileTokenSetStore

    # No keyring here: the store is the file in the (test's) config folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tenant.folder / "config"))
    no_keyring = fail.Keyring()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(keyring, "get_keyring", lambda: no_keyring)

    async def earlier_run() -> None:  # the first run signed in and stored the session
        flow = AuthorizationCodeFlow(
            tenant.url,
            tenant.native_client_id,
            NATIVE_CALLBACK,
            ["openid", "profile", "offline_access", "users:read"],
        )
        tokens = await flow.sign_in_with_browser(
            open_browser=lambda url: anyio.to_thread.run_sync(follow_in_the_browser, url)
        )
        due = attrs.evolve(tokens, expires_at=time.time() - 1)  # refreshed by this run
        await FileTokenSetStore().save("ada", due)

    anyio.run(earlier_run)
    path = FileTokenSetStore().path_for("ada")
    before = json.loads(path.read_text())
    run_program(block, tenant)
    assert capsys.readouterr().out == f"{TEST_USER_EMAIL}\n"  # no sign-in: no URL printed
    after = json.loads(path.read_text())
    assert after["refresh_token"] != before["refresh_token"]  # the rotation was written back


@check("MFA sign-in")
def _mfa_sign_in(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)  # it serves a sandbox of its own
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "['totp']"
    assert lines[1].startswith("grace@example.com TokenSet(access_token='[REDACTED]'")
    assert lines[2] == "False"  # the revoked refresh token took its access token with it


@check("Verifying tokens in your own API")
def _verifying_tokens(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    app = load_module(block, tenant)["app"]

    async def call() -> None:
        good = await tenant.token("users:read", audience=API_AUDIENCE)
        short = await tenant.token("groups:read", audience=API_AUDIENCE)
        other = await tenant.token("users:read", audience="https://api.other.example")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            answer = await api.get("/users", headers={"Authorization": f"Bearer {good}"})
            assert answer.json() == {"caller": tenant.sandbox.client_id, "scopes": ["users:read"]}
            scope = await api.get("/users", headers={"Authorization": f"Bearer {short}"})
            assert (scope.status_code, scope.json()["check"]) == (403, "scope")
            audience = await api.get("/users", headers={"Authorization": f"Bearer {other}"})
            assert (audience.status_code, audience.json()["check"]) == (401, "audience")
            assert (await api.get("/users")).status_code == 401

    anyio.run(call)


@check("Pagination")
def _pagination(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == tenant.sandbox.test_user["id"]  # every user: the sandbox has one
    assert out[1].startswith("[User(id=")  # the first page's items, its cursor, has_next
    assert out[1].endswith(" None False")
    assert out[2] == "1"  # .pages(): one page of one user


@check("Pagination", 2)
def _paginate(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)
    assert capsys.readouterr().out == f"{TEST_USER_EMAIL}\n"


@check("Timeouts and cancellation")
def _timeouts(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_program(block, tenant)
    assert capsys.readouterr().out.splitlines() == ["queued", "completed"]  # one row: one poll


@check("Response size limits")
def _size_limits(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)  # with_options accepts the limit (a typo would raise)
    assert capsys.readouterr().out == ""


@check("FastAPI")
def _fastapi(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    app = load_module(block, tenant)["app"]
    body, signature = signed_user_created()

    async def call() -> None:
        token = await tenant.token("users:read", audience=API_AUDIENCE)
        async with serve_asgi(app) as url, httpx.AsyncClient(trust_env=False) as http:
            users = await http.get(f"{url}/users", headers={"Authorization": f"Bearer {token}"})
            assert users.json() == {"caller": tenant.sandbox.client_id, "users": [TEST_USER_EMAIL]}
            hook = await http.post(f"{url}/hooks/intelliauth", content=body, headers=signature)
            assert hook.status_code == 204
            forged = await http.post(f"{url}/hooks/intelliauth", content=body + b" ")
            assert forged.status_code == 400

    anyio.run(call)
    assert capsys.readouterr().out.startswith("user.created evt_")


@check("aiohttp")
def _aiohttp(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    app = load_module(block, tenant)["app"]
    body, signature = signed_user_created()

    async def call() -> None:
        token = await tenant.token("users:read", audience=API_AUDIENCE)
        async with serve_aiohttp(app) as url, httpx.AsyncClient(trust_env=False) as http:
            users = await http.get(f"{url}/users", headers={"Authorization": f"Bearer {token}"})
            assert users.json() == {"caller": tenant.sandbox.client_id, "users": [TEST_USER_EMAIL]}
            hook = await http.post(f"{url}/hooks/intelliauth", content=body, headers=signature)
            assert hook.status_code == 204
            assert (await http.get(f"{url}/users")).status_code == 401

    anyio.run(call)
    assert capsys.readouterr().out.startswith("user.created evt_")


@check("Receiving webhooks")
def _receiving_webhooks(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    app = load_module(block, tenant)["app"]
    body, signature = signed_user_created()

    async def deliver() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            accepted = await http.post("/hooks/intelliauth", content=body, headers=signature)
            tampered = await http.post("/hooks/intelliauth", content=body + b" ", headers=signature)
            unsigned = await http.post("/hooks/intelliauth", content=body)
        assert accepted.status_code == 204
        assert (tampered.status_code, tampered.text) == (400, "refused: signature")
        assert (unsigned.status_code, unsigned.text) == (400, "refused: header")

    anyio.run(deliver)
    assert capsys.readouterr().out.strip() == "welcome anita@cymmetri.com"


@check("In your tests")
def _in_process_tests(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_pytest(block, tenant)


@check("In your tests", 2)
def _served_sandbox(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)  # it serves a sandbox of its own
    url, client_id, secret = capsys.readouterr().out.split()
    assert url.startswith("http://127.0.0.1:")
    assert client_id
    assert secret


@check("The FAPI 2.0 setting")
def _fapi_sandbox(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_snippet(block, tenant)  # it serves a FAPI sandbox of its own
    assert capsys.readouterr().out.strip() == f"{TEST_USER_EMAIL} {{400: 1, 200: 1}}"


@check("The pytest plugin")
def _pytest_plugin(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_pytest(block, tenant)


@check("SMS and email codes: the outbox")
def _outbox(block: Block, tenant: Tenant, capsys: Any, _: Any) -> None:
    run_pytest(block, tenant)


# ---------------------------------------------------------------------------- the tests


def test_every_block_runs_or_says_why_not() -> None:
    """Each python block has a check here or a ``not run`` marker, never both, never none."""
    marked = {key for key, block in BLOCKS.items() if block.not_run is not None}
    unaccounted = set(BLOCKS) - marked - set(CHECKS)
    assert not unaccounted, f"blocks neither run nor marked: {sorted(unaccounted)}"
    assert not (marked & set(CHECKS)), f"marked yet checked: {sorted(marked & set(CHECKS))}"
    stale = set(CHECKS) - set(BLOCKS)
    assert not stale, f"checks of blocks that are gone (renamed heading?): {sorted(stale)}"
    assert all(BLOCKS[key].not_run for key in marked)  # every marker gives its reason
    print(f"{len(BLOCKS)} python blocks: {len(CHECKS)} run, {len(marked)} marked not run")


def test_the_first_screen_shows_the_two_commands() -> None:
    """make demo and make test are the first commands a reader sees."""
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```console\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_the_block_runs_against_the_sandbox(
    key: str,
    tenant: Tenant,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The block runs as written (after the rule's substitutions) and does what it says."""
    CHECKS[key](BLOCKS[key], tenant, capsys, monkeypatch)
