"""What inventory tools print for one machine: Windows Server 2003, Enterprise Edition, x86, SP2.

Shaped as the tools print it (Windows line endings, padded labels, Japanese labels, the
tools' own key names), for the parsers' unit tests and the API's table test.
"""

from __future__ import annotations

import json
from typing import Any

CAPTION = "Microsoft(R) Windows(R) Server 2003, Enterprise Edition"
ADDRESS = "192.168.1.10"


def crlf(lines: list[str]) -> str:
    """Lines as Windows writes them."""
    return "\r\n".join(lines) + "\r\n"


SYSTEMINFO_EN_LINES = [
    "",
    "Host Name:                 SRV01",
    f"OS Name:                   {CAPTION}",
    "OS Version:                5.2.3790 Service Pack 2 Build 3790",
    "OS Manufacturer:           Microsoft Corporation",
    "OS Configuration:          Member Server",
    "OS Build Type:             Uniprocessor Free",
    "Registered Owner:          Contoso IT",
    "Registered Organization:   Contoso",
    "Product ID:                69713-640-1234567-45123",
    "Original Install Date:     5/1/2007, 10:00:00 AM",
    "System Up Time:            12 Days, 3 Hours, 4 Minutes, 5 Seconds",
    "System Manufacturer:       VMware, Inc.",
    "System Model:              VMware Virtual Platform",
    "System Type:               X86-based PC",
    "Processor(s):              1 Processor(s) Installed.",
    "                           [01]: x86 Family 6 Model 15 Stepping 11 GenuineIntel ~2992 Mhz",
    "BIOS Version:              INTEL  - 6040000",
    "Windows Directory:         C:\\WINDOWS",
    "System Directory:          C:\\WINDOWS\\system32",
    "Boot Device:               \\Device\\HarddiskVolume1",
    "System Locale:             en-us;English (United States)",
    "Input Locale:              en-us;English (United States)",
    "Time Zone:                 (GMT-08:00) Pacific Time (US & Canada); Tijuana",
    "Total Physical Memory:     2,047 MB",
    "Available Physical Memory: 1,536 MB",
    "Page File: Max Size:       3,940 MB",
    "Page File: Available:      3,310 MB",
    "Page File: In Use:         630 MB",
    "Page File Location(s):     C:\\pagefile.sys",
    "Domain:                    contoso.local",
    "Logon Server:              \\\\DC01",
    "Hotfix(s):                 3 Hotfix(s) Installed.",
    "                           [01]: File 1",
    "                           [02]: Q147222",
    "                           [03]: KB885407 - Update",
    "Network Card(s):           1 NIC(s) Installed.",
    "                           [01]: Intel(R) PRO/1000 MT Network Connection",
    "                                 Connection Name: Local Area Connection",
    "                                 DHCP Enabled:    No",
    "                                 IP address(es)",
    f"                                 [01]: {ADDRESS}",
]
SYSTEMINFO_EN = crlf(SYSTEMINFO_EN_LINES)

SYSTEMINFO_JA = crlf(
    [
        "",
        "ホスト名:               SRV01",
        f"OS 名:                  {CAPTION}",
        "OS バージョン:          5.2.3790 Service Pack 2 ビルド 3790",
        "OS 製造元:              Microsoft Corporation",
        "OS 構成:                メンバ サーバー",
        "OS ビルドの種類:        Uniprocessor Free",
        "登録されている所有者:   Contoso IT",
        "登録されている組織:     Contoso",
        "プロダクト ID:          69713-640-1234567-45123",
        "最初のインストール日付: 2007/05/01, 10:00:00",
        "システム起動時間:       12 日, 3 時間, 4 分, 5 秒",
        "システム製造元:         VMware, Inc.",
        "システム モデル:        VMware Virtual Platform",
        "システムの種類:         X86-based PC",
        "プロセッサ:             1 プロセッサインストール済みです。",
        "                        [01]: x86 Family 6 Model 15 Stepping 11 GenuineIntel ~2992 Mhz",
        "BIOS バージョン:        INTEL  - 6040000",
        "Windows ディレクトリ:   C:\\WINDOWS",
        "システム ディレクトリ:  C:\\WINDOWS\\system32",
        "起動デバイス:           \\Device\\HarddiskVolume1",
        "システム ロケール:      ja;日本語",
        "入力ロケール:           ja;日本語",
        "タイム ゾーン:          (GMT+09:00) 大阪、札幌、東京",
        "物理メモリの合計:       2,047 MB",
        "利用できる物理メモリ:   1,536 MB",
        "ページ ファイル: 最大サイズ: 3,940 MB",
        "ページ ファイルの場所:  C:\\pagefile.sys",
        "ドメイン:               contoso.local",
        "ログオン サーバー:      \\\\DC01",
        "ホットフィックス:       3 ホットフィックスがインストールされています。",
        "                        [01]: File 1",
        "                        [02]: Q147222",
        "                        [03]: KB885407 - Update",
        "ネットワーク カード:    1 NIC(s) インストール済みです。",
        "                        [01]: Intel(R) PRO/1000 MT Network Connection",
        "                              接続名:          ローカル エリア接続",
        "                              DHCP が有効:     いいえ",
        "                              IP アドレス",
        f"                              [01]: {ADDRESS}",
    ]
)

_CSV_COLUMNS = [
    ("Host Name", "SRV01"),
    ("OS Name", CAPTION),
    ("OS Version", "5.2.3790 Service Pack 2 Build 3790"),
    ("OS Manufacturer", "Microsoft Corporation"),
    ("OS Configuration", "Member Server"),
    ("OS Build Type", "Uniprocessor Free"),
    ("Original Install Date", "5/1/2007, 10:00:00 AM"),
    ("System Type", "X86-based PC"),
    ("Processor(s)", "1 Processor(s) Installed.,[01]: x86 Family 6 Model 15 Stepping 11"),
    ("Total Physical Memory", "2,047 MB"),
    ("Hotfix(s)", "3 Hotfix(s) Installed.,[01]: File 1,[02]: Q147222,[03]: KB885407 - Update"),
    (
        "Network Card(s)",
        "1 NIC(s) Installed.,[01]: Intel(R) PRO/1000 MT Network Connection,"
        "      Connection Name: Local Area Connection,      DHCP Enabled:    No,"
        f"      IP address(es),      [01]: {ADDRESS}",
    ),
]
SYSTEMINFO_CSV = crlf(
    [
        "",
        ",".join(f'"{label}"' for label, _ in _CSV_COLUMNS),
        ",".join(f'"{value}"' for _, value in _CSV_COLUMNS),
    ]
)

WMI: dict[str, Any] = {
    "__CLASS": "Win32_OperatingSystem",
    "BootDevice": "\\Device\\HarddiskVolume1",
    "BuildNumber": "3790",
    "BuildType": "Uniprocessor Free",
    "Caption": CAPTION,
    "CSDVersion": "Service Pack 2",
    "CSName": "SRV01",
    "Manufacturer": "Microsoft Corporation",
    "OSLanguage": 1033,
    "OSProductSuite": 274,
    "OSType": 18,
    "ProductType": 3,
    "ServicePackMajorVersion": 2,
    "ServicePackMinorVersion": 0,
    "SystemDirectory": "C:\\WINDOWS\\system32",
    "Version": "5.2.3790",
}

ANSIBLE: dict[str, Any] = {
    "ansible_facts": {
        "ansible_architecture": None,
        "ansible_architecture2": "i386",
        "ansible_distribution": CAPTION,
        "ansible_distribution_major_version": "5",
        "ansible_distribution_version": "5.2.3790.131072",
        "ansible_domain": "contoso.local",
        "ansible_hostname": "SRV01",
        "ansible_ip_addresses": [ADDRESS, "fe80::20c:29ff:fe12:3456"],
        "ansible_kernel": "5.2.3790.131072",
        "ansible_os_family": "Windows",
        "ansible_os_name": CAPTION,
        "ansible_os_product_type": "server",
        "ansible_system": "Win32NT",
        "module_setup": True,
    },
    "changed": False,
}

SALT: dict[str, Any] = {
    "local": {
        "cpuarch": "x86",
        "host": "SRV01",
        "ipv4": ["127.0.0.1", ADDRESS],
        "ipv6": ["::1", "fe80::20c:29ff:fe12:3456"],
        "kernel": "Windows",
        "kernelrelease": "5.2.3790",
        "os": "Windows",
        "os_family": "Windows",
        "osfullname": CAPTION,
        "osmanufacturer": "Microsoft Corporation",
        "osrelease": "2003Server",
        "osservicepack": "Service Pack 2",
        "osversion": "5.2.3790",
    }
}

OSQUERY: dict[str, Any] = {
    "os_version": [
        {
            "arch": "",
            "build": "3790",
            "codename": CAPTION,
            "install_date": "1178013600",
            "major": "5",
            "minor": "2",
            "name": CAPTION,
            "patch": "",
            "platform": "windows",
            "platform_like": "windows",
            "version": "5.2.3790",
        }
    ],
    "interface_addresses": [
        {"interface": "1", "address": "127.0.0.1", "mask": "255.0.0.0", "type": "unknown"},
        {"interface": "1", "address": "::1", "mask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"interface": "2", "address": ADDRESS, "mask": "255.255.255.0", "type": "manual"},
        {"interface": "2", "address": "169.254.12.7", "mask": "255.255.0.0", "type": "auto"},
    ],
    "patches": [
        {"hotfix_id": "KB885407", "description": "Update", "installed_on": "5/2/2007"},
        {"hotfix_id": "Q147222", "description": "Update", "installed_on": ""},
    ],
    "registry": [
        {
            "name": "CSDVersion",
            "data": "Service Pack 2",
            "type": "REG_SZ",
            "path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
            "\\CSDVersion",
        }
    ],
}

# Every format's record of the machine: (name, format, data).
SAME_MACHINE: list[tuple[str, str, object]] = [
    ("systeminfo (English)", "systeminfo", SYSTEMINFO_EN),
    ("systeminfo (Japanese)", "systeminfo", SYSTEMINFO_JA),
    ("systeminfo /fo csv", "systeminfo", SYSTEMINFO_CSV),
    ("wmi", "wmi", WMI),
    ("ansible", "ansible", ANSIBLE),
    ("salt", "salt", SALT),
    ("osquery", "osquery", OSQUERY),
]


def as_json(value: object) -> str:
    """A record as the tool prints it (JSON formats), or the text itself."""
    return value if isinstance(value, str) else json.dumps(value, indent=2)


# A second machine: Windows Server 2003, Standard x64 Edition, SP2 — the same records with
# the caption, system type and processor architecture that machine reports.
X64_CAPTION = "Microsoft(R) Windows(R) Server 2003, Standard x64 Edition"
_X64_CHANGES = {
    CAPTION: X64_CAPTION,
    "X86-based PC": "x64-based PC",
    '"ansible_architecture2": "i386"': '"ansible_architecture2": "x86_64"',
    '"cpuarch": "x86"': '"cpuarch": "AMD64"',
}


def _on_x64(data: object) -> object:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    for old, new in _X64_CHANGES.items():
        text = text.replace(old, new)
    return text if isinstance(data, str) else json.loads(text)


X64_MACHINE: list[tuple[str, str, object]] = [
    (name, fmt, _on_x64(data)) for name, fmt, data in SAME_MACHINE
]
