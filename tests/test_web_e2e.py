"""The web app in a real browser: Debian's headless Chromium driven by Playwright, against a live server (one server
and one browser for the module). Screenshots are kept under test-artifacts/ (CI keeps them as artifacts);
`SPYGLASS_SCREENSHOTS=1` also refreshes the small ones of the main views in docs/screenshots/ (docs/web.md)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright

from serverutil import ALICE_WORD, BOB_WORD, PASSWORD, LiveServer, build_team_home  # noqa: E402
from webutil import build_web_home  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DOC_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/bootstrap.sh "
                                                          "installs it when run as root)")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    home, root = build_web_home(tmp_path_factory.mktemp("web"))
    with LiveServer(home) as s:
        s.root = root
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


def shot(page, name: str, doc: str | None = None) -> None:
    """A full-page screenshot into test-artifacts/; with ``doc`` and SPYGLASS_SCREENSHOTS=1, also the visible part,
    scaled to 960 px wide in 128 colours, as docs/screenshots/<doc>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if doc and os.environ.get("SPYGLASS_SCREENSHOTS") == "1":
        import io

        from PIL import Image

        im = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        w = min(960, im.width)
        im = im.resize((w, round(im.height * w / im.width)), Image.LANCZOS)
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        im.quantize(128, method=Image.Quantize.MEDIANCUT).save(DOC_SHOTS / f"{doc}.png", optimize=True)


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _loaded(img) -> bool:
    return img.evaluate("i => i.complete && i.naturalWidth > 0")


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
    shot(page, "03-preview", doc="preview")
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
    page.wait_for_selector("#suggestions li")
    page.keyboard.press("Escape")  # closes the suggestions, keeps the search
    expect(page.locator("#suggestions")).to_be_hidden()
    expect(page.locator("#results li")).to_have_count(1)
    shot(page, "05-mobile", doc="mobile")
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
    shot(page, "07-topics-view", doc="topics")
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
    page.click("#home-button")
    page.wait_for_selector("#home:not([hidden])")
    expect(page.locator("#suggested .card-file .c-title").first).to_have_text("bob-draft.txt")
    shot(page, "08-suggested")
    assert ALICE_WORD not in page.content()
    assert not errors, errors


def test_admin_reviews_applies_and_undoes_an_organize_plan(tmp_path, browser):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import load_config

    home, root = build_team_home(tmp_path, embeddings=False)
    text = "Minutes of the steering group: the zebra project budget is approved for next year."
    (root / "minutes.txt").write_text(text)
    (root / "minutes-copy.txt").write_text(text)
    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    cfg = load_config(home / "config.toml")
    cfg.server.timeout_s = 3.0  # a request over 3 s would end in a 504
    with LiveServer(home, cfg) as live:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        login(page, live, "alice")
        expect(page.locator("#organize-button")).to_be_hidden()  # members do not move files
        page.click("#logout")
        login(page, live, "admin")
        page.click("#organize-button")
        busy = live.state._writer_busy  # another job (a re-index) holds the writer: the plan waits its turn
        busy.acquire()
        try:
            posted = lambda r: r.url.endswith("/api/organize/plans") and r.request.method == "POST"  # noqa: E731
            with page.expect_response(posted) as made:
                page.click("#plan-make")
            assert made.value.status == 202  # a job: the request does not wait for the plan
            expect(page.locator("#plan-progress")).to_contain_text("Waiting for another job")
            expect(page.locator("#plan-progress progress")).to_be_visible()
            page.wait_for_timeout(4000)  # longer than a request may take
            shot(page, "organize-progress", doc="organize-progress")
        finally:
            busy.release()
        page.wait_for_selector("ul.plan li")
        expect(page.locator("#plan-progress")).to_have_count(0)
        items = page.locator("ul.plan li")
        texts = [items.nth(i).inner_text() for i in range(items.count())]
        move = next(i for i, t in enumerate(texts) if t.strip().startswith("move") and "minutes" in t)
        for i in range(items.count()):  # keep only the duplicate's move
            if i != move:
                items.nth(i).locator("input").uncheck()
        shot(page, "organize-plan-review", doc="organize-plan")
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
    photo = page.locator("#recent .card-file", has_text="alice-photo.png").locator(".thumb img")
    expect(photo).to_have_js_property("complete", True)  # her private photo's thumbnail, on her landing page
    assert _loaded(photo)
    question = f"What is the {ALICE_WORD} budget?"
    page.fill("#q", question)
    page.wait_for_selector("#results .r-title:has-text('Budget')")
    page.click("#ask-button")
    page.wait_for_selector("#answer .citations a")
    page.locator("#results li", has_text="alice-diary.txt").click()
    page.wait_for_selector(f"#preview-body:has-text('{ALICE_WORD}')")
    page.evaluate("() => { window.__lastUser = 'alice' }")  # a JS variable of alice's page
    secrets = [ALICE_WORD, "alice-diary", "alice-photo", "Budget", question]
    assert _page_leaks(page, ctx, secrets)  # the check sees alice's data while she is logged in
    page.click("#logout")
    page.wait_for_selector("#login-view:not([hidden])")
    assert _page_leaks(page, ctx, secrets) == []
    assert page.evaluate("() => window.__lastUser === undefined"), "the page's JS state outlived the logout"
    assert any("/thumbnail" in u for u in fetched)
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


# -- 14.10: the web app as a product ------------------------------------------------------------------------------
def test_landing_page_shows_suggested_and_recent_files_with_thumbnails(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _errors(page)
    login(page, live, "alice")
    page.wait_for_selector("#home:not([hidden]) #recent .card-file")
    cards = page.locator("#recent .card-file")
    titles = cards.locator(".c-title").all_inner_texts()
    assert {"alice-photo.png", "Ferry timetable", "alice-diary.txt"} <= set(titles), titles
    for title in ("alice-photo.png", "Ferry timetable"):  # an image and a PDF's first page, as pictures
        img = cards.filter(has_text=title).locator(".thumb img")
        expect(img).to_have_count(1)
        expect(img).to_have_js_property("complete", True)
        assert _loaded(img), title
    diary = cards.filter(has_text="alice-diary.txt")
    expect(diary.locator(".kind")).to_have_text("txt")  # no picture: a tile with the kind
    path = diary.locator(".c-path")
    expect(path).to_have_text("team/alice-diary.txt")  # folder + name, the whole path on hover
    assert path.get_attribute("title") == str(live.root / "alice-diary.txt")
    expect(page.locator("#coverage")).to_contain_text("items indexed")
    expect(page.locator("#coverage")).to_contain_text("semantic search is not built")
    expect(page.locator("#filters")).to_be_hidden()  # filters narrow a search; the landing page has none
    shot(page, "09-home", doc="home")
    cards.filter(has_text="Ferry timetable").click()
    expect(page.locator("#preview-title")).to_have_text("Ferry timetable")
    page.keyboard.press("Escape")
    page.fill("#q", "zebra")  # a search replaces the landing page; emptying the box brings it back
    page.wait_for_selector("#results li")
    expect(page.locator("#home")).to_be_hidden()
    page.fill("#q", "")
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator("#results li")).to_have_count(0)
    page.close()

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, live, "bob")
    page.wait_for_selector("#recent .card-file")
    text = page.locator("#home").inner_text()
    assert "alice" not in text and ALICE_WORD not in text and "bob-draft.txt" in text
    page.close()
    assert not errors, errors


def _status_answer(body: dict):
    def fulfill(route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    return fulfill


def test_coverage_is_shown_and_missing_status_fields_leave_the_page_working(live, browser):
    """/api/status as an index with embeddings in progress reports it, and as an older or reduced server might
    (fields missing, or an error): the landing page shows what there is and keeps working."""
    answers = {
        "full": {"documents": 2500, "semantic": {"model": "minilm", "coverage": 0.4237, "pending_passages": 1200,
                                                 "embedded_passages": 880}, "last_run": {"finished": 1.7e9}},
        "empty": {},
        "odd": {"documents": "many", "semantic": None, "last_run": 5},
    }
    for name, body in answers.items():
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        errors = _errors(page)
        page.route("**/api/status", _status_answer(body))
        login(page, live, "alice")
        page.wait_for_selector("#recent .card-file")
        cov = page.locator("#coverage")
        if name == "full":
            expect(cov).to_contain_text("2,500 items indexed")
            expect(cov).to_contain_text("semantic search covers 42.3% of the text (1,200 passages still to embed)")
            expect(cov.locator("meter")).to_have_attribute("value", "0.4237")
            shot(page, "10-coverage")
        else:
            expect(cov).to_be_hidden()
        page.fill("#q", "zebra")
        page.wait_for_selector("#results li")
        assert not errors, (name, errors)
        ctx.close()
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = _errors(page)
    page.route("**/api/status", lambda route: route.fulfill(status=500, body="boom"))
    login(page, live, "alice")
    page.wait_for_selector("#recent .card-file")
    expect(page.locator("#coverage")).to_be_hidden()
    assert not errors, errors
    ctx.close()


def test_results_show_short_paths_facet_badges_and_topic_names(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _errors(page)
    login(page, live, "alice")
    page.fill("#q", "zebra")
    page.wait_for_selector("#results .r-title:has-text('public-plan.txt')")
    hit = page.locator("#results li", has_text="public-plan.txt")
    path = hit.locator(".meta .path")
    expect(path).to_have_text("team/public-plan.txt")
    assert path.get_attribute("title") == str(live.root / "public-plan.txt")
    ferry = page.locator("#results li", has_text="Ferry timetable").locator(".thumb img")
    expect(ferry).to_have_js_property("complete", True)
    assert _loaded(ferry)  # a PDF hit shows its first page

    text = page.locator("#facets label").filter(has=page.locator("#f-type-text"))
    name, badge = text.locator(".f-name"), text.locator(".badge")
    expect(name).to_have_text("text")
    expect(badge).to_have_text("4")  # the count is its own badge, not "text4"
    nb, bb = name.bounding_box(), badge.bounding_box()
    assert bb["x"] - (nb["x"] + nb["width"]) > 4
    style = badge.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderRadius]")
    assert style[0] not in ("rgba(0, 0, 0, 0)", "transparent") and style[1] != "0px", style
    year = page.locator("#facets label").filter(has=page.locator("#f-year-2024"))
    expect(year.locator(".f-name")).to_have_text("2024")
    expect(year.locator(".badge")).to_have_text("1")

    topic = page.locator("#facets label").filter(has=page.locator("#f-topic-3"))
    expect(topic.locator(".f-name")).to_contain_text("harbour")  # the topic's name, not "topic 3"
    assert "topic 3" not in topic.inner_text() and topic.get_attribute("title").startswith("topic 3:")
    page.wait_for_selector("#suggestions li")
    page.keyboard.press("Escape")  # the suggestions close; the results stay
    expect(page.locator("#suggestions")).to_be_hidden()
    shot(page, "11-results", doc="results")
    page.locator("#f-topic-3").check()
    expect(page.locator("#results li")).to_have_count(5)  # the mail message is in no topic
    assert "Budget" not in page.locator("#results").inner_text()
    page.close()
    assert not errors, errors


def test_the_preview_wraps_long_lines(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, live, "alice")
    page.fill("#q", "never breaks")
    page.locator("#results li", has_text="long-line.txt").click()
    page.wait_for_selector("#preview-body:has-text('longlinexxx')")
    widths = page.locator("#preview").evaluate(
        "p => [p.scrollWidth, p.clientWidth, p.querySelector('#preview-body p').getBoundingClientRect().right,"
        " p.getBoundingClientRect().right]")
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    page.set_viewport_size({"width": 390, "height": 844})
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths  # the page itself does not scroll sideways on a phone
    shot(page, "12-preview-long-line")
    page.close()


def test_escape_closes_the_dropdown_not_the_search(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, live, "alice")
    page.type("#q", "zebra", delay=40)
    page.wait_for_selector("#suggestions li")
    page.wait_for_selector("#results li")
    n = page.locator("#results li").count()
    shot(page, "13-autocomplete", doc="autocomplete")
    page.keyboard.press("Escape")
    expect(page.locator("#suggestions")).to_be_hidden()
    expect(page.locator("#q")).to_have_value("zebra")  # the search stays, with its results
    expect(page.locator("#q")).to_be_focused()
    page.wait_for_timeout(300)
    expect(page.locator("#results li")).to_have_count(n)
    expect(page.locator("#q")).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")  # to the results, and a preview; Escape closes the preview only
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview:not([hidden])")
    page.focus("#q")
    page.keyboard.press("Escape")
    expect(page.locator("#preview")).to_be_hidden()
    expect(page.locator("#q")).to_have_value("zebra")
    page.close()


def test_the_answer_can_be_dismissed_and_a_new_search_clears_it(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _errors(page)
    login(page, live, "alice")
    page.fill("#q", "How big is the harbour bridge budget?")
    page.click("#ask-button")
    page.wait_for_selector("#answer .citations a")
    page.wait_for_timeout(400)  # the search of the same words, typed before Ask, keeps the answer
    expect(page.locator("#answer")).to_be_visible()
    shot(page, "14-answer", doc="answer")
    page.click("#answer-close")
    expect(page.locator("#answer")).to_be_hidden()
    expect(page.locator("#q")).to_be_focused()
    page.click("#ask-button")
    page.wait_for_selector("#answer .citations a")
    page.fill("#q", "handbook")  # a new search: the answer to the last question goes
    page.wait_for_selector("#results .r-title:has-text('team-handbook.txt')")
    expect(page.locator("#answer")).to_be_hidden()
    assert page.locator("#answer-body").inner_text() == ""
    page.close()
    assert not errors, errors


def test_autocomplete_prefers_titles_over_hash_named_data_files(live, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, live, "bob")
    page.type("#q", "miles", delay=40)
    page.wait_for_selector("#suggestions li")
    expect(page.locator("#suggestions li .s-title").first).to_have_text("Harbour office plans")
    expect(page.locator("#suggestions li .s-path").first).to_have_text("notes/office-plans.md")
    page.close()
