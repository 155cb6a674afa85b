"""The web pages in a real headless Chromium, driven by Selenium against a live server.

Skipped locally when chromium, chromedriver or selenium are missing; a failure in CI.
`KB_SCREENSHOTS_DIR=docs/screenshots` saves a screenshot of each page on the way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from .conftest import make_token
from .inventory_samples import SYSTEMINFO_EN
from .test_web import api_publish_ja

# One engine is enough here: the pages' database behaviour is covered on both by test_web.py.
pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    """One headless Chromium for the module; quiet on the network, with a throwaway profile."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need Chromium in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kb-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.implicitly_wait(0)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def live(app: Flask, driver) -> Iterator[str]:
    """The test's app served on a free local port; the browser starts with no cookies."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    driver.set_window_size(*DESKTOP)
    driver.delete_all_cookies()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def wait_for(driver, css: str):
    """The first element matching `css`, once it is there (pages are server-rendered: fast)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 10).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def find(driver, css: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def find_all(driver, css: str) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def shoot(driver, name: str, full_page: bool = True) -> None:
    """Save a screenshot (of the whole page, up to 4000 px) when KB_SCREENSHOTS_DIR is set."""
    folder = os.environ.get("KB_SCREENSHOTS_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    if full_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], min(height + 150, 4000))
    driver.save_screenshot(str(Path(folder) / f"{name}.png"))
    driver.set_window_size(size["width"], size["height"])


def assert_clean_console(driver) -> None:
    """No script errors and no Content-Security-Policy violations (4xx pages are expected)."""
    severe = [
        entry
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and entry["source"] != "network"
    ]
    assert severe == []


def test_search_then_read_in_both_languages(live, driver):
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{live}/?locale=ja")  # Chromium itself asks for English
    assert find(driver, "html").get_attribute("lang") == "ja"
    box = find(driver, "#q")
    box.send_keys("IPSec 推奨", Keys.ENTER)
    wait_for(driver, ".result mark")
    marks = [mark.text for mark in find_all(driver, ".result mark")]
    assert "推奨" in marks or "IPSec" in marks
    shoot(driver, "search")
    find(driver, ".result h3 a").click()
    wait_for(driver, "#article-title")
    assert driver.current_url == f"{live}/kb/885348"
    assert find(driver, "#article-title").get_attribute("lang") == "ja"
    assert "Windows Server 2003" in find(driver, ".applies-to").text
    shoot(driver, "article-ja")
    find(driver, ".locale-switch a[lang='en']").click()
    wait_for(driver, "html[lang='en']")
    assert find(driver, "#article-title").text.startswith("Use of IPSec NAT-T")
    driver.get(f"{live}/")
    find(driver, "#q").send_keys("885348", Keys.ENTER)
    wait_for(driver, "#article-title")
    assert driver.current_url == f"{live}/kb/885348"
    assert find(driver, "html").get_attribute("lang") == "en"  # the choice was remembered
    assert_clean_console(driver)


def test_outdated_translation_and_the_diff(live, driver, app, client):
    api_publish_ja(client, app, body="NAT-T の構成について新しい段落を追加しました。")
    driver.get(f"{live}/kb/885348?locale=en")
    notice = wait_for(driver, ".notice-warning")
    assert "Outdated translation." in notice.text
    shoot(driver, "article-en-outdated")
    find(driver, ".history a[aria-label='What changed in revision 2.3']").click()
    wait_for(driver, ".diff ins")
    assert "新しい段落" in find(driver, ".diff ins").text
    assert find(driver, "h1").text == "Changes from revision 2.2 to 2.3"
    shoot(driver, "diff")
    assert_clean_console(driver)


def test_check_a_system_with_the_keyboard(live, driver):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver.get(f"{live}/check?locale=en")
    product = wait_for(driver, "#product")
    Select(product).select_by_value("windows_server_2003")
    # web.js narrows the other lists to the chosen product.
    assert find(driver, "#edition optgroup[data-product='windows_xp']").get_attribute("hidden")
    Select(find(driver, "#edition")).select_by_value("enterprise")
    Select(find(driver, "#architecture")).select_by_value("x86")
    Select(find(driver, "#service_pack")).select_by_visible_text("Service Pack 2")
    find(driver, "#role-vpn_server").send_keys(Keys.SPACE)
    addresses = find(driver, "#ip_addresses")
    addresses.send_keys("192.168.10.5, 10.0.0.7", Keys.ENTER)
    verdict = wait_for(driver, ".verdict")
    assert "Applies" in find(driver, ".verdict .badge").text
    assert "behind a network address translator" in verdict.text
    assert find(driver, "#role-vpn_server").is_selected()  # the form keeps the facts
    shoot(driver, "check")
    assert_clean_console(driver)


def test_check_a_pasted_systeminfo(live, driver):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver.get(f"{live}/check?locale=en")
    box = wait_for(driver, "#inventory_data")
    # As a paste lands: the whole text at once, Windows line endings and all.
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        box,
        SYSTEMINFO_EN,
    )
    assert Select(find(driver, "#inventory_format")).first_selected_option.text == (
        "Detect automatically"
    )
    find(driver, ".paste-form button[type=submit]").click()
    wait_for(driver, ".from-paste")
    assert "Read from the pasted systeminfo:" in find(driver, ".from-paste").text
    assert "Product: windows_server_2003" in find(driver, ".from-paste").text
    # The form below is filled with what the paste held; the role is up to the agent.
    assert Select(find(driver, "#product")).first_selected_option.get_attribute("value") == (
        "windows_server_2003"
    )
    assert Select(find(driver, "#service_pack")).first_selected_option.text == "Service Pack 2"
    assert find(driver, "#ip_addresses").get_attribute("value") == "192.168.1.10"
    shoot(driver, "check-pasted")
    find(driver, "#role-vpn_server").send_keys(Keys.SPACE)
    find(driver, "#installed_updates").send_keys(Keys.ENTER)
    wait_for(driver, ".verdict .badge-applies")
    assert "behind a network address translator" in find(driver, ".verdict").text
    assert_clean_console(driver)


def test_sign_in_edit_and_resolve_a_conflict(live, driver, app, client):
    from selenium.webdriver.common.keys import Keys

    token = make_token(app, "editor", "Kana Editor")
    driver.get(f"{live}/kb/885348/edit/translation/ja?locale=en")
    wait_for(driver, "#token")  # sent to sign in first
    shoot(driver, "signin")
    find(driver, "#token").send_keys(token, Keys.ENTER)
    body = wait_for(driver, "#body-1")
    assert "Kana Editor" in find(driver, ".account").text
    body.send_keys(Keys.CONTROL, Keys.END)
    body.send_keys("\n\n編集者が追加した一文。")
    api_publish_ja(client, app, body="別の編集者が先に公開した段落。")
    find(driver, "button[value='publish']").click()
    alert = wait_for(driver, ".conflict-alert")
    assert "API Editor published revision 2.3" in alert.text
    assert "編集者が追加した一文。" in find(driver, "#body-1").get_attribute("value")
    assert "別の編集者が先に公開した段落。" in find(driver, ".theirs").text
    assert "+編集者が追加した一文。" in find(driver, ".conflict-alert pre").text
    shoot(driver, "edit-conflict")
    find(driver, "button[value='publish']").click()
    wait_for(driver, ".flash")
    assert "Published revision 2.4." in find(driver, ".flash").text
    assert "編集者が追加した一文。" in find(driver, ".article-body").text
    assert_clean_console(driver)


def test_keyboard_users_can_skip_to_the_content(live, driver):
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{live}/kb/885348")
    find(driver, "body").send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("class") == "skip-link"
    assert focused.rect["y"] >= 0  # visible once focused
    outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused)
    assert outline != "none"
    focused.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "main"


def test_pages_fit_a_phone_without_horizontal_scrolling(live, driver, app, client):
    api_publish_ja(client, app)
    driver.set_window_size(*PHONE)
    pages = [
        "/?q=ipsec",
        "/kb/885348",
        "/kb/885348?locale=en",
        "/kb/885348/diff",
        "/check?product=windows_server_2003&edition=standard&ip_addresses=10.0.0.1",
        "/signin",
    ]
    for path in pages:
        driver.get(f"{live}{path}")
        wait_for(driver, "main")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, path
    driver.get(f"{live}/kb/885348?locale=ja")
    shoot(driver, "phone-article", full_page=False)


def test_build_the_seed_rules_in_the_rule_builder_and_publish(live, driver, app, client):
    """From an empty group to the seed's rules without typing JSON; a failing example blocks."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    seed = client.get("/api/v1/articles/885348/rules").get_json()

    def field(name: str):
        return find(driver, f"[id='{name}']")

    def reloads(act) -> None:
        """Do `act` (a click or a choice that submits) and wait for the new page.

        The old page is marked in its window, which a new page does not have. (Waiting
        for an old element to go stale raced with the navigation: Chromium may answer
        "node does not belong to the document" instead of "stale element".)
        """
        driver.execute_script("window.kbOldPage = true")
        act()
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return window.kbOldPage === undefined")
        )
        wait_for(driver, "form.rule-builder")

    def press(action: str) -> None:
        reloads(lambda: find(driver, f"button[value='{action}']:not(.visually-hidden)").click())

    def add(parent: str, kind: str) -> None:
        Select(field(f"{parent}.add")).select_by_value(kind)
        press(f"add:{parent}")

    token = make_token(app, "editor", "Rika Editor")
    driver.get(f"{live}/kb/885348/edit/rules/builder?locale=en")
    find(driver, "#token").send_keys(token, Keys.ENTER)
    wait_for(driver, "form.rule-builder")
    assert len(find_all(driver, "output.ok")) == 6  # the seed's examples hold
    for node in ("n.0", "n.1", "n.2"):
        press(f"remove:{node}")
    assert find_all(driver, ".rule-children") == []

    add("n", "all")
    for kind in ("product", "edition", "architecture", "service_pack"):
        add("n.0", kind)
    add("n", "fact")
    add("n", "fact")
    # web.js shows a shape's own controls as soon as it is chosen.
    reloads(lambda: Select(field("n.0.1.shape")).select_by_value("list"))
    reloads(lambda: Select(field("n.0.3.shape")).select_by_value("range"))
    driver.execute_script(
        "document.querySelectorAll('details.node-labels').forEach(d => { d.open = true; })"
    )
    for index, node in enumerate(seed["rules"]["all"]):
        for locale in ("en", "ja"):
            field(f"n.{index}.label.{locale}").send_keys(node["label"][locale])
    field("n.0.0.value").send_keys("windows_server_2003")
    field("n.0.1.value").send_keys("standard\nenterprise")
    field("n.0.2.value").send_keys("x86")
    field("n.0.3.min").send_keys("0")
    field("n.0.3.max").send_keys("2")
    field("n.1.fact").send_keys("behind_nat")
    Select(field("n.1.type")).select_by_value("boolean")
    field("n.1.value").send_keys("true")
    field("n.2.fact").send_keys("roles")
    Select(field("n.2.test")).select_by_value("contains")
    field("n.2.value").send_keys("vpn_server")
    press("check")
    assert json.loads(find(driver, "#json_text").get_attribute("value")) == seed["rules"]
    assert len(find_all(driver, "output.ok")) == 6
    shoot(driver, "rule-builder")

    press("add_example")
    field("ex.6.name").send_keys("Datacenter edition")
    system = '{"product": "windows_server_2003", "edition": "datacenter"}'
    field("ex.6.system").clear()
    field("ex.6.system").send_keys(system)
    press("publish")
    refusal = wait_for(driver, "#refusal")
    assert "Not published: the rules contradict these examples." in refusal.text
    assert "“Datacenter edition” expects “Applies”, but the rules give “Does not apply”." in (
        refusal.text
    )
    shoot(driver, "rule-builder-refused")

    Select(field("ex.6.expect")).select_by_value("not_applicable")
    # The verdict beside the example follows the change without a reload.
    WebDriverWait(driver, 10).until(
        lambda d: find(d, "output[data-verdict-for='6']").get_attribute("class") == "ok"
    )
    assert find(driver, "output[data-verdict-for='6']").text == "Does not apply — as expected"
    find(driver, "button.primary[value='publish']").click()
    wait_for(driver, ".flash")
    assert "Published revision 2.3." in find(driver, ".flash").text
    body = client.get("/api/v1/articles/885348/rules").get_json()
    assert body["rules"] == seed["rules"]
    assert [e["name"] for e in body["examples"]][-1] == "Datacenter edition"
    assert_clean_console(driver)


def test_the_rule_builder_in_japanese(live, driver, app):
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{live}/kb/885348/edit/rules/builder?locale=ja")
    find(driver, "#token").send_keys(make_token(app, "editor", "Rika Editor"), Keys.ENTER)
    wait_for(driver, "form.rule-builder")
    assert find(driver, "h1").text == "KB885348: 適用ルールを組み立てる"
    assert "6 件中 6 件の例が期待どおりの判定です。" in find(driver, "#preview").text
    shoot(driver, "rule-builder-ja")
    assert_clean_console(driver)
