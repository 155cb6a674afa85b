"""UI text in Japanese and English, and the page locale: `?locale=`, cookie, Accept-Language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, g, request

from ..articles.locales import negotiate, primary_tag

COOKIE = "kb_locale"
COOKIE_MAX_AGE = 365 * 24 * 3600

EN: dict[str, str] = {
    "site.name": "kbservice",
    "nav.skip": "Skip to main content",
    "nav.label": "Main",
    "nav.search": "Search",
    "nav.check": "Check a system",
    "nav.language": "Language",
    "nav.signin": "Sign in to edit",
    "nav.signout": "Sign out",
    "nav.signed_in_as": "Signed in as {name}",
    "footer.api": "For tools and scripts: the REST API at",
    "locale.ja": "日本語",
    "locale.en": "English",
    "form.errors": "Please correct the following",
    "field.product": "Product",
    "field.edition": "Edition",
    "field.architecture": "Architecture",
    "field.service_pack": "Service pack",
    "field.any": "Any",
    "field.unknown": "Not known",
    "search.title": "Search",
    "search.title_for": "Search: {q}",
    "search.heading": "Search the knowledge base",
    "search.label": "Words or a KB number",
    "search.hint": "Japanese or English words, e.g. IPSec NAT-T or 推奨. A KB number such as"
    " 885348 opens the article.",
    "search.submit": "Search",
    "search.filters": "Filter by product",
    "search.results": "{count} results",
    "search.all": "All articles ({count})",
    "search.none": "No article matches. Try fewer or other words, or remove the filters.",
    "search.matched_in": "found in {language}",
    "search.pages": "Result pages",
    "search.previous": "Previous page",
    "search.next": "Next page",
    "search.page": "Page {page} of {pages}",
    "search.too_long": "The search is too long (at most {limit} characters).",
    "search.bad_service_pack": "The service pack must be a number.",
    "article.revision": "Revision {number}",
    "article.languages": "Languages of this article",
    "article.original": "original",
    "article.not_translated": "not translated",
    "article.old_revision": "You are reading revision {number}, not the current one ({current}).",
    "article.view_current": "Read the current revision",
    "article.compare_current": "Compare with the current revision",
    "article.missing_locale": "This article is not available in {language}; it is shown in"
    " {shown}.",
    "article.outdated_title": "Outdated translation.",
    "article.outdated": "The original ({source}) was changed after this translation was"
    " written; details may be missing or wrong.",
    "article.read_original": "Read the original",
    "article.facts": "About this article",
    "article.applies_to": "Applies to",
    "article.applies_to_none": "No product is listed.",
    "article.check_system": "Does this apply to my system?",
    "article.related": "Related articles",
    "article.related_missing": "not in this knowledge base",
    "article.keywords": "Keywords",
    "article.edit": "Edit",
    "article.edit_text": "Edit the {language} text",
    "article.add_text": "Add the {language} translation",
    "article.edit_rules": "Edit the applicability rules",
    "article.as_of_label": "As it was on",
    "article.as_of_submit": "Show",
    "article.as_of_notice": "You are reading this article as it was on {date} (at the end of"
    " that day, UTC): revision {number}.",
    "article.bad_date": "Enter a date as YYYY-MM-DD (e.g. 2007-03-31).",
    "article.not_yet": "This article did not exist yet on {date}.",
    "history.heading": "Revision history",
    "history.caption": "Revisions of KB{kb}, newest first",
    "history.number": "Revision",
    "history.date": "Date",
    "history.author": "Author",
    "history.summary": "Summary",
    "history.changes": "Changes",
    "history.diff": "What changed",
    "history.diff_label": "What changed in revision {number}",
    "history.from": "From revision",
    "history.to": "To revision",
    "history.compare": "Compare",
    "diff.title": "KB{kb}: revision {old} → {new}",
    "diff.heading": "Changes from revision {old} to {new}",
    "diff.old": "Before",
    "diff.new": "After",
    "diff.none": "Nothing changed between these revisions.",
    "diff.text": "{language} text",
    "diff.unchanged": "Unchanged.",
    "diff.locale_added": "This language was added.",
    "diff.locale_removed": "This language was removed.",
    "diff.title_changed": "Title changed:",
    "diff.heading_was": "Heading was:",
    "diff.untitled": "Section {index}",
    "diff.status_added": "added",
    "diff.status_removed": "removed",
    "diff.status_changed": "changed",
    "diff.status_unchanged": "unchanged",
    "diff.rules": "Applicability rules",
    "diff.meta_keywords": "Keywords",
    "diff.meta_related": "Related articles",
    "diff.meta_applies_to": "Applies to",
    "diff.path": "Where",
    "diff.change": "Change",
    "diff.before": "Before",
    "diff.after": "After",
    "check.title": "Does this apply to my system?",
    "check.heading": "Does this apply to my system?",
    "check.intro": "Describe the system with what you know; unknown facts can stay empty. Every"
    " article that applies, or may apply, is listed with its reasons.",
    "check.for_article": "Checking against",
    "check.system": "Operating system",
    "check.network": "Network",
    "check.nat_unknown": "Not known",
    "check.nat_yes": "Yes, behind NAT",
    "check.nat_no": "No, public address",
    "check.ip_hint": "Separate addresses with spaces or commas. With only private IPv4"
    " addresses (10/8, 172.16/12, 192.168/16) the system counts as behind NAT.",
    "check.software": "Roles and updates",
    "check.other_roles": "Other roles",
    "check.roles_hint": "Role names separated by commas, e.g. vpn_server.",
    "check.updates_hint": "KB numbers separated by commas, e.g. KB885407.",
    "check.pasted": "Paste inventory data (CPE or WMI)",
    "check.pasted_hint": "Product, edition, architecture and service pack are derived from"
    " these when not chosen above.",
    "check.cpe_hint": "e.g. cpe:2.3:o:microsoft:windows_server_2003:-:sp2:*:*:enterprise:*:x86:*",
    "check.os_caption_hint": "Win32_OperatingSystem.Caption, e.g. Microsoft(R) Windows(R)"
    " Server 2003, Enterprise Edition",
    "check.csd_version_hint": "Win32_OperatingSystem.CSDVersion, e.g. Service Pack 2",
    "check.kb": "Only this article (optional)",
    "check.kb_hint": "A KB number such as 885348; empty checks every article.",
    "check.as_of": "As of (optional)",
    "check.as_of_hint": "Judge by the rules as they were at the end of that day (UTC), e.g."
    " to answer what a customer was told then; empty uses the current rules.",
    "check.bad_date": "Enter a date as YYYY-MM-DD (e.g. 2007-03-31).",
    "check.as_of_results": "Results with the rules as they were on {date}",
    "check.judged_revision": "Judged by revision {number}",
    "fact.as_of": "As of",
    "check.submit": "Check",
    "check.reset": "Clear the form",
    "check.results": "Results",
    "check.no_results": "No article applies to this system, and none may apply.",
    "check.reasons": "Why",
    "check.missing": "Facts needed to decide",
    "check.derived": "Facts worked out for you",
    "check.derived_item": "{fact}: {value} (from {source})",
    "check.unknown_kb": "No article KB{kb} exists.",
    "value.yes": "yes",
    "value.no": "no",
    "verdict.applies": "Applies",
    "verdict.not_applicable": "Does not apply",
    "verdict.unknown": "Cannot tell yet",
    "fact.product": "Product",
    "fact.edition": "Edition",
    "fact.architecture": "Architecture",
    "fact.service_pack": "Service pack",
    "fact.roles": "Server roles",
    "fact.behind_nat": "Behind a network address translator (NAT)?",
    "fact.ip_addresses": "IP addresses",
    "fact.installed_updates": "Installed updates",
    "fact.cpe": "CPE name",
    "fact.os_caption": "WMI caption",
    "fact.csd_version": "WMI service pack (CSDVersion)",
    "fact.os_version": "WMI version",
    "fact.os_architecture": "WMI architecture",
    "fact.os_product_type": "WMI product type",
    "fact.product_version": "Windows version",
    "fact.kb": "Article",
    "fact._form": "System",
    "role.vpn_server": "VPN server (L2TP/IPSec)",
    "signin.title": "Sign in",
    "signin.heading": "Sign in to edit",
    "signin.token": "API token",
    "signin.hint": "An editor token, as printed by: kbservice tokens create --name NAME --role"
    " editor. It is checked once; the browser then keeps only a random session id, which ends"
    " when you sign out, after {idle} minutes without use or {hours} hours after signing in.",
    "signin.submit": "Sign in",
    "signin.already": "You are signed in as {name}.",
    "signin.unknown": "This token is unknown or has been revoked.",
    "signin.role": "This token cannot edit: an editor or admin token is needed.",
    "edit.translation_title": "KB{kb}: edit the {language} text",
    "edit.rules_title": "KB{kb}: edit the applicability rules",
    "edit.published_rev": "Published revision",
    "edit.draft": "Draft",
    "edit.draft_by": "saved by {author} (version {version})",
    "edit.draft_stale": "This draft was started from an older revision. Publishing will show"
    " what changed since, so that nothing is overwritten unseen.",
    "edit.conflict_heading": "Someone else saved first",
    "edit.conflict_revision": "{author} published revision {number} while you were editing,",
    "edit.conflict_draft": "{author} saved this draft while you were editing,",
    "edit.conflict_kept": "Nothing was saved, and your text is kept below as you typed it. Compare"
    " it with their version, merge what you need, then publish or save again.",
    "edit.differences": "What differs (− their version, + yours)",
    "edit.yours": "Your version",
    "edit.theirs": "Their version",
    "edit.source": "Original ({language})",
    "edit.empty": "(empty)",
    "edit.field_title": "Title",
    "edit.field_sections": "Sections",
    "edit.field_summary": "Summary",
    "edit.field_rules": "Rules",
    "edit.section": "Section {number}",
    "edit.new_section": "new; leave empty to skip",
    "edit.heading": "Heading (optional)",
    "edit.body": "Text",
    "edit.body_hint": "Markdown. Clear both fields of a section to remove it.",
    "edit.rules": "Rule document (JSON)",
    "edit.rules_hint": "The rule language is described in docs/rules.md.",
    "edit.summary": "What changed (optional)",
    "edit.summary_hint": "Shown in the revision history.",
    "edit.publish": "Publish",
    "edit.save_draft": "Save draft",
    "edit.discard": "Discard draft",
    "edit.cancel": "Cancel",
    "edit.draft_saved": "Draft saved. Readers still see the published text.",
    "edit.discarded": "Draft discarded.",
    "edit.not_discarded": "The draft was changed by someone else, so it was not discarded.",
    "edit.published": "Published revision {number}.",
    "error.400": "Bad request",
    "error.401": "Not signed in",
    "error.403": "Not allowed",
    "error.404": "Not found",
    "error.405": "Not allowed",
    "error.413": "Too large",
    "error.other": "Something went wrong",
    "error.csrf": "This form has expired or did not come from this site. Go back, reload the"
    " page and try again; your text is still in the form you came from.",
    "error.home": "Go to the search page",
}

JA: dict[str, str] = {
    "site.name": "kbservice",
    "nav.skip": "本文へ移動",
    "nav.label": "メイン",
    "nav.search": "検索",
    "nav.check": "システムの確認",
    "nav.language": "言語",
    "nav.signin": "編集するにはサインイン",
    "nav.signout": "サインアウト",
    "nav.signed_in_as": "{name} としてサインイン中",
    "footer.api": "ツールやスクリプトからは REST API をご利用ください:",
    "locale.ja": "日本語",
    "locale.en": "English",
    "form.errors": "次の項目を修正してください",
    "field.product": "製品",
    "field.edition": "エディション",
    "field.architecture": "アーキテクチャ",
    "field.service_pack": "Service Pack",
    "field.any": "指定なし",
    "field.unknown": "不明",
    "search.title": "検索",
    "search.title_for": "検索: {q}",
    "search.heading": "サポート技術情報の検索",
    "search.label": "キーワードまたは KB 番号",
    "search.hint": "日本語または英語で入力します (例: IPSec NAT-T、推奨)。885348 のような KB"
    " 番号を入力すると、その資料を開きます。",
    "search.submit": "検索",
    "search.filters": "製品で絞り込む",
    "search.results": "{count} 件",
    "search.all": "すべての資料 ({count} 件)",
    "search.none": "該当する資料はありません。"
    "キーワードを減らすか変えるか、絞り込みを解除してください。",
    "search.matched_in": "{language}で一致",
    "search.pages": "検索結果のページ",
    "search.previous": "前のページ",
    "search.next": "次のページ",
    "search.page": "{page} / {pages} ページ",
    "search.too_long": "検索語が長すぎます ({limit} 文字まで)。",
    "search.bad_service_pack": "Service Pack は数値で指定してください。",
    "article.revision": "リビジョン {number}",
    "article.languages": "この資料の言語",
    "article.original": "原文",
    "article.not_translated": "翻訳なし",
    "article.old_revision": "リビジョン {number} を表示しています。"
    "最新のリビジョンは {current} です。",
    "article.view_current": "最新のリビジョンを読む",
    "article.compare_current": "最新のリビジョンと比較",
    "article.missing_locale": "この資料は{language}では提供されていないため、"
    "{shown}で表示しています。",
    "article.outdated_title": "翻訳が古くなっています。",
    "article.outdated": "この翻訳の作成後に原文 ({source}) が変更されました。内容が不足しているか、"
    "正しくない可能性があります。",
    "article.read_original": "原文を読む",
    "article.facts": "この資料について",
    "article.applies_to": "対象製品",
    "article.applies_to_none": "製品は登録されていません。",
    "article.check_system": "この資料は自分のシステムに該当しますか?",
    "article.related": "関連資料",
    "article.related_missing": "このサポート技術情報にはありません",
    "article.keywords": "キーワード",
    "article.edit": "編集",
    "article.edit_text": "{language}の本文を編集",
    "article.add_text": "{language}の翻訳を追加",
    "article.edit_rules": "適用ルールを編集",
    "article.as_of_label": "この日の内容:",
    "article.as_of_submit": "表示",
    "article.as_of_notice": "{date} (UTC でその日の終わり) の時点の内容を表示しています:"
    " リビジョン {number}。",
    "article.bad_date": "日付は YYYY-MM-DD の形で入力してください (例: 2007-03-31)。",
    "article.not_yet": "{date} の時点では、この資料はまだありませんでした。",
    "history.heading": "改訂履歴",
    "history.caption": "KB{kb} のリビジョン (新しい順)",
    "history.number": "リビジョン",
    "history.date": "日時",
    "history.author": "作成者",
    "history.summary": "概要",
    "history.changes": "変更内容",
    "history.diff": "変更点",
    "history.diff_label": "リビジョン {number} の変更点",
    "history.from": "比較元のリビジョン",
    "history.to": "比較先のリビジョン",
    "history.compare": "比較",
    "diff.title": "KB{kb}: リビジョン {old} → {new}",
    "diff.heading": "リビジョン {old} から {new} への変更点",
    "diff.old": "変更前",
    "diff.new": "変更後",
    "diff.none": "これらのリビジョンの間に変更はありません。",
    "diff.text": "{language}の本文",
    "diff.unchanged": "変更なし。",
    "diff.locale_added": "この言語が追加されました。",
    "diff.locale_removed": "この言語が削除されました。",
    "diff.title_changed": "タイトルの変更:",
    "diff.heading_was": "変更前の見出し:",
    "diff.untitled": "セクション {index}",
    "diff.status_added": "追加",
    "diff.status_removed": "削除",
    "diff.status_changed": "変更",
    "diff.status_unchanged": "変更なし",
    "diff.rules": "適用ルール",
    "diff.meta_keywords": "キーワード",
    "diff.meta_related": "関連資料",
    "diff.meta_applies_to": "対象製品",
    "diff.path": "場所",
    "diff.change": "変更",
    "diff.before": "変更前",
    "diff.after": "変更後",
    "check.title": "この資料は自分のシステムに該当しますか?",
    "check.heading": "この資料は自分のシステムに該当しますか?",
    "check.intro": "わかっている情報でシステムを記述してください。"
    "不明な項目は空欄のままでかまいません。"
    "該当する資料、または該当する可能性のある資料を理由とともに表示します。",
    "check.for_article": "確認する資料:",
    "check.system": "オペレーティング システム",
    "check.network": "ネットワーク",
    "check.nat_unknown": "不明",
    "check.nat_yes": "はい (NAT の内側)",
    "check.nat_no": "いいえ (パブリック アドレス)",
    "check.ip_hint": "複数のアドレスはスペースまたはカンマで区切ります。プライベート IPv4 アドレス"
    " (10/8、172.16/12、192.168/16) だけの場合は NAT の内側とみなします。",
    "check.software": "役割と更新プログラム",
    "check.other_roles": "その他の役割",
    "check.roles_hint": "役割の名前をカンマで区切って入力します (例: vpn_server)。",
    "check.updates_hint": "KB 番号をカンマで区切って入力します (例: KB885407)。",
    "check.pasted": "インベントリ情報を貼り付ける (CPE または WMI)",
    "check.pasted_hint": "上で選択していない製品、エディション、アーキテクチャ、Service Pack は"
    "これらの値から判定します。",
    "check.cpe_hint": "例: cpe:2.3:o:microsoft:windows_server_2003:-:sp2:*:*:enterprise:*:x86:*",
    "check.os_caption_hint": "Win32_OperatingSystem.Caption (例: Microsoft(R) Windows(R)"
    " Server 2003, Enterprise Edition)",
    "check.csd_version_hint": "Win32_OperatingSystem.CSDVersion (例: Service Pack 2)",
    "check.kb": "この資料だけを確認 (省略可)",
    "check.kb_hint": "885348 のような KB 番号。空欄の場合はすべての資料を確認します。",
    "check.as_of": "基準日 (省略可)",
    "check.as_of_hint": "その日の終わり (UTC) の時点のルールで判定します (お客様に当時どう"
    "案内したかの確認など)。空欄の場合は現在のルールで判定します。",
    "check.bad_date": "日付は YYYY-MM-DD の形で入力してください (例: 2007-03-31)。",
    "check.as_of_results": "{date} の時点のルールによる結果",
    "check.judged_revision": "リビジョン {number} で判定",
    "fact.as_of": "基準日",
    "check.submit": "確認",
    "check.reset": "入力をクリア",
    "check.results": "結果",
    "check.no_results": "このシステムに該当する資料、または該当する可能性のある資料はありません。",
    "check.reasons": "理由",
    "check.missing": "判定に必要な情報",
    "check.derived": "入力から判定した情報",
    "check.derived_item": "{fact}: {value} ({source} から)",
    "check.unknown_kb": "KB{kb} という資料はありません。",
    "value.yes": "はい",
    "value.no": "いいえ",
    "verdict.applies": "該当します",
    "verdict.not_applicable": "該当しません",
    "verdict.unknown": "判定できません",
    "fact.product": "製品",
    "fact.edition": "エディション",
    "fact.architecture": "アーキテクチャ",
    "fact.service_pack": "Service Pack",
    "fact.roles": "サーバーの役割",
    "fact.behind_nat": "ネットワーク アドレス変換器 (NAT) の内側にありますか?",
    "fact.ip_addresses": "IP アドレス",
    "fact.installed_updates": "インストール済みの更新プログラム",
    "fact.cpe": "CPE 名",
    "fact.os_caption": "WMI の Caption",
    "fact.csd_version": "WMI の Service Pack (CSDVersion)",
    "fact.os_version": "WMI の Version",
    "fact.os_architecture": "WMI の OSArchitecture",
    "fact.os_product_type": "WMI の ProductType",
    "fact.product_version": "Windows のバージョン",
    "fact.kb": "資料",
    "fact._form": "システム",
    "role.vpn_server": "VPN サーバー (L2TP/IPSec)",
    "signin.title": "サインイン",
    "signin.heading": "編集するにはサインイン",
    "signin.token": "API トークン",
    "signin.hint": "kbservice tokens create --name NAME --role editor で作成した"
    "編集者のトークンです。"
    "確認は一度だけで、その後ブラウザーにはランダムなセッション ID だけが保存されます"
    " (サインアウトしたとき、{idle} 分間使用しなかったとき、またはサインインから {hours} 時間後に"
    "無効になります)。",
    "signin.submit": "サインイン",
    "signin.already": "{name} としてサインインしています。",
    "signin.unknown": "このトークンは存在しないか、失効しています。",
    "signin.role": "このトークンでは編集できません。editor または admin のトークンが必要です。",
    "edit.translation_title": "KB{kb}: {language}の本文を編集",
    "edit.rules_title": "KB{kb}: 適用ルールを編集",
    "edit.published_rev": "公開中のリビジョン",
    "edit.draft": "下書き",
    "edit.draft_by": "{author} が保存 (バージョン {version})",
    "edit.draft_stale": "この下書きは古いリビジョンをもとにしています。公開するときにその後の変更を"
    "表示するので、気付かないうちに上書きすることはありません。",
    "edit.conflict_heading": "ほかの人が先に保存しました",
    "edit.conflict_revision": "編集中に {author} がリビジョン {number} を公開しました。",
    "edit.conflict_draft": "編集中に {author} がこの下書きを保存しました。",
    "edit.conflict_kept": "何も保存していません。入力した内容はそのまま下に残っています。相手の版と"
    "比べて必要な部分を取り込み、もう一度公開または保存してください。",
    "edit.differences": "相違点 (− 相手の版、+ あなたの版)",
    "edit.yours": "あなたの版",
    "edit.theirs": "相手の版",
    "edit.source": "原文 ({language})",
    "edit.empty": "(空)",
    "edit.field_title": "タイトル",
    "edit.field_sections": "セクション",
    "edit.field_summary": "変更の概要",
    "edit.field_rules": "ルール",
    "edit.section": "セクション {number}",
    "edit.new_section": "新規。不要なら空欄のまま",
    "edit.heading": "見出し (省略可)",
    "edit.body": "本文",
    "edit.body_hint": "Markdown で記述します。セクションを削除するには両方の欄を空にします。",
    "edit.rules": "ルール文書 (JSON)",
    "edit.rules_hint": "ルール言語の説明は docs/rules.md にあります。",
    "edit.summary": "変更の概要 (省略可)",
    "edit.summary_hint": "改訂履歴に表示されます。",
    "edit.publish": "公開",
    "edit.save_draft": "下書き保存",
    "edit.discard": "下書きを破棄",
    "edit.cancel": "キャンセル",
    "edit.draft_saved": "下書きを保存しました。読者には公開中の本文が表示されます。",
    "edit.discarded": "下書きを破棄しました。",
    "edit.not_discarded": "下書きがほかの人によって変更されたため、破棄しませんでした。",
    "edit.published": "リビジョン {number} を公開しました。",
    "error.400": "不正な要求です",
    "error.401": "サインインしていません",
    "error.403": "許可されていません",
    "error.404": "見つかりません",
    "error.405": "許可されていない操作です",
    "error.413": "サイズが大きすぎます",
    "error.other": "問題が発生しました",
    "error.csrf": "このフォームは有効期限が切れているか、"
    "このサイトから送信されたものではありません。"
    "前のページに戻って再読み込みしてから、もう一度お試しください。入力した内容は元のフォームに残っています。",
    "error.home": "検索ページへ",
}

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "ja": JA}


def ui_locales() -> list[str]:
    """Configured locales that have UI text, in configured order."""
    return [code for code in current_app.config["LOCALES"] if code in CATALOGS] or ["en"]


def choose_ui_locale() -> str:
    """`?locale=`, then the remembered choice, then Accept-Language, then the first locale."""
    available = ui_locales()
    requested = request.args.get("locale")
    if not requested or primary_tag(requested) not in available:
        requested = request.cookies.get(COOKIE)
    return negotiate(requested, request.headers.get("Accept-Language"), available, available[0])


def remember_choice(response: Response) -> None:
    """Keep an explicit `?locale=` choice in a cookie for the next pages."""
    requested = request.args.get("locale")
    if (
        requested
        and primary_tag(requested) == g.ui_locale
        and request.cookies.get(COOKIE) != g.ui_locale
    ):
        response.set_cookie(
            COOKIE, g.ui_locale, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax"
        )


def text(key: str, default: str | None = None, **params: Any) -> str:
    """The UI string `key` in the page's locale, with `{params}` filled in."""
    catalog = CATALOGS.get(g.get("ui_locale", "en"), EN)
    template = catalog.get(key) or EN.get(key)
    if template is None:
        return default if default is not None else key
    return template.format(**params) if params else template


def format_value(value: object) -> str:
    """A fact's value for people: yes/no, lists joined with commas."""
    if isinstance(value, bool):
        return text("value.yes" if value else "value.no")
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def format_time(moment: dt.datetime) -> str:
    """`2006-12-20 02:56 UTC`: the same unambiguous form in both languages."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
