"""The legacy plain-text article parser: the KB885348 export, an English sample, edge cases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from kbservice.catalog.products import load_catalog_file
from kbservice.transfer.legacy_text import LegacyTextError, parse_legacy_text

MAIN = Path(__file__).resolve().parents[2]
LEGACY_JA = Path(__file__).resolve().parents[3] / "shared/seeds/KB885348.ja.txt"
CATALOG = load_catalog_file(MAIN / "seeds/products.yaml")

ENGLISH = """\
You are offline. Waiting for your Internet connection to reconnect

How to configure the widget service on Windows Server 2003

Support for Windows Server 2003 ended on July 14, 2015

Support for Windows Server 2003 ended on July 14, 2015. This change affects your updates.

Summary
This article describes how to configure the widget service.
Steps to configure the service
  1. Open the console.
  2. Select the widget node:
  • Enable the service.
  • Restart the computer.
More information
For more information, click the following article number to view the article:
123456 How to install the widget service
Properties

Article ID: 999001 - Last Review: 03/04/2007 15:06:07 - Revision: 1.3

Microsoft Windows Server 2003, Enterprise x64 Edition, \
Microsoft Windows Server 2003, Datacenter Edition (Itanium), \
Microsoft Windows XP Professional

  • kbhowto KB999001
Feedback
"""


def properties(applies_to: str, article: str = "") -> str:
    """A minimal Japanese article whose properties block has these lines."""
    return f"題名\nはじめに\n本文です。\nプロパティ\n{article}\n{applies_to}\n  • kbinfo\n"


def test_kb885348_export_matches_the_seed_record() -> None:
    seed = yaml.safe_load((MAIN / "seeds/articles/KB885348.yaml").read_text(encoding="utf-8"))
    parsed = parse_legacy_text(LEGACY_JA.read_text(encoding="utf-8"), CATALOG, locale="ja")

    assert parsed.title == seed["translations"]["ja"]["title"]
    assert list(parsed.sections) == seed["translations"]["ja"]["sections"]
    assert parsed.kb == seed["kb"]
    assert parsed.revision_number == seed["revision"]["number"]
    assert parsed.updated_at == datetime.fromisoformat(seed["revision"]["created_at"])
    assert list(parsed.keywords) == seed["keywords"]
    assert list(parsed.applies_to) == seed["applies_to"]
    assert list(parsed.related) == seed["related"]
    assert parsed.banners == (
        "Windows Server 2003 のサポートは 2015 年 7 月 14 日で終了しています",
        "Windows Server 2003 のサポートは 2015 年 7 月 14 日で終了しています。"
        "この変更は、ソフトウェアの更新プログラムおよびセキュリティ オプションに影響しています。"
        " この変更の意味および保護された状態を維持する方法について説明します。",
    )
    assert parsed.unrecognised == ()


def test_kb885348_report_names_what_was_recognised() -> None:
    report = parse_legacy_text(LEGACY_JA.read_text(encoding="utf-8"), CATALOG).report()

    assert report[1].startswith("sections: 4 (はじめに, 詳細, Windows XP SP2 では")
    assert "kb: 885348" in report
    assert "revision: 2.2" in report
    assert "updated at: 2006-12-20T02:56:00+00:00" in report
    assert "keywords: kbhowto kbinfo KB885348" in report
    assert "related: 885407" in report
    assert "applies to: windows_server_2003 edition=enterprise architecture=x86" in report
    assert sum(line.startswith("banner dropped: ") for line in report) == 2
    assert not any(line.startswith("unrecognised: ") for line in report)


def test_english_article() -> None:
    parsed = parse_legacy_text(ENGLISH, CATALOG, locale="en-US")

    assert parsed.title == "How to configure the widget service on Windows Server 2003"
    assert parsed.sections == (
        {
            "heading": "Summary",
            "body": "This article describes how to configure the widget service.\n",
        },
        {
            "heading": "Steps to configure the service",
            "body": "1. Open the console.\n2. Select the widget node:\n\n"
            "- Enable the service.\n- Restart the computer.\n",
        },
        {
            "heading": "More information",
            "body": "For more information, click the following article number to view the "
            "article:\n\n123456 How to install the widget service\n",
        },
    )
    assert parsed.banners == (
        "Support for Windows Server 2003 ended on July 14, 2015",
        "Support for Windows Server 2003 ended on July 14, 2015. This change affects your updates.",
    )
    assert parsed.kb == "999001"
    assert parsed.revision_number == "1.3"
    assert parsed.updated_at == datetime(2007, 3, 4, 15, 6, 7, tzinfo=UTC)
    assert parsed.keywords == ("kbhowto", "KB999001")
    assert parsed.related == ("123456",)
    assert parsed.applies_to == (
        {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x64"},
        {"product": "windows_server_2003", "edition": "datacenter", "architecture": "ia64"},
        {"product": "windows_xp", "edition": "professional", "architecture": "x86"},
    )
    assert parsed.unrecognised == ()


def test_banner_outside_the_catalog_is_told_by_its_repeating_paragraph() -> None:
    text = "Title\nOffice 2003 support has ended\nOffice 2003 support has ended. Read more.\n"
    text += "Summary\nBody.\n"

    parsed = parse_legacy_text(text, CATALOG, locale="en")

    assert parsed.banners == (
        "Office 2003 support has ended",
        "Office 2003 support has ended. Read more.",
    )
    assert parsed.sections == ({"heading": "Summary", "body": "Body.\n"},)


def test_text_before_any_heading_is_an_untitled_section() -> None:
    parsed = parse_legacy_text("題名\n最初の段落です。\nはじめに\n本文です。\n", CATALOG)

    assert parsed.sections == (
        {"heading": None, "body": "最初の段落です。\n"},
        {"heading": "はじめに", "body": "本文です。\n"},
    )
    assert (parsed.kb, parsed.revision_number, parsed.updated_at) == (None, None, None)
    assert "kb: not found" in parsed.report()


def test_related_only_from_the_last_more_information_section() -> None:
    text = "題名\n詳細\n111111 最初の資料\n詳細\n222222 次の資料\n333333 その次の資料\n"

    assert parse_legacy_text(text, CATALOG).related == ("222222", "333333")


def test_unknown_applies_to_phrase_is_unrecognised() -> None:
    text = properties(
        "Microsoft Windows Server 2003, Standard Edition (32-bit x86), "
        "Microsoft Windows Vista Business (32-bit x86), "
        "Microsoft Windows Server 2003, Web Edition (ARM64)"
    )

    parsed = parse_legacy_text(text, CATALOG)

    assert parsed.applies_to == (
        {"product": "windows_server_2003", "edition": "standard", "architecture": "x86"},
    )
    assert parsed.unrecognised == (
        "Microsoft Windows Vista Business (32-bit x86)",
        "Microsoft Windows Server 2003, Web Edition (ARM64)",
    )
    assert "unrecognised: Microsoft Windows Vista Business (32-bit x86)" in parsed.report()


@pytest.mark.parametrize(
    "article",
    [
        "文書番号:885348 - 最終更新日: 13/45/2006 02:56:00 - リビジョン: 2.2",
        "文書番号:885348 - リビジョン: 2.2",
    ],
)
def test_malformed_article_line_is_unrecognised(article: str) -> None:
    parsed = parse_legacy_text(properties("", article), CATALOG)

    assert parsed.unrecognised == (article,)
    assert parsed.kb is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  \n\n",
        "現在オフラインです。再接続するためにインターネットの接続を待っています\nフィードバック\n",
    ],
)
def test_empty_text_raises(text: str) -> None:
    with pytest.raises(LegacyTextError, match="no title"):
        parse_legacy_text(text, CATALOG)


def test_text_starting_with_properties_raises() -> None:
    with pytest.raises(LegacyTextError, match="properties"):
        parse_legacy_text(
            "プロパティ\n文書番号:1 - 最終更新日: 1/1/2006 - リビジョン: 1\n", CATALOG
        )


def test_unsupported_locale_raises() -> None:
    with pytest.raises(LegacyTextError, match="locale"):
        parse_legacy_text("Title\n", CATALOG, locale="de")
