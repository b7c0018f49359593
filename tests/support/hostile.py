"""Hand-made hostile response bodies: what a poller meets besides well-formed feeds.

``HOSTILE`` is a table of ``Hostile`` cases: the body, the headers it is served with, and
what parsing it must give — ``"error"`` (ParseError), ``"warning"`` (a feed, with at
least one warning) or ``"ok"`` (a feed; warnings allowed). ``must_contain`` is text that
must appear in an entry title; ``must_not_contain`` must appear nowhere in the result.
A bomb's size is bounded by construction, so building the table is cheap.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

ARABIC_TITLE = "وزير الخارجية يجتمع مع الأمين العام لحلف الناتو"


@dataclass(frozen=True)
class Hostile:
    name: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "error"  # "error" | "warning" | "ok"
    must_contain: str | None = None
    must_not_contain: tuple[str, ...] = ()


def rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return (
        f'{prolog}<rss version="2.0"><channel><title>Ministry</title>'
        f"<link>https://ministry.example/</link>{items}</channel></rss>"
    )


def item(title: str, guid: str = "1") -> str:
    return f"<item><title>{title}</title><guid>{guid}</guid></item>"


def billion_laughs(levels: int = 10) -> bytes:
    decls = ['<!ENTITY lol0 "lol">']
    decls += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    dtd = f"<!DOCTYPE rss [{''.join(decls)}]>"
    return rss(item(f"&lol{levels - 1};"), prolog=f'<?xml version="1.0"?>{dtd}').encode()


def xxe(target: str) -> bytes:
    dtd = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{target}">]>'
    return rss(item("leak &xxe; here"), prolog=f'<?xml version="1.0"?>{dtd}').encode()


def xxe_parameter(target: str) -> bytes:
    dtd = f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{target}"> %ext;]>'
    return rss(item("parameter entity"), prolog=f'<?xml version="1.0"?>{dtd}').encode()


def gzip_bomb(decoded_mib: int = 1024) -> bytes:
    """gzip of ``decoded_mib`` MiB of zeros, about 1 KB per MiB, built without ever
    holding the decoded size: with a full flush every MiB the deflate block for each MiB
    is the same bytes, so it is computed once and repeated."""
    mib = b"\0" * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeated = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush()
    crc = 0
    for _ in range(decoded_mib):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + ((decoded_mib << 20) % (1 << 32)).to_bytes(4, "little")
    return header + first + repeated * (decoded_mib - 1) + tail + trailer


_CHALLENGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="35"></head><body><noscript>Enable JavaScript and cookies
to continue</noscript><div id="challenge-stage"></div><script>window._cf_chl_opt={}</script>
</body></html>"""

_ARABIC_1256_NO_DECL = rss(item(ARABIC_TITLE), prolog="").encode("windows-1256")

HOSTILE: tuple[Hostile, ...] = (
    Hostile(
        "malformed XML (unescaped &, unclosed channel)",
        b'<rss version="2.0"><channel><title>x</title><item><title>Q & A</title>'
        b"<guid>1</guid></item><item><title>second",
        {"content-type": "application/rss+xml"},
        outcome="warning",
        must_contain="Q & A",
    ),
    Hostile("bot-challenge HTML page", _CHALLENGE, {"content-type": "text/html; charset=utf-8"}),
    Hostile("HTML page served as RSS", _CHALLENGE, {"content-type": "application/rss+xml"}),
    Hostile("binary garbage", random.Random(4).randbytes(4096)),
    Hostile("gzip bytes served undecoded", zlib.compress(b"<rss>" * 1000)),
    Hostile("billion laughs", billion_laughs(), outcome="warning", must_not_contain=("lollol",)),
    Hostile(
        "XXE to /etc/passwd",
        xxe("file:///etc/passwd"),
        outcome="warning",
        must_not_contain=("root:", "/bin/"),
    ),
    Hostile(
        "XXE by parameter entity",
        xxe_parameter("file:///etc/passwd"),
        outcome="warning",
        must_not_contain=("root:", "/bin/"),
    ),
    Hostile(
        "windows-1256 declared as utf-8",
        _ARABIC_1256_NO_DECL,
        {"content-type": "application/rss+xml; charset=utf-8"},
        outcome="warning",
        must_contain=ARABIC_TITLE,
    ),
    Hostile(
        "windows-1256 with no charset anywhere",
        _ARABIC_1256_NO_DECL,
        outcome="warning",
        must_contain=ARABIC_TITLE,
    ),
    Hostile(
        "windows-1256 declared as iso-8859-1",
        _ARABIC_1256_NO_DECL,
        {"content-type": "text/xml; charset=iso-8859-1"},
        outcome="warning",
        must_contain=ARABIC_TITLE,
    ),
    Hostile(
        "UTF-16 with BOM, header says utf-8",
        rss(item(ARABIC_TITLE), prolog='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16"),
        {"content-type": "application/xml; charset=utf-8"},
        outcome="ok",
        must_contain=ARABIC_TITLE,
    ),
    Hostile(
        "UTF-16BE without BOM",
        rss(item(ARABIC_TITLE), prolog='<?xml version="1.0"?>').encode("utf-16-be"),
        outcome="ok",
        must_contain=ARABIC_TITLE,
    ),
    Hostile(
        "UTF-8 BOM, header says iso-8859-1",
        b"\xef\xbb\xbf" + rss(item(ARABIC_TITLE)).encode(),
        {"content-type": "application/rss+xml; charset=iso-8859-1"},
        outcome="ok",
        must_contain=ARABIC_TITLE,
    ),
    Hostile("empty body", b""),
    Hostile("whitespace body", b" \r\n\t "),
    Hostile("feed with no items", rss("").encode(), outcome="warning"),
    Hostile("XML that is not a feed", b'<?xml version="1.0"?><config><a>1</a></config>'),
    Hostile("JSON that is not a feed", b'{"status": "ok"}', {"content-type": "application/json"}),
    Hostile("truncated JSON Feed", b'{"version": "https://jsonfeed.org/version/1.1", "items": ['),
    Hostile(
        "JSON Feed items not a list", b'{"version": "https://jsonfeed.org/version/1", "items": 3}'
    ),
    Hostile(
        "JSON Feed with junk items",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [1, null, {"id": 7, '
        b'"title": "ok", "date_published": "not a date"}]}',
        outcome="warning",
        must_contain="ok",
    ),
)
