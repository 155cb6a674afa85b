"""A synthetic bilingual corpus for benchmarks and load tests.

`generate_articles(count, seed)` yields `NewArticle`s that read like Microsoft support
articles of the Windows 2000/XP/Server 2003 era: a Japanese and an English text built
from parallel templates (現象/Symptoms, 原因/Cause, 解決方法/Resolution, 回避策/
Workaround, 状況/Status, 詳細/More information), applies-to entries over the product
catalog, keywords and related articles. It touches no database and is deterministic for
a seed (on a given Python version).

`load_corpus(session, count, seed)` inserts such a corpus in bulk: the rows are exactly
those `kbservice.articles.create_article` would write, search index included, only much
faster.

KB numbers are drawn from 200000–879999, so they never collide with the seeds (885xxx).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..articles import feed
from ..articles.reading import NewArticle, normalize_kb
from ..catalog.products import Catalog, Product, load_catalog_file
from ..config import PACKAGED_SEEDS
from ..fulltext.documents import IndexForm
from ..fulltext.engines import bulk_build, is_sqlite
from ..fulltext.indexer import DocumentText, body_segments, write_documents
from ..fulltext.workers import Source, Tokenizers
from ..rules import validate_rules
from ..storage.bulk import copy_rows, reserve_ids
from ..storage.models import Article, ArticleApplicability, Revision, RevisionText

CATALOG_FILE = PACKAGED_SEEDS / "products.yaml"
KB_RANGE = range(200_000, 880_000)
AUTHOR = "synthetic"
# Articles written per batch (and tokenized per task with jobs > 1).
BATCH_SIZE = 500

# rules_factory(applies_to, rng) → a rule document or None.
RulesFactory = Callable[[Sequence[Mapping[str, Any]], random.Random], Mapping[str, Any] | None]

# (ja, en) pairs. Japanese support text spaces katakana words, as the originals do.
TOPICS = [
    ("静的マッピング", "static mappings"),
    ("ネットワーク アドレス変換", "network address translation"),
    ("IPSec NAT-T", "IPSec NAT-T"),
    ("L2TP/IPSec 接続", "L2TP/IPSec connections"),
    ("仮想プライベート ネットワーク", "virtual private networks"),
    ("セキュリティ更新プログラム", "security updates"),
    ("グループ ポリシー", "Group Policy"),
    ("レジストリ", "the registry"),
    ("証明書の自動登録", "certificate autoenrollment"),
    ("ドメイン コントローラー", "domain controllers"),
    ("Windows ファイアウォール", "Windows Firewall"),
    ("印刷スプーラー", "the print spooler"),
    ("リモート デスクトップ", "Remote Desktop"),
    ("ターミナル サービス", "Terminal Services"),
    ("名前解決", "name resolution"),
    ("DNS サーバー", "DNS servers"),
    ("WINS サーバー", "WINS servers"),
    ("DHCP クライアント", "the DHCP client"),
    ("ファイル共有", "file sharing"),
    ("分散ファイル システム", "the Distributed File System"),
    ("暗号化ファイル システム", "the Encrypting File System"),
    ("Kerberos 認証", "Kerberos authentication"),
    ("NTLM 認証", "NTLM authentication"),
    ("イベント ログ", "the event log"),
    ("ディスク クォータ", "disk quotas"),
    ("タスク スケジューラ", "Task Scheduler"),
    ("インデックス サービス", "the Indexing Service"),
    ("Active Directory のレプリケーション", "Active Directory replication"),
    ("ボリューム シャドウ コピー", "Volume Shadow Copy"),
    ("プロキシ サーバー", "proxy servers"),
    ("文字コード変換", "character code conversion"),
    ("Unicode 変換", "Unicode conversion"),
    ("バックアップ ユーティリティ", "the Backup utility"),
    ("記憶域の管理", "storage management"),
    ("クラスタ サービス", "the Cluster service"),
    ("ネットワーク負荷分散", "Network Load Balancing"),
    ("ルーティングとリモート アクセス", "Routing and Remote Access"),
    ("インターネット インフォメーション サービス", "Internet Information Services"),
    ("COM+ アプリケーション", "COM+ applications"),
    ("自動更新", "Automatic Updates"),
]
COMPONENTS = [
    ("Tcpip.sys", "Tcpip.sys"),
    ("Netlogon サービス", "the Netlogon service"),
    ("Server サービス", "the Server service"),
    ("Workstation サービス", "the Workstation service"),
    ("ローカル セキュリティ機関", "the Local Security Authority"),
    ("IKE モジュール", "the IKE module"),
    ("IPSec ポリシー エージェント", "the IPSec Policy Agent"),
    ("Win32k.sys", "Win32k.sys"),
    ("Ntfs.sys", "Ntfs.sys"),
    ("Http.sys", "Http.sys"),
    ("リモート プロシージャ コール (RPC) サービス", "the Remote Procedure Call (RPC) service"),
    ("Windows Installer", "Windows Installer"),
    ("Explorer.exe", "Explorer.exe"),
    ("Lsass.exe", "Lsass.exe"),
    ("Svchost.exe", "Svchost.exe"),
    ("Spoolsv.exe", "Spoolsv.exe"),
    ("DNS クライアント サービス", "the DNS Client service"),
    ("ネットワーク ドライバー インターフェイス", "the network driver interface"),
    ("記憶域ドライバー", "the storage driver"),
    ("プラグ アンド プレイ マネージャー", "the Plug and Play manager"),
]
# (ja clause, en clause, en title phrase)
SYMPTOMS = [
    ("接続が切断される", "the connection is dropped", "The connection is dropped"),
    ("エラー メッセージが表示される", "you receive an error message", "Error message"),
    ("サービスが応答を停止する", "the service stops responding", "The service stops responding"),
    ("パフォーマンスが低下する", "performance decreases", "Performance decreases"),
    ("構成が失われる", "the configuration is lost", "The configuration is lost"),
    ("文字列の変換に失敗する", "string conversion fails", "String conversion fails"),
    ("メモリ リークが発生する", "a memory leak occurs", "A memory leak occurs"),
    ("イベント ID 1000 が記録される", "event ID 1000 is logged", "Event ID 1000 is logged"),
    (
        "コンピュータが予期せず再起動する",
        "the computer restarts unexpectedly",
        "Unexpected restart",
    ),
    ("ログオンに時間がかかる", "logon takes a long time", "Slow logon"),
    ("印刷ジョブが失敗する", "print jobs fail", "Print jobs fail"),
    ("名前解決に失敗する", "name resolution fails", "Name resolution fails"),
    ("アクセスが拒否される", "access is denied", "Access is denied"),
    ("CPU 使用率が 100% になる", "CPU usage reaches 100 percent", "High CPU usage"),
    ("データが破損する", "data corruption occurs", "Data corruption"),
]
CAUSES = [
    ("タイムアウト値を正しく計算しない", "does not calculate the time-out value correctly"),
    ("バッファーのサイズを正しく検証しない", "does not validate the size of a buffer correctly"),
    ("競合状態に陥る", "encounters a race condition"),
    ("ハンドルを解放しない", "does not release a handle"),
    ("変更された既定の構成を使用する", "uses a default configuration that has changed"),
    ("文字コードを正しく変換しない", "does not convert the character encoding correctly"),
    ("キャッシュを更新しない", "does not refresh its cache"),
    ("レジストリ値を正しく読み取らない", "does not read a registry value correctly"),
    ("静的なアドレスを前提とする", "assumes a static address"),
    ("使用中のポートを割り当てる", "assigns a port that is already in use"),
]
# Sentences any article may contain; {t} is a topic.
GENERAL = [
    (
        "{t}を構成する前に、システムのバックアップを作成することをお勧めします。",
        "Before you configure {t}, we recommend that you back up the system.",
    ),
    (
        "レジストリを誤って変更すると、深刻な問題が発生する可能性があります。",
        "Serious problems might occur if you modify the registry incorrectly.",
    ),
    (
        "{t}の設定については、ネットワーク管理者に確認してください。",
        "Check the settings for {t} with your network administrator.",
    ),
    (
        "この変更は、サーバーを再起動した後に有効になります。",
        "This change takes effect after you restart the server.",
    ),
    (
        "{t}のログを確認すると、問題の原因を特定できる場合があります。",
        "The log for {t} may help you identify the cause of the problem.",
    ),
    (
        "通常、この問題はクライアント コンピュータには影響しません。",
        "Typically, this problem does not affect client computers.",
    ),
    (
        "セキュリティ上の理由から、この設定を無効にすることは推奨されません。",
        "For security reasons, we do not recommend that you disable this setting.",
    ),
    (
        "詳細な手順については、製品のドキュメントを参照してください。",
        "For detailed steps, see the product documentation.",
    ),
    (
        "この問題は、{t}を使用しない環境では発生しません。",
        "This problem does not occur in environments that do not use {t}.",
    ),
    (
        "複数のサーバーで同じ構成を使用している場合は、すべてのサーバーに変更を適用してください。",
        "If several servers share the same configuration, apply the change to all of them.",
    ),
    (
        "この動作は、{t}の仕様によるものです。",
        "This behavior is by design in {t}.",
    ),
    (
        "変更を元に戻すには、手順を逆の順序で実行します。",
        "To undo the change, perform the steps in reverse order.",
    ),
]
FIXES = [
    ("最新の Service Pack を適用する", "apply the latest service pack"),
    ("静的マッピングを構成する", "configure static mappings"),
    ("パブリック IP アドレスを割り当てる", "assign a public IP address"),
    ("レジストリ値を変更する", "change the registry value"),
    ("サービスを再起動する", "restart the service"),
    ("修正プログラムをインストールする", "install the hotfix"),
    ("グループ ポリシーの設定を変更する", "change the Group Policy setting"),
    ("既定の動作を変更しない", "keep the default behavior"),
    ("ファイアウォールの例外を追加する", "add a firewall exception"),
    ("最新のドライバーに更新する", "update to the latest driver"),
]
CONDITIONS = [
    (
        "ネットワーク アドレス変換器の背後に配置されている",
        "is located behind a network address translator",
    ),
    ("複数のネットワーク アダプターを使用している", "uses multiple network adapters"),
    ("高負荷の状態にある", "is under heavy load"),
    ("ドメインに参加している", "is joined to a domain"),
    ("既定の設定で構成されている", "is configured with the default settings"),
    ("長時間実行されている", "has been running for a long time"),
    ("Unicode 以外の文字を処理する", "processes non-Unicode characters"),
    ("暗号化を使用している", "uses encryption"),
]
SERVICES = ["Tcpip", "IPSec", "PolicyAgent", "Netlogon", "LanmanServer", "Spooler", "Dnscache"]
VALUES = ["EnableTimeout", "MaxConnections", "AssumeUDPEncapsulationContextOnSendRule", "Retry"]
KEYWORDS = ["kbbug", "kbfix", "kbprb", "kbhowto", "kbinfo", "kbqfe", "kbsecurity", "kbnetwork"]
# Narrower subjects, each in few articles, as in a real knowledge base.
DETAILS = [
    ("ジャンボ フレーム", "jumbo frames"),
    ("チェックサム オフロード", "checksum offload"),
    ("TCP ウィンドウ スケーリング", "TCP window scaling"),
    ("SMB 署名", "SMB signing"),
    ("LDAP 署名", "LDAP signing"),
    ("匿名アクセスの制限", "restrictions on anonymous access"),
    ("監査ポリシー", "the audit policy"),
    ("ページ ファイル", "the paging file"),
    ("完全メモリ ダンプ", "complete memory dumps"),
    ("ブート構成", "the boot configuration"),
    ("時刻同期", "time synchronization"),
    ("W32Time サービス", "the W32Time service"),
    ("信頼関係", "trust relationships"),
    ("グローバル カタログ", "the global catalog"),
    ("FSMO の役割", "FSMO roles"),
    ("サイト リンク", "site links"),
    ("動的 DNS 更新", "dynamic DNS updates"),
    ("ゾーン転送", "zone transfers"),
    ("条件付きフォワーダー", "conditional forwarders"),
    ("DHCP 予約", "DHCP reservations"),
    ("スーパースコープ", "superscopes"),
    ("IPv6 トンネリング", "IPv6 tunneling"),
    ("Teredo", "Teredo"),
    ("PPTP 接続", "PPTP connections"),
    ("RADIUS 認証", "RADIUS authentication"),
    ("スマート カード ログオン", "smart card logon"),
    ("証明書失効リスト", "certificate revocation lists"),
    ("ローミング プロファイル", "roaming profiles"),
    ("フォルダー リダイレクト", "folder redirection"),
    ("オフライン ファイル", "offline files"),
    ("シャドウ コピーの復元", "shadow copy restores"),
    ("ディスク デフラグ ツール", "the Disk Defragmenter"),
    ("ダイナミック ディスク", "dynamic disks"),
    ("マウント ポイント", "mount points"),
    ("iSCSI イニシエーター", "the iSCSI initiator"),
    ("マルチパス I/O", "multipath I/O"),
    ("ホット アド メモリ", "hot-add memory"),
    ("電源管理", "power management"),
    ("ハイバネーション", "hibernation"),
    ("USB 大容量記憶装置", "USB mass storage devices"),
    ("プリンター ドライバーの分離", "printer driver isolation"),
    ("ポイント アンド プリント", "Point and Print"),
    ("フォント キャッシュ", "the font cache"),
    ("IME 辞書", "the IME dictionary"),
    ("全角文字の入力", "full-width character input"),
    ("タイム ゾーンの更新", "time zone updates"),
    ("夏時間", "daylight saving time"),
    ("WMI リポジトリ", "the WMI repository"),
    ("パフォーマンス カウンター", "performance counters"),
    ("ネットワーク モニター", "Network Monitor"),
    ("リモート レジストリ", "Remote Registry"),
    ("管理共有", "administrative shares"),
    ("NetBIOS 名前解決", "NetBIOS name resolution"),
    ("LMHOSTS ファイル", "the LMHOSTS file"),
    ("ASP.NET アプリケーション プール", "ASP.NET application pools"),
    ("FTP サイト", "FTP sites"),
    ("SMTP 仮想サーバー", "SMTP virtual servers"),
    ("メッセージ キュー", "Message Queuing"),
    ("分散トランザクション コーディネーター", "the Distributed Transaction Coordinator"),
    ("ターミナル サーバー ライセンス", "Terminal Server licensing"),
]
FILE_STEMS = [
    "Afd",
    "Dnsapi",
    "Http",
    "Ipsec",
    "Kerberos",
    "Lsasrv",
    "Msv1_0",
    "Mrxsmb",
    "Netlogon",
    "Ntdsa",
    "Ntfs",
    "Oakley",
    "Polstore",
    "Rasppp",
    "Rdpwd",
    "Schannel",
    "Srv",
    "Tcpip",
    "Termsrv",
    "Win32k",
    "Winsrv",
    "Wldap32",
    "Ws2_32",
    "Spoolsv",
    "Localspl",
    "W32time",
]

# A Japanese text and its English counterpart.
_Text = tuple[str, str]


def generate_articles(
    count: int,
    seed: int = 0,
    *,
    rules_factory: RulesFactory | None = None,
    catalog: Catalog | None = None,
) -> Iterator[NewArticle]:
    """Yield `count` bilingual articles, the same ones for the same seed.

    `rules_factory(applies_to, rng)` may supply each article's rule document (default:
    none); `catalog` defaults to seeds/products.yaml.
    """
    rng = random.Random(seed)
    products = (catalog or load_catalog_file(CATALOG_FILE)).products
    numbers = [str(n) for n in rng.sample(KB_RANGE, count)]
    for index, kb in enumerate(numbers):
        related = [numbers[i] for i in rng.sample(range(index), min(index, rng.randint(0, 2)))]
        yield _article(rng, kb, related, products, rules_factory)


def _article(
    rng: random.Random,
    kb: str,
    related: list[str],
    products: Sequence[Product],
    rules_factory: RulesFactory | None,
) -> NewArticle:
    product = rng.choice(products)
    context = {
        "product_ja": product.short_names.get("ja", product.id),
        "product_en": product.short_names.get("en", product.id),
        "topic": rng.choice(TOPICS),
        "other": rng.choice(TOPICS),
        "component": rng.choice(COMPONENTS),
        "symptom": rng.choice(SYMPTOMS),
        "cause": rng.choice(CAUSES),
        "fix": rng.choice(FIXES),
        "condition": rng.choice(CONDITIONS),
    }
    title_ja, title_en = _title(rng, context)
    title_ja = _spaced(title_ja)
    sections = [("現象", "Symptoms", _symptoms(rng, context))]
    sections.append(("原因", "Cause", _cause(rng, context)))
    if rng.random() < 0.7:
        sections.append(("解決方法", "Resolution", _resolution(rng, context, related)))
    if rng.random() < 0.6:
        sections.append(("回避策", "Workaround", _workaround(rng, context)))
    if rng.random() < 0.5:
        sections.append(("状況", "Status", _status()))
    if rng.random() < 0.5:
        sections.append(("詳細", "More information", _more(rng, context)))
    # Extra text comes from its own generator, so that adding it left the main sequence
    # (and with it every article's metadata and rules) as it was.
    extra = random.Random(f"{kb}:{title_en}")
    sections.append(("関連情報", "Related information", _details(extra, context)))
    if extra.random() < 0.6:
        sections.append(("ファイル情報", "File information", _files(extra, context)))
    applies_to = _applies_to(rng, product)
    created_at = dt.datetime(2001, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randrange(10 * 365 * 24 * 60)
    )
    return NewArticle(
        kb=kb,
        source_locale="ja" if rng.random() < 0.4 else "en",
        texts={
            "ja": (
                title_ja,
                [{"heading": ja, "body": _spaced(body[0])} for ja, _, body in sections],
            ),
            "en": (title_en, [{"heading": en, "body": body[1]} for _, en, body in sections]),
        },
        applies_to=applies_to,
        rules=rules_factory(applies_to, rng) if rules_factory else None,
        keywords=[*sorted(rng.sample(KEYWORDS, rng.randint(1, 3))), f"KB{kb}"],
        related=related,
        number=f"{rng.randint(1, 4)}.{rng.randint(0, 9)}",
        created_at=created_at,
        author=AUTHOR,
        summary="Generated",
    )


def _spaced(text: str) -> str:
    """Japanese support-text style: a space between Latin text and Japanese."""
    return _LATIN_JAPANESE.sub(" ", text)


_LATIN_JAPANESE = re.compile(
    r"(?<=[A-Za-z0-9.+)%])(?=[\u3041-\u30ff\u4e00-\u9fff])"
    r"|(?<=[\u3041-\u30ff\u4e00-\u9fff])(?=[A-Za-z0-9(])"
)


def _title(rng: random.Random, c: dict[str, Any]) -> _Text:
    topic, component, symptom = c["topic"], c["component"], c["symptom"]
    pj, pe = c["product_ja"], c["product_en"]
    choices = [
        (
            f"{pj} で{topic[0]}を構成すると{symptom[0]}",
            f"{symptom[2]} when you configure {topic[1]} in {pe}",
        ),
        (
            f"{pj} での{topic[0]}の使用は推奨されない",
            f"Use of {topic[1]} is not recommended in {pe}",
        ),
        (
            f"{component[0]}の更新プログラムを適用した後に{symptom[0]}",
            f"{symptom[2]} after you apply an update to {component[1]}",
        ),
        (f"{pj} の{topic[0]}に関する既知の問題", f"Known issues with {topic[1]} in {pe}"),
        (
            f"{pj} で{component[0]}を使用すると{symptom[0]}",
            f"{symptom[2]} when {component[1]} is used in {pe}",
        ),
    ]
    return rng.choice(choices)


def _symptoms(rng: random.Random, c: dict[str, Any]) -> _Text:
    topic, component, symptom, condition = c["topic"], c["component"], c["symptom"], c["condition"]
    ja = [
        f"{c['product_ja']} ベースのコンピュータで{topic[0]}を使用すると、"
        f"{symptom[0]}ことがあります。"
    ]
    en = [f"When you use {topic[1]} on a {c['product_en']}-based computer, {symptom[1]}."]
    if rng.random() < 0.7:
        ja.append(f"この問題は、{component[0]}が{condition[0]}場合に発生します。")
        en.append(f"This problem occurs when {component[1]} {condition[1]}.")
    if rng.random() < 0.5:
        code = f"0x{rng.randrange(0x80000000, 0x8FFFFFFF):08X}"
        ja.append(f"また、次のようなエラー メッセージが表示されます。\n\n    エラー {code}")
        en.append(f"Additionally, you receive the following error message:\n\n    Error {code}")
    _general(rng, c, ja, en)
    return "\n\n".join(ja), "\n\n".join(en)


def _general(rng: random.Random, c: dict[str, Any], ja: list[str], en: list[str]) -> None:
    """Append one to three general sentences to the paragraphs."""
    sentences = rng.sample(GENERAL, rng.randint(1, 3))
    topic = rng.choice([c["topic"], c["other"]])
    ja.append("".join(j.format(t=topic[0]) for j, _ in sentences))
    en.append(" ".join(e.format(t=topic[1]) for _, e in sentences))


def _cause(rng: random.Random, c: dict[str, Any]) -> _Text:
    component, cause = c["component"], c["cause"]
    ja = f"この問題は、{component[0]}が{cause[0]}ために発生します。"
    en = f"This problem occurs because {component[1]} {cause[1]}."
    if rng.random() < 0.5:
        ja += (
            f"{c['other'][0]}を使用している環境では、この動作によって通信が失われることがあります。"
        )
        en += f" In environments that use {c['other'][1]}, this behavior may cause lost traffic."
    return ja, en


def _resolution(rng: random.Random, c: dict[str, Any], related: Sequence[str]) -> _Text:
    ja = [f"この問題を解決するには、{c['product_ja']} の最新の Service Pack を入手してください。"]
    en = [f"To resolve this problem, obtain the latest service pack for {c['product_en']}."]
    if related:
        listed_ja = "\n".join(f"- {kb} {c['topic'][0]}に関する資料" for kb in related)
        listed_en = "\n".join(f"- {kb} Information about {c['topic'][1]}" for kb in related)
        ja.append(
            "詳細については、次の資料番号をクリックして「サポート技術情報」 "
            f"(Microsoft Knowledge Base) の資料を参照してください。\n\n{listed_ja}"
        )
        en.append(
            "For more information, click the following article number to view the article "
            f"in the Microsoft Knowledge Base:\n\n{listed_en}"
        )
    if rng.random() < 0.4:
        version = f"5.2.3790.{rng.randint(100, 4999)}"
        ja.append(
            f"修正プログラムを適用すると、{c['component'][0]}のバージョンは {version} になります。"
        )
        en.append(f"After you apply the hotfix, the version of {c['component'][1]} is {version}.")
    return "\n\n".join(ja), "\n\n".join(en)


def _workaround(rng: random.Random, c: dict[str, Any]) -> _Text:
    fix = c["fix"]
    ja = [f"この問題を回避するには、{fix[0]}ことを推奨します。"]
    en = [f"To work around this problem, we recommend that you {fix[1]}."]
    if rng.random() < 0.5:
        service, value = rng.choice(SERVICES), rng.choice(VALUES)
        key = f"HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\{service}\\Parameters"
        number = rng.randint(0, 2)
        ja.append(
            "1. [スタート] ボタン、[ファイル名を指定して実行] の順にクリックし、"
            "「regedit」と入力して [OK] をクリックします。\n"
            f"2. 次のレジストリ サブキーを探してクリックします。\n\n    {key}\n\n"
            f"3. {value} の値を {number} に設定します。\n"
            "4. レジストリ エディタを終了し、コンピュータを再起動します。"
        )
        en.append(
            "1. Click Start, click Run, type regedit, and then click OK.\n"
            f"2. Locate and then click the following registry subkey:\n\n    {key}\n\n"
            f"3. Set the {value} value to {number}.\n"
            "4. Exit Registry Editor, and then restart the computer."
        )
    return "\n\n".join(ja), "\n\n".join(en)


def _status() -> _Text:
    return (
        "マイクロソフトでは、この問題を「対象製品」の一覧に記載されている製品の問題として"
        "認識しています。",
        "Microsoft has confirmed that this is a problem in the Microsoft products that are "
        'listed in the "Applies to" section.',
    )


def _more(rng: random.Random, c: dict[str, Any]) -> _Text:
    other = c["other"]
    ja = [f"{other[0]}の詳細については、{c['product_ja']} のヘルプを参照してください。"]
    en = [f"For more information about {other[1]}, see {c['product_en']} Help."]
    if rng.random() < 0.5:
        port = rng.choice([500, 4500, 1701, 1723, 3389, 445, 53, 88])
        ja.append(f"この構成では、UDP ポート {port} へのトラフィックが変換されます。")
        en.append(f"In this configuration, traffic to UDP port {port} is translated.")
    _general(rng, c, ja, en)
    return "\n\n".join(ja), "\n\n".join(en)


def _details(rng: random.Random, c: dict[str, Any]) -> _Text:
    """A paragraph on narrower subjects that few articles share."""
    ja: list[str] = []
    en: list[str] = []
    for detail in rng.sample(DETAILS, rng.randint(1, 3)):
        ja.append(
            f"{detail[0]}を使用している場合は、{c['topic'][0]}の設定も確認してください。"
            f"{detail[0]}の既定値は、{c['product_ja']} の Service Pack によって異なります。"
        )
        en.append(
            f"If you use {detail[1]}, also check the settings for {c['topic'][1]}. "
            f"The default for {detail[1]} differs between service packs of {c['product_en']}."
        )
    _general(rng, c, ja, en)
    return "\n\n".join(ja), "\n\n".join(en)


def _files(rng: random.Random, c: dict[str, Any]) -> _Text:
    """The file table of a hotfix, as support articles list it."""
    build = rng.randint(1000, 4999)
    rows = [
        f"| {stem}.{rng.choice(['dll', 'sys', 'exe'])} | 5.2.3790.{build} | "
        f"{rng.randint(20, 2000) * 512:,} | 20{rng.randint(3, 10):02d}-"
        f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} |"
        for stem in rng.sample(FILE_STEMS, rng.randint(2, 6))
    ]
    table = "\n".join(rows)
    return (
        f"この修正プログラムの英語版には、次の表に示すファイル属性が含まれています。"
        f"{c['component'][0]}を含むファイルは、修正プログラムのインストール時に置き換えられます。"
        "\n\n| ファイル名 | ファイル バージョン | ファイル サイズ | 日付 |"
        f"\n| --- | --- | --- | --- |\n{table}",
        "The English version of this hotfix has the file attributes that are listed in the "
        f"following table. The files that contain {c['component'][1]} are replaced when you "
        "install the hotfix.\n\n| File name | File version | File size | Date |\n"
        f"| --- | --- | --- | --- |\n{table}",
    )


def _applies_to(rng: random.Random, product: Product) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    editions = [e.id for e in product.editions]
    for edition in rng.sample(editions, rng.randint(1, min(3, len(editions)))):
        entry: dict[str, Any] = {"product": product.id, "edition": edition}
        if rng.random() < 0.6:
            entry["architecture"] = rng.choice(product.architectures)
        packs = [sp.number for sp in product.service_packs]
        if packs and rng.random() < 0.5:
            low = rng.choice(packs)
            entry["service_pack_min"] = low
            entry["service_pack_max"] = rng.choice([p for p in packs if p >= low])
        entries.append(entry)
    return entries


def load_corpus(
    session: Session,
    count: int,
    seed: int = 0,
    *,
    rules_factory: RulesFactory | None = None,
    catalog: Catalog | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int | None = None,
    jobs: int = 1,
) -> list[int]:
    """Insert `generate_articles(count, seed)` in bulk, search index included; return ids.

    The rows are those `create_article` would write for each article; `progress(n)` is
    told of every n articles inserted. With jobs > 1, that many worker processes tokenize
    batches while this one generates and writes (the same rows as with jobs=1).
    """
    ids: list[int] = []
    articles = generate_articles(count, seed, rules_factory=rules_factory, catalog=catalog)
    with (
        bulk_build(session),
        # The workers check the rule documents too (a fifth of the generator's CPU).
        Tokenizers(jobs, tsvector=not is_sqlite(session), check=validate_rules) as tokenizers,
    ):
        batches = _batches(articles, batch_size or BATCH_SIZE)
        for batch, forms in tokenizers.forms(batches, _sources, _rules):
            ids += _insert(session, batch, forms)
            if progress is not None:
                progress(len(batch))
    return ids


def _batches(articles: Iterator[NewArticle], size: int) -> Iterator[list[NewArticle]]:
    batch: list[NewArticle] = []
    for new in articles:
        batch.append(new)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rules(batch: Sequence[NewArticle]) -> list[Mapping[str, Any]]:
    return [new.rules for new in batch if new.rules is not None]


def _locales(new: NewArticle) -> list[tuple[str, Any]]:
    """The article's texts in the index's order (fulltext.indexer reads them by locale)."""
    return sorted(new.texts.items())


def _sources(batch: Sequence[NewArticle]) -> list[Source]:
    return [
        (title, body_segments(sections)) for new in batch for _, (title, sections) in _locales(new)
    ]


def _serialized(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    for row in rows:
        for column in columns:
            row[column] = json.dumps(row[column])


def _insert(session: Session, batch: Sequence[NewArticle], forms: Sequence[IndexForm]) -> list[int]:
    """Write a batch's rows and its documents, tokenized as `forms` (in `_sources` order)."""
    sqlite = is_sqlite(session)
    article_ids = reserve_ids(session, Article.__table__, len(batch))
    revision_ids = reserve_ids(session, Revision.__table__, len(batch))
    articles = [
        {
            "id": article_id,
            "kb": normalize_kb(new.kb),
            "source_locale": new.source_locale,
            "created_at": new.created_at,
            "current_seq": 1,
        }
        for article_id, new in zip(article_ids, batch, strict=True)
    ]
    revisions = [
        {
            "id": revision_id,
            "article_id": article_id,
            "seq": 1,
            "number": new.number,
            "created_at": new.created_at,
            "author": new.author,
            "summary": new.summary,
            "keywords": list(new.keywords),
            "related": list(new.related),
            "applies_to": [dict(entry) for entry in new.applies_to],
            "rules": dict(new.rules) if new.rules is not None else None,
            "examples": [],
        }
        for article_id, revision_id, new in zip(article_ids, revision_ids, batch, strict=True)
    ]
    documents = [
        DocumentText(
            article_id=article_id,
            kb=normalize_kb(new.kb),
            revision_id=revision_id,
            locale=locale,
            title=title,
            sections=[{"heading": s.get("heading"), "body": s["body"]} for s in sections],
        )
        for article_id, revision_id, new in zip(article_ids, revision_ids, batch, strict=True)
        for locale, (title, sections) in _locales(new)
    ]
    texts = [
        {
            "revision_id": document.revision_id,
            "locale": document.locale,
            "title": document.title,
            "sections": document.sections,
            "source_seq": 1,
            "changed_seq": 1,
        }
        for document in documents
    ]
    applicability = [
        {
            "article_id": article_id,
            "product": entry["product"],
            "edition": entry.get("edition"),
            "architecture": entry.get("architecture"),
            "sp_min": entry.get("service_pack_min"),
            "sp_max": entry.get("service_pack_max"),
        }
        for article_id, new in zip(article_ids, batch, strict=True)
        for entry in new.applies_to
    ]
    if sqlite:
        # Core inserts of explicit ids: no RETURNING, no ORM bookkeeping per row.
        session.execute(insert(Article.__table__), articles)
        session.execute(insert(Revision.__table__), revisions)
        session.execute(insert(RevisionText.__table__), texts)
        if applicability:
            session.execute(insert(ArticleApplicability.__table__), applicability)
    else:
        # JSON columns as SQLAlchemy's default serializer writes them (None as 'null').
        _serialized(revisions, ("keywords", "related", "applies_to", "rules", "examples"))
        _serialized(texts, ("sections",))
        copy_rows(session, Article.__table__, articles)
        copy_rows(session, Revision.__table__, revisions)
        copy_rows(session, RevisionText.__table__, texts)
        copy_rows(session, ArticleApplicability.__table__, applicability)
    write_documents(session, documents, forms)
    feed.record_many(session, revision_ids, feed.CREATED)
    return article_ids
