"""The web app in a real browser: Debian's headless Chromium driven by Playwright, against a live server.
Screenshots are kept under test-artifacts/ (CI keeps them as artifacts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright

from serverutil import ALICE_WORD, BOB_WORD, PASSWORD, LiveServer, build_team_home  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/bootstrap.sh "
                                                          "installs it when run as root)")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    home, _ = build_team_home(tmp_path_factory.mktemp("web"), embeddings=False)
    with LiveServer(home) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def login(page, live, user: str) -> None:
    page.goto(live.url + "/")
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#app-view:not([hidden])")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_login_search_as_you_type_facets_and_preview(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live.url + "/")
    page.wait_for_selector("#login-view:not([hidden])")
    page.fill("#login-user", "alice")
    page.fill("#login-password", "wrong password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#login-error:has-text('wrong')")
    shot(page, "01-login-error")

    page.fill("#login-password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#app-view:not([hidden])")
    page.type("#q", "zebra", delay=30)  # search as you type: no Enter
    page.wait_for_selector("#results li")
    titles = page.locator("#results .r-title").all_inner_texts()
    assert "alice-diary.txt" in titles and "bob-draft.txt" not in titles
    assert page.locator("#results .snippet b").first.inner_text().lower() == "zebra"  # highlighted
    assert page.locator(".facet h3").first.inner_text()  # facets shown
    shot(page, "02-results")

    # filter by a facet value: the mail type
    page.fill("#q", ALICE_WORD)
    page.wait_for_selector("#results li")
    email_box = page.locator("#facets input[id='f-type-email']")
    email_box.check()
    expect(page.locator("#results li")).to_have_count(1)  # (the page's CSP forbids wait_for_function's eval)
    assert "Budget" in page.locator("#results .r-title").first.inner_text()
    email_box.uncheck()

    # keyboard only: from the box to the first result, open its preview, close it with Escape
    page.fill("#q", "zebra project")
    page.wait_for_selector("#results .r-title:has-text('public-plan.txt')")  # this query's results
    page.focus("#q")
    page.keyboard.press("Enter")  # search now, close the suggestions
    page.keyboard.press("ArrowDown")  # to the first result
    expect(page.locator("#results li").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview:not([hidden])")
    shot(page, "03-preview")
    assert page.locator("#preview-body mark").count() >= 1
    page.keyboard.press("Escape")
    page.wait_for_selector("#preview", state="hidden")
    assert not errors, errors


def test_autocomplete_and_other_users_words(live, browser):
    page = browser.new_page()
    login(page, live, "bob")
    page.type("#q", "mar", delay=40)
    page.wait_for_selector("#suggestions li")
    assert any("bob-draft" in t for t in page.locator("#suggestions li").all_inner_texts())
    shot(page, "04-autocomplete")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview:not([hidden])")
    assert BOB_WORD in page.locator("#preview-body").inner_text()
    page.keyboard.press("Escape")
    page.fill("#q", ALICE_WORD)
    page.wait_for_selector("#summary:has-text('0 results')")
    assert ALICE_WORD not in page.locator("#results").inner_text()
    page.fill("#q", "xylo")
    page.wait_for_timeout(500)
    assert page.locator("#suggestions li").count() == 0


def test_narrow_screen_layout_and_logout(live, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, live, "alice")
    page.type("#q", "handbook", delay=20)
    page.wait_for_selector("#results li")
    box = page.locator("#results li").first.bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "05-mobile")
    page.click("#logout")
    page.wait_for_selector("#login-view:not([hidden])")


def test_ask_panel_streams_an_answer_with_clickable_citations(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, live, "alice")
    page.fill("#q", "How big is the harbour bridge budget?")
    page.click("#ask-button")
    page.wait_for_selector("#answer .citations a")
    assert "harbour" in page.locator("#answer .citations").inner_text()
    shot(page, "06-answer")
    page.locator("#answer a.cite").first.click()
    page.wait_for_selector("#preview:not([hidden])")
    assert "public-plan.txt" in page.locator("#preview-title").inner_text()


def test_tags_in_the_preview_and_the_topics_and_duplicates_views(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, live, "alice")
    page.fill("#q", "zebra")
    page.wait_for_selector("#results .r-title:has-text('alice-diary.txt')")
    page.locator("#results li", has_text="alice-diary.txt").click()
    page.wait_for_selector("#preview:not([hidden])")
    page.fill("#tag-input", "Personal Notes")
    page.keyboard.press("Enter")
    expect(page.locator("#preview-tags .tag")).to_have_text(["personal-notes✕"])
    shot(page, "06-preview-tags")
    page.locator("#preview-tags button[aria-label='Remove tag personal-notes']").click()
    expect(page.locator("#preview-tags .tag")).to_have_count(0)
    page.keyboard.press("Escape")

    page.click("#dups-button")
    page.wait_for_selector("#view:not([hidden]) h2:has-text('Duplicates')")
    assert BOB_WORD not in page.content()
    page.click("#topics-button")
    page.wait_for_selector("#view:not([hidden]) h2:has-text('Topics')")
    shot(page, "07-topics-view")
    page.fill("#q", "zebra")
    page.wait_for_selector("#results li")
    expect(page.locator("#view")).to_be_hidden()
    assert not errors, errors


def test_opening_results_feeds_suggestions(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, live, "bob")
    page.fill("#q", "zebra")
    page.wait_for_selector("#results .r-title:has-text('bob-draft.txt')")
    with page.expect_response(lambda r: "/api/activity" in r.url and r.status == 201):
        page.locator("#results li", has_text="bob-draft.txt").click()
    page.wait_for_selector("#preview:not([hidden])")
    page.keyboard.press("Escape")
    page.click("#suggest-button")
    page.wait_for_selector("#view:not([hidden]) h2:has-text('Suggested')")
    expect(page.locator("#view .file").first).to_have_text("bob-draft.txt")
    shot(page, "08-suggested")
    assert ALICE_WORD not in page.content()
    assert not errors, errors


def test_admin_reviews_applies_and_undoes_an_organize_plan(tmp_path, browser):
    import os

    from spyglass.app.spyglass import Spyglass

    home, root = build_team_home(tmp_path, embeddings=False)
    text = "Minutes of the steering group: the zebra project budget is approved for next year."
    (root / "minutes.txt").write_text(text)
    (root / "minutes-copy.txt").write_text(text)
    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    with LiveServer(home) as live:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        login(page, live, "alice")
        expect(page.locator("#organize-button")).to_be_hidden()  # members do not move files
        page.click("#logout")
        login(page, live, "admin")
        page.click("#organize-button")
        page.click("#plan-make")
        page.wait_for_selector("ul.plan li")
        items = page.locator("ul.plan li")
        texts = [items.nth(i).inner_text() for i in range(items.count())]
        move = next(i for i, t in enumerate(texts) if t.strip().startswith("move") and "minutes" in t)
        for i in range(items.count()):  # keep only the duplicate's move
            if i != move:
                items.nth(i).locator("input").uncheck()
        shot(page, "organize-plan-review")
        page.click("#plan-apply")
        expect(page.locator("#plan-report")).to_contain_text("Done 1")
        moved = [p for p in (root / "_spyglass_duplicates").rglob("*.txt")]
        assert len(moved) == 1 and moved[0].name.startswith("minutes")
        page.click("#plan-undo")
        expect(page.locator("#plan-report")).to_contain_text("Undone 1")
        assert (root / "minutes.txt").exists() and (root / "minutes-copy.txt").exists()
        assert not list(root.glob("_spyglass_duplicates/**/*.txt"))
        assert os.path.exists(root / "public-plan.txt")
        page.close()


# -- 13.14: the page forgets the last user ------------------------------------------------------------------------
def _page_leaks(page, ctx, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` still shows: the DOM, form values, the URL, history state, storage, cookies, the
    Cache API, and the browser's HTTP cache for every URL the previous user fetched."""
    found = []
    html = page.content()
    values = page.locator("input, textarea, select").evaluate_all("els => els.map(e => e.value)")
    storage = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), "
                            "history.state, location.href])")
    cache_api = page.evaluate("async () => window.caches ? (await caches.keys()).join(' ') : ''")
    for s in secrets:
        for where, text in (("DOM", html), ("inputs", " ".join(values)), ("storage/URL/history", storage),
                            ("Cache API", cache_api), ("context", str(ctx.storage_state()))):
            if s.lower() in text.lower():
                found.append(f"{s!r} in {where}")
    return found


def _http_cached(page, urls: list[str]) -> list[str]:
    """The URLs the browser would still answer from its HTTP cache (``only-if-cached``), with their bodies."""
    return page.evaluate("""async (urls) => {
        const out = [];
        for (const u of urls) {
            try {
                const r = await fetch(u, {cache: "only-if-cached", mode: "same-origin"});
                if (r.ok) out.push(u + " " + (await r.text()).slice(0, 200));
            } catch (e) { /* not cached: good */ }
        }
        return out;
    }""", urls)


def test_logout_forgets_everything_of_the_last_user(live, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    fetched: list[str] = []
    page.on("response", lambda r: fetched.append(r.url) if "/api/" in r.url and r.request.method == "GET" else None)
    login(page, live, "alice")
    question = f"What is the {ALICE_WORD} budget?"
    page.fill("#q", question)
    page.wait_for_selector("#results .r-title:has-text('Budget')")
    page.click("#ask-button")
    page.wait_for_selector("#answer .citations a")
    page.locator("#results li", has_text="alice-diary.txt").click()
    page.wait_for_selector(f"#preview-body:has-text('{ALICE_WORD}')")
    page.evaluate("() => { window.__lastUser = 'alice' }")  # a JS variable of alice's page
    secrets = [ALICE_WORD, "alice-diary", "Budget", question]
    assert _page_leaks(page, ctx, secrets)  # the check sees alice's data while she is logged in
    page.click("#logout")
    page.wait_for_selector("#login-view:not([hidden])")
    assert _page_leaks(page, ctx, secrets) == []
    assert page.evaluate("() => window.__lastUser === undefined"), "the page's JS state outlived the logout"
    assert _http_cached(page, sorted(set(fetched))) == []
    login(page, live, "bob")
    assert _page_leaks(page, ctx, secrets) == []
    ctx.close()


def test_a_401_wipes_the_page_like_a_logout(live, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    login(page, live, "alice")
    page.fill("#q", ALICE_WORD)
    page.wait_for_selector("#results .r-title:has-text('Budget')")
    page.locator("#results li").first.click()
    page.wait_for_selector("#preview:not([hidden])")
    sid = next(c["value"] for c in ctx.cookies() if c["name"] == "spyglass_session")
    live.state.accounts.end_session(sid)  # the session ends on the server (expiry, revocation, user removed)
    page.fill("#q", "zebra")  # the next request gets a 401
    page.wait_for_selector("#login-view:not([hidden])")
    assert _page_leaks(page, ctx, [ALICE_WORD, "Budget", "alice-diary"]) == []
    ctx.close()
