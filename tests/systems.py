"""Systems several test modules send: the platform KB885348 is about."""

# Windows Server 2003 Enterprise x86 SP2 as an L2TP/IPSec VPN server; add `behind_nat`
# (or addresses it is derived from) for a system the article applies to.
SERVER_2003_VPN = {
    "product": "windows_server_2003",
    "edition": "enterprise",
    "architecture": "x86",
    "service_pack": 2,
    "roles": ["vpn_server"],
}
