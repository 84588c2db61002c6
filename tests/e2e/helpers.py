"""Small Playwright helpers for the Gradio page."""

from __future__ import annotations

import time


def open_page(browser, url: str, width: int = 1280, height: int = 900, *, settled: bool = False):
    """A fresh browser context (its own identity cookie) with the app loaded; returns both.

    `settled`: also wait for the page's load events (restoring, the person's own slider values)
    to be answered. The prompt box shows ~1.5 s before they are even sent, and a value typed
    before their answer arrives is overwritten by it."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(120_000)
    calls = _ApiCalls(page) if settled else None
    page.goto(url)
    page.wait_for_selector("#text-prompt textarea")
    if calls is not None:
        calls.wait_settled()
    return context, page


class _ApiCalls:
    """Counts the page's Gradio API calls in flight (the heartbeat's stream aside, which stays
    open: why Playwright's "networkidle" never comes)."""

    QUIET_MS = 400  # chained load events (.then) start within ~50 ms of the previous answer

    def __init__(self, page) -> None:
        self.page, self.started, self.open = page, 0, 0
        page.on("request", lambda r: self._count(r, +1))
        page.on("requestfinished", lambda r: self._count(r, -1))
        page.on("requestfailed", lambda r: self._count(r, -1))

    def _count(self, request, step: int) -> None:
        if "/gradio_api/" in request.url and "/heartbeat/" not in request.url:
            self.open += step
            self.started += max(step, 0)

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        deadline, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)  # lets Playwright deliver the request events
            if self.started == 0 or self.open > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif (time.monotonic() - quiet_since) * 1000 >= self.QUIET_MS:
                return
        raise AssertionError(f"the page's load events did not settle: {self.started} calls made, {self.open} still open")


def set_number(page, elem_id: str, value: float, attempts: int = 3) -> None:
    """Type into the number box of a Slider or Number component.

    A Slider whose accordion has just opened mounts with its value and is given it once more a
    few milliseconds later, which overwrites a number typed in between (a person is never that
    fast; a test is), and the next request goes out with the old value. So check, after a short
    settle, that the box and the Slider's track (moved only by the component's value) both show
    the number, and type again if not.
    """
    box = page.locator(f"#{elem_id} input[type=number]")
    track = page.locator(f"#{elem_id} input[type=range]")
    for _ in range(attempts):
        box.fill(str(value))
        box.press("Enter")
        if track.count() == 0:  # a Number: no track to check
            return
        page.wait_for_timeout(300)
        if float(box.input_value()) == value and float(track.input_value()) == value:
            return
    raise AssertionError(f"#{elem_id} did not keep the value {value} in {attempts} attempts")


def pick(page, elem_id: str, label: str) -> None:
    """Click the radio choice with this label in the component `elem_id`."""
    page.locator(f"#{elem_id} label").filter(has_text=label).first.click()


def wait_saved(page, elem_id: str, text: str = "Saved") -> str:
    page.wait_for_function(
        "([id, text]) => (document.querySelector('#' + id)?.innerText || '').includes(text)",
        arg=[elem_id, text],
    )
    return page.inner_text(f"#{elem_id}")


def watch_text_stream(page, elem_id: str, status_id: str, timeout_s: float = 240) -> list[str]:
    """Sample a streaming textarea until the status says Done; return the distinct values seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.input_value(f"#{elem_id} textarea")
        if value and (not seen or seen[-1] != value):
            seen.append(value)
        if "Done" in page.inner_text(f"#{status_id}"):
            final = page.input_value(f"#{elem_id} textarea")
            if final != (seen[-1] if seen else None):
                seen.append(final)
            return seen
        page.wait_for_timeout(50)
    raise TimeoutError(f"generation did not finish in {timeout_s} s; saw {seen[-1:]!r}")


def wait_done(page, status_id: str, timeout_ms: int = 240_000) -> None:
    page.wait_for_function(
        "id => (document.querySelector('#' + id)?.innerText || '').includes('Done')",
        arg=status_id,
        timeout=timeout_ms,
    )


# Records whether `selector` was ever on the page and visible: a progress bar can come and go
# between two polls when the machine is fast, so waiting for it to be visible now would be a race.
WATCH_JS = """selector => {
    window.__appeared = window.__appeared || {};
    const look = () => {
        const element = document.querySelector(selector);
        if (element && element.getClientRects().length > 0) window.__appeared[selector] = true;
    };
    window.__appeared[selector] = false;
    look();
    new MutationObserver(look).observe(document.body, {childList: true, subtree: true, attributes: true});
}"""


def watch_for(page, selector: str) -> None:
    """Start recording whether `selector` shows; call before the click that should show it."""
    page.evaluate(WATCH_JS, selector)


def wait_appeared_or_explain(page, selector: str, status_id: str, timeout_ms: int = 120_000) -> None:
    """Wait until `selector` has shown at least once since `watch_for`; if it never did, fail with
    what the page's status said and where the app's threads were (the test app runs in this
    process), so a slow or stuck generation on a CI machine can be told apart from a lost click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("sel => window.__appeared?.[sel] === true", arg=selector, timeout=timeout_ms)
    except PlaywrightTimeout:
        status = page.evaluate("id => document.querySelector('#' + id)?.innerText ?? '(not on the page)'", status_id)
        raise AssertionError(
            f"{selector} did not show in {timeout_ms / 1000:.0f} s; #{status_id} said {status!r}\n{_thread_stacks()}"
        ) from None


def _thread_stacks() -> str:
    """The stacks of the threads running Playground's code (idle server threads left out)."""
    import sys
    import threading
    import traceback

    ours = ("/playground/", "/models/", "/feedback_db/")
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    stacks = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.format_stack(frame)
        if any(part in line for line in stack for part in ours):
            stacks.append(f"--- thread {names.get(ident, ident)}\n{''.join(stack[-12:])}")
    return "\n".join(stacks) or "(no thread was running Playground's code)"
