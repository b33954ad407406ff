"""Upload mode, the examples list, error messages, keyboard use and a phone-sized
viewport, in real Chromium against the real app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import HELLO, PageEnv, skip_reason

_reason = skip_reason()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)

PHONE = (390, 844)
# Roles that a person operates: each needs an accessible name.
CONTROL_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "link",
    "menuitem",
    "radio",
    "slider",
    "spinbutton",
    "switch",
    "tab",
    "textbox",
}


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth"
            " && document.body.scrollWidth <= window.innerWidth"
        )
    )


def unnamed_controls(page: Any) -> list[str]:
    """Controls in the accessibility tree (Chromium's own computation) without a name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    out = []
    for n in nodes:
        if n.get("ignored"):
            continue
        role = (n.get("role") or {}).get("value")
        name = str((n.get("name") or {}).get("value") or "").strip()
        if role in CONTROL_ROLES and not name:
            out.append(f"{role} (node {n.get('backendDOMNodeId')})")
    return out


def test_upload_mode_recognizes_hello_on_a_phone(
    open_page: Callable[..., PageEnv], videos_dir: Path
) -> None:
    """The clip through the page's file picker -> hello on top, with bars and timings;
    at 390x844 without horizontal scroll; every request to the server."""
    env = open_page("/", viewport=PHONE)
    page, traffic, server = env.page, env.traffic, env.server
    assert page.is_disabled("#recognize")
    page.set_input_files("#file-input", str(videos_dir / HELLO))
    assert HELLO in page.inner_text("#file-name")
    assert page.is_visible("#preview")
    page.click("#recognize")
    page.wait_for_selector("#result:not([hidden])", timeout=90_000)

    labels = page.locator("#topk li .label").all_inner_texts()
    assert labels[0] == "hello"
    assert len(labels) == 5
    assert page.inner_text("#result-word").startswith("hello")
    widths = page.eval_on_selector_all("#topk .bar span", "els => els.map(e => e.style.width)")
    assert float(widths[0].rstrip("%")) > float(widths[-1].rstrip("%"))
    timings = page.inner_text("#timings")
    assert "Landmarks (MediaPipe Holistic)" in timings and "Model" in timings
    assert page.inner_text("#upload-error") == "" and page.is_hidden("#upload-error")
    assert no_horizontal_scroll(page)
    assert not [c for c in traffic.console if c.startswith(("pageerror", "error"))], traffic.console

    # Network: one POST to /v1/recognize, everything to the server, no WebSocket.
    assert traffic.foreign(server) == [], traffic.foreign(server)
    assert traffic.websockets == []
    posts = [u for m, u in traffic.requests if m == "POST"]
    assert posts == [f"{server.url}/v1/recognize?top_k=5"]


def test_upload_errors_show_the_servers_message(
    open_page: Callable[..., PageEnv], tmp_path: Path
) -> None:
    env = open_page("/")
    page = env.page
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video\n" * 20)
    page.set_input_files("#file-input", str(bogus))
    page.click("#recognize")
    page.wait_for_selector("#upload-error:not([hidden])", timeout=30_000)
    text = page.inner_text("#upload-error")
    # The JSON error's message and code, as the server wrote them.
    assert text.startswith("Could not recognize this clip:")
    assert "(unsupported_media)" in text or "(undecodable_media)" in text, text
    assert page.get_attribute("#upload-error", "role") == "alert"
    assert page.is_hidden("#result")
    assert page.is_enabled("#recognize")


def test_examples_load_a_clip_into_the_upload_form(open_page: Callable[..., PageEnv]) -> None:
    env = open_page("/#examples")
    page = env.page
    assert page.is_visible("#panel-examples")
    button = page.get_by_role("button", name=f"Load the example hello ({HELLO})")
    button.wait_for(timeout=30_000)
    assert page.locator("#examples li").count() >= 10
    button.click()
    page.wait_for_selector("#panel-upload:not([hidden])")
    assert HELLO in page.inner_text("#file-name")
    assert page.is_enabled("#recognize")
    # Focus moved to the next action, so a keyboard user can press Enter.
    assert page.evaluate("() => document.activeElement.id") == "recognize"
    assert page.get_attribute("#tab-upload", "aria-selected") == "true"


def test_keyboard_and_accessible_names(open_page: Callable[..., PageEnv]) -> None:
    """Tabs work from the keyboard; every control in every panel has an accessible name;
    no panel scrolls sideways at 390x844; results are announced (aria-live)."""
    env = open_page("/", viewport=PHONE)
    page = env.page
    page.wait_for_selector("#examples li", state="attached")
    page.focus("#tab-upload")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-live", "aria-selected") == "true"
    assert page.is_visible("#panel-live") and page.is_hidden("#panel-upload")
    assert page.evaluate("() => document.activeElement.id") == "tab-live"
    page.keyboard.press("End")
    assert page.get_attribute("#tab-examples", "aria-selected") == "true"
    page.keyboard.press("Home")
    assert page.get_attribute("#tab-upload", "aria-selected") == "true"
    # Tab into the panel and reach the file picker with the keyboard alone.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "file-input"

    for tab in ("#tab-upload", "#tab-live", "#tab-examples"):
        page.click(tab)
        assert unnamed_controls(page) == [], tab
        assert no_horizontal_scroll(page), tab
    assert page.get_attribute("#transcript", "aria-live") == "polite"
    assert page.get_attribute("#result-live", "aria-live") == "polite"
    assert page.get_attribute("#file-input", "id") == page.get_attribute(
        "label[for=file-input]", "for"
    )
