#!/usr/bin/env python3
"""Generate the message benchmark corpus (benches/corpus/*.eml).

Deterministic: the same script writes the same bytes on every run (fixed seeds, no clock,
no environment). All names, domains and text are invented; domains are under example.com,
example.org, example.net or .test.

    python3 benches/corpus/generate.py          # rewrites the .eml files next to this script

Each message is built as a list of lines and written with CRLF line endings, except the
ones marked LF-only. The mix covers what real mailboxes hold: short and long plain text,
quoted-printable, multipart/alternative, multipart/mixed with base64 attachments of a few
KiB up to 1 MiB, nested multiparts, message/rfc822 forwards, long recipient lists (display
names, quoted strings, comments, groups), RFC 2047 encoded words in several charsets,
RFC 2231 parameters, long folded headers (References, Received chains, DKIM-Signature),
obsolete syntax (two-digit years, obsolete zones, obs-route, obs-local-part), a DSN
bounce and mailing-list traffic.
"""

import base64
import datetime
import os
import quopri
import random

HERE = os.path.dirname(os.path.abspath(__file__))

FIRST = [
    "Alice", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kalani", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko",
    "Ulla", "Viktor", "Wen", "Xavier", "Yara", "Zeno",
]
LAST = [
    "Andersen", "Bergmann", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gallo", "Horvat",
    "Ito", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quist", "Rossi", "Schulz", "Tanaka", "Urban", "Vogel", "Weber", "Yilmaz", "Zimmer",
]
# Names with characters outside ASCII, for encoded words and UTF-8 headers.
INTL = [
    ("Jürgen Müller", "juergen.mueller"), ("Zoë Ångström", "zoe.angstrom"),
    ("François Lefèvre", "francois.lefevre"), ("Søren Kierkegård", "soren.k"),
    ("Łucja Wąsowska", "lucja.w"), ("Ðorđe Petrović", "djordje.p"),
    ("Ana Łopez Niño", "ana.nino"), ("Renée Çelik", "renee.celik"),
]
JAPANESE = [("山田 太郎", "taro.yamada"), ("佐藤 花子", "hanako.sato"), ("鈴木 一郎", "ichiro.suzuki")]
DOMAINS = [
    "example.com", "example.org", "example.net", "mail.example.com", "lists.example.org",
    "corp.example.net", "alpha.test", "beta.test", "eu.example.com", "research.example.org",
]
WORDS = (
    "the of and to in is that for it as with was on be by this are from at or an have not "
    "but which they all were we when your can said there use each how their if will up other "
    "about out many then them these so some her would make like him into time has look two "
    "more write go see number no way could people my than first water been call who its now "
    "find long down day did get come made may part over new sound take only little work know "
    "place year live me back give most very after thing our just name good sentence man think "
    "say great where help through much before line right too mean old any same tell boy follow "
    "came want show also around form three small set put end does another well large must big "
    "even such because turn here why ask went men read need land different home us move try "
    "kind hand picture again change off play spell air away animal house point page letter "
    "mother answer found study still learn should world high every near add food between own "
    "below country plant last school father keep tree never start city earth eye light thought "
    "head under story saw left few while along might close something seem next hard open "
    "example begin life always those both paper together got group often run important until "
    "children side feet car mile night walk white sea began grow took river four carry state "
    "once book hear stop without second later miss idea enough eat face watch far indian real "
    "almost let above girl sometimes mountain cut young talk soon list song being leave family "
    "release server queue relay mailbox delivery invoice meeting schedule budget quarter review"
).split()
UTF8_WORDS = ["Grüße", "naïve", "café", "Straße", "Ökonomie", "déjà", "façade", "smörgåsbord",
              "Zürich", "élève", "€", "—", "“quoted”", "…", "mañana", "Ærø"]


class Gen:
    """A seeded source of names, addresses and text for one message."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def name(self):
        return f"{self.r.choice(FIRST)} {self.r.choice(LAST)}"

    def local(self, name):
        first, last = name.split(" ", 1)
        style = self.r.randrange(4)
        if style == 0:
            return f"{first.lower()}.{last.lower()}"
        if style == 1:
            return f"{first[0].lower()}{last.lower()}"
        if style == 2:
            return f"{first.lower()}{self.r.randrange(100)}"
        return f"{first.lower()}_{last.lower()}+{self.r.choice(['lists', 'work', 'x'])}"

    def domain(self):
        return self.r.choice(DOMAINS)

    def addr(self):
        n = self.name()
        return n, f"{self.local(n)}@{self.domain()}"

    def mailbox(self):
        n, a = self.addr()
        return f"{n} <{a}>"

    def sentence(self, lo=6, hi=18, utf8=False):
        words = [self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi))]
        if utf8 and self.r.random() < 0.5:
            words.insert(self.r.randrange(len(words)), self.r.choice(UTF8_WORDS))
        s = " ".join(words)
        return s[0].upper() + s[1:] + self.r.choice([".", ".", ".", "?", "!"])

    def paragraph(self, utf8=False):
        return " ".join(self.sentence(utf8=utf8) for _ in range(self.r.randint(2, 6)))

    def text_lines(self, approx_bytes, width=72, utf8=False):
        """Wrapped paragraphs totalling about approx_bytes."""
        lines, total = [], 0
        while total < approx_bytes:
            words = self.paragraph(utf8=utf8).split(" ")
            cur = ""
            for w in words:
                if cur and len(cur) + 1 + len(w) > width:
                    lines.append(cur)
                    total += len(cur.encode()) + 2
                    cur = w
                else:
                    cur = f"{cur} {w}" if cur else w
            if cur:
                lines.append(cur)
                total += len(cur.encode()) + 2
            lines.append("")
            total += 2
        return lines

    def msgid(self):
        return f"<{self.r.getrandbits(64):016x}.{self.r.randrange(10**6)}@{self.domain()}>"

    def date(self):
        d = datetime.date(self.r.randint(2019, 2026), self.r.randint(1, 12), self.r.randint(1, 28))
        day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d.weekday()]
        mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec"][d.month - 1]
        zone = self.r.choice(["+0000", "+0100", "+0200", "-0500", "-0800", "+0900", "+0530"])
        return (f"{day}, {d.day} {mon} {d.year} {self.r.randint(0, 23):02d}:"
                f"{self.r.randint(0, 59):02d}:{self.r.randint(0, 59):02d} {zone}")

    def boundary(self):
        return f"=_b{self.r.getrandbits(48):012x}"

    def blob(self, n):
        return self.r.randbytes(n)


# ---------------------------------------------------------------------------------------
# Encoding helpers (written here rather than taken from the email package, so that the
# exact bytes, folding and charset labels are under control).

def ew_b(text, charset="utf-8", pycodec=None):
    data = text.encode(pycodec or charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def ew_q(text, charset="utf-8", pycodec=None):
    out = []
    for b in text.encode(pycodec or charset):
        c = chr(b)
        if c == " ":
            out.append("_")
        elif c.isalnum() and b < 128:
            out.append(c)
        else:
            out.append(f"={b:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def ew_split(text, charset="utf-8", chunk=12):
    """Several adjacent B encoded words, each a whole number of characters."""
    words = []
    for i in range(0, len(text), chunk):
        words.append(ew_b(text[i:i + chunk], charset))
    return "\r\n ".join(words)


def b64_lines(data, width=76):
    s = base64.b64encode(data).decode()
    return [s[i:i + width] for i in range(0, len(s), width)]


def qp_lines(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii").split("\n")


def fold_list(name, items, sep=",", width=78):
    """`Name: a, b, c` folded before items so that lines stay under width where possible."""
    lines = []
    cur = f"{name}:"
    for i, item in enumerate(items):
        piece = item + (sep if i < len(items) - 1 else "")
        if len(cur) + 1 + len(piece) > width and cur.strip() != f"{name}:":
            lines.append(cur)
            cur = " " + piece
        else:
            cur = f"{cur} {piece}"
    lines.append(cur)
    return lines


def headers(g, subject=None, frm=None, to=None, cc=None, extra=(), date=None, msgid=None):
    h = []
    h.append(f"From: {frm or g.mailbox()}")
    if to is not None:
        if isinstance(to, list):
            h += fold_list("To", to)
        else:
            h.append(f"To: {to}")
    else:
        h.append(f"To: {g.mailbox()}")
    if cc:
        if isinstance(cc, list):
            h += fold_list("Cc", cc)
        else:
            h.append(f"Cc: {cc}")
    h.append(f"Subject: {subject if subject is not None else g.sentence(3, 8)[:-1]}")
    h.append(f"Date: {date or g.date()}")
    h.append(f"Message-ID: {msgid or g.msgid()}")
    h += list(extra)
    return h


def mime_text(ctype="text/plain", charset="utf-8", cte="7bit"):
    return [f"Content-Type: {ctype}; charset={charset}", f"Content-Transfer-Encoding: {cte}"]


# ---------------------------------------------------------------------------------------
# Message builders. Each returns a list of lines (without line ends).

def plain_short(seed):
    g = Gen(seed)
    h = headers(g, extra=["MIME-Version: 1.0"] + mime_text())
    return h + [""] + g.text_lines(g.r.randint(200, 1500))


def plain_long(seed, size):
    g = Gen(seed)
    h = headers(g, extra=["MIME-Version: 1.0"] + mime_text(cte="8bit"))
    return h + [""] + g.text_lines(size, utf8=True)


def plain_no_mime(seed):
    g = Gen(seed)
    h = headers(g, extra=["X-Mailer: hand-typed"])
    return h + [""] + g.text_lines(g.r.randint(400, 3000))


def qp_body(seed, size):
    g = Gen(seed)
    text = "\n".join(g.text_lines(size, width=g.r.choice([72, 90, 140]), utf8=True))
    h = headers(g, subject=ew_q("Re: " + g.sentence(3, 6) + " Grüße"),
                extra=["MIME-Version: 1.0"] + mime_text(cte="quoted-printable"))
    return h + [""] + qp_lines(text)


def html_of(g, lines):
    out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>m</title></head>",
           "<body style=\"font-family: sans-serif\">"]
    for ln in lines:
        out.append(f"<p>{ln}</p>" if ln else "<br>")
    out.append("</body></html>")
    return out


def alternative(seed, size, html_cte="quoted-printable", text_cte="7bit"):
    g = Gen(seed)
    b = g.boundary()
    text = g.text_lines(size, utf8=(text_cte != "7bit"))
    h = headers(g, extra=["MIME-Version: 1.0",
                          f"Content-Type: multipart/alternative; boundary=\"{b}\""])
    body = ["This is a multi-part message in MIME format.", "", f"--{b}"]
    body += mime_text(cte=text_cte)
    body += [""]
    if text_cte == "quoted-printable":
        body += qp_lines("\n".join(text))
    elif text_cte == "base64":
        body += b64_lines("\r\n".join(text).encode())
    else:
        body += text
    body += [f"--{b}"] + mime_text("text/html", cte=html_cte) + [""]
    html = "\n".join(html_of(g, text))
    if html_cte == "quoted-printable":
        body += qp_lines(html)
    elif html_cte == "base64":
        body += b64_lines(html.encode())
    else:
        body += html.split("\n")
    body += [f"--{b}--", ""]
    return h + [""] + body


def attachment_part(g, name, data, ctype="application/octet-stream", filename_hdr=None):
    disp = filename_hdr or f"attachment; filename=\"{name}\""
    return [f"Content-Type: {ctype}; name=\"{name}\"",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: {disp}", ""] + b64_lines(data)


def mixed(seed, sizes, text_size=800, encoded_names=False):
    g = Gen(seed)
    b = g.boundary()
    h = headers(g, extra=["MIME-Version: 1.0",
                          f"Content-Type: multipart/mixed; boundary=\"{b}\""])
    body = ["", f"--{b}"] + mime_text() + [""] + g.text_lines(text_size)
    kinds = [("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"),
             ("data.bin", "application/octet-stream"), ("archive.zip", "application/zip"),
             ("scan.png", "image/png")]
    for i, size in enumerate(sizes):
        name, ctype = kinds[i % len(kinds)]
        disp = None
        if encoded_names:
            ename = ew_b(f"Übersicht_{i}_{name}")
            disp = f"attachment; filename=\"{ename}\""
            name = ename
        body += [f"--{b}"] + attachment_part(g, name, g.blob(size), ctype, disp)
    body += [f"--{b}--", ""]
    return h + [""] + body


def nested(seed, img_size, att_size):
    g = Gen(seed)
    bm, ba, br = g.boundary(), g.boundary(), g.boundary()
    text = g.text_lines(1500, utf8=True)
    h = headers(g, extra=["MIME-Version: 1.0",
                          f"Content-Type: multipart/mixed; boundary=\"{bm}\""])
    body = ["", f"--{bm}", f"Content-Type: multipart/alternative; boundary=\"{ba}\"", "",
            f"--{ba}"] + mime_text(cte="quoted-printable") + [""] + qp_lines("\n".join(text))
    body += [f"--{ba}", f"Content-Type: multipart/related; boundary=\"{br}\"; type=\"text/html\"",
             "", f"--{br}"] + mime_text("text/html", cte="quoted-printable") + [""]
    body += qp_lines("\n".join(html_of(g, text[:10]) + ["<img src=\"cid:logo@example.com\">"]))
    body += [f"--{br}", "Content-Type: image/png", "Content-Transfer-Encoding: base64",
             "Content-ID: <logo@example.com>", "Content-Disposition: inline", ""]
    body += b64_lines(g.blob(img_size))
    body += [f"--{br}--", "", f"--{ba}--", ""]
    body += [f"--{bm}"] + attachment_part(g, "minutes.odt", g.blob(att_size),
                                          "application/vnd.oasis.opendocument.text")
    body += [f"--{bm}--", ""]
    return h + [""] + body


def forward(seed, inner_lines, note="Forwarding this, see below."):
    g = Gen(seed)
    b = g.boundary()
    h = headers(g, subject="Fwd: " + g.sentence(3, 6)[:-1],
                extra=["MIME-Version: 1.0", f"Content-Type: multipart/mixed; boundary=\"{b}\""])
    body = ["", f"--{b}"] + mime_text() + ["", note, ""] + g.text_lines(300)
    body += [f"--{b}", "Content-Type: message/rfc822", "Content-Disposition: inline", ""]
    body += inner_lines
    body += [f"--{b}--", ""]
    return h + [""] + body


def recipient_items(g, n, flavour):
    """n recipient entries in various syntactic styles."""
    items = []
    for i in range(n):
        name, addr = g.addr()
        style = (i + flavour) % 9 if flavour >= 0 else 0
        if style == 0:
            items.append(addr)
        elif style == 1:
            items.append(f"{name} <{addr}>")
        elif style == 2:
            last, first = name.split(" ")[1], name.split(" ")[0]
            items.append(f"\"{last}, {first}\" <{addr}>")
        elif style == 3:
            items.append(f"{addr} ({name})")
        elif style == 4:
            iname, ilocal = g.r.choice(INTL)
            items.append(f"{ew_q(iname, 'iso-8859-1') if g.r.random() < 0.5 and all(ord(c) < 256 for c in iname) else ew_b(iname)} <{ilocal}@{g.domain()}>")
        elif style == 5:
            items.append(f"\"{name} (Team {g.r.randrange(9)})\" <{addr}>")
        elif style == 6:
            items.append(f"{name} <{addr}> (via list)")
        elif style == 7:
            items.append(f"\"{name.lower().replace(' ', '.')}@{g.domain()}\" <{addr}>")
        else:
            items.append(f"<{addr}>")
    return items


def many_recipients(seed, n_to, n_cc, flavour, groups=0):
    g = Gen(seed)
    to = recipient_items(g, n_to, flavour)
    cc = recipient_items(g, n_cc, flavour + 3) if n_cc else None
    for k in range(groups):
        members = recipient_items(g, g.r.randint(0, 6), flavour + k)
        to.append(f"Project {chr(65 + k)}: {', '.join(members)};" if members
                  else "undisclosed-recipients:;")
    h = headers(g, to=to, cc=cc, extra=["MIME-Version: 1.0"] + mime_text())
    return h + [""] + g.text_lines(600)


def encoded_words(seed, variant):
    g = Gen(seed)
    extra = ["MIME-Version: 1.0"] + mime_text()
    if variant == "utf8":
        subj = ew_split("Einladung: Jahresversammlung in Zürich — bitte bestätigen ✓", chunk=15)
        frm = f"{ew_b('Jürgen Müller')} <juergen.mueller@example.com>"
        to = f"{ew_q('Zoë Ångström')} <zoe@example.org>, {ew_b('François, Lefèvre')} <fl@example.net>"
    elif variant == "latin1":
        subj = ew_q("Réunion de l'équipe à Genève — ordre du jour".replace("—", "-"), "iso-8859-1")
        frm = f"{ew_q('Renée Fontaine', 'ISO-8859-1')} <renee@example.fr.example.com>"
        to = f"{ew_q('Søren Kierkegård', 'iso-8859-1')} <soren@example.net>"
    elif variant == "cp1252":
        subj = (ew_q("Angebot “Frühling” – 20 € Rabatt…", "windows-1252", "cp1252") + " " +
                ew_b("für Stammkunden", "windows-1252", "cp1252"))
        frm = f"{ew_q('Café Müller – Team', 'windows-1252', 'cp1252')} <team@cafe.example.com>"
        to = g.mailbox()
    elif variant == "sjis":
        subj = ew_b("会議の議事録について", "Shift_JIS", "shift_jis")
        frm = f"{ew_b('山田 太郎', 'Shift_JIS', 'shift_jis')} <taro.yamada@example.jp.example.com>"
        to = f"{ew_b('佐藤 花子', 'shift_jis')} <hanako@example.org>"
    elif variant == "iso2022jp":
        subj = ew_b("来週の打ち合わせの件", "ISO-2022-JP", "iso2022_jp")
        frm = f"{ew_b('鈴木 一郎', 'ISO-2022-JP', 'iso2022_jp')} <ichiro@example.net>"
        to = f"{ew_b('山田 太郎', 'iso-2022-jp', 'iso2022_jp')} <taro@example.com>"
        extra = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=ISO-2022-JP",
                 "Content-Transfer-Encoding: 7bit"]
        body = "お世話になっております。\n来週の打ち合わせについてご連絡いたします。\nよろしくお願いいたします。\n"
        raw = body.encode("iso2022_jp").decode("ascii")
        return headers(g, subject=subj, frm=frm, to=to, extra=extra) + [""] + raw.split("\n")
    else:  # mixed encoded and plain words, with whitespace between adjacent words
        subj = ("[Ticket #4411] " + ew_q("Ärger", "iso-8859-1") + " " + ew_b("mit der") + "\r\n " +
                ew_q("Lieferung", "utf-8") + " (again)")
        frm = f"\"Support\" {ew_b('Desk ✉')} <support@helpdesk.example.com>"
        to = g.mailbox()
    return headers(g, subject=subj, frm=frm, to=to, extra=extra) + [""] + g.text_lines(700, utf8=True)


def rfc2231(seed):
    g = Gen(seed)
    b = g.boundary()
    h = headers(g, subject="Dokumente", extra=[
        "MIME-Version: 1.0", f"Content-Type: multipart/mixed;\r\n boundary=\"{b}\""])
    body = ["", f"--{b}"] + mime_text() + [""] + g.text_lines(400)
    body += [f"--{b}",
             "Content-Type: application/pdf;\r\n name*=utf-8''Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.pdf",
             "Content-Transfer-Encoding: base64",
             "Content-Disposition: attachment;\r\n filename*=utf-8''Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.pdf",
             ""] + b64_lines(g.blob(9000))
    body += [f"--{b}",
             "Content-Type: text/csv; charset=us-ascii",
             "Content-Transfer-Encoding: base64",
             "Content-Disposition: attachment;\r\n"
             " filename*0*=iso-8859-1'de'Jahres%FCbersicht%20;\r\n"
             " filename*1*=2025%20%28endg%FCltig%29;\r\n"
             " filename*2=\".csv\"",
             ""] + b64_lines("\r\n".join(f"{i},{g.r.randrange(10**6)},{g.r.choice(WORDS)}"
                                         for i in range(400)).encode())
    body += [f"--{b}",
             "Content-Type: application/octet-stream",
             "Content-Transfer-Encoding: base64",
             "Content-Disposition: attachment;\r\n"
             " filename*0=\"a-very-long-file-name-that-was-split-by-the-sender-\";\r\n"
             " filename*1=\"because-it-is-longer-than-a-header-line.tar\";\r\n"
             " size=4096",
             ""] + b64_lines(g.blob(4096))
    body += [f"--{b}--", ""]
    return h + [""] + body


def received_chain(g, hops):
    out = []
    for i in range(hops):
        a, b = g.r.randrange(1, 255), g.r.randrange(1, 255)
        frm_host = f"relay{i}.{g.domain()}"
        by_host = f"mx{i + 1}.{g.domain()}"
        out.append(f"Received: from {frm_host} ({frm_host} [192.0.2.{a}])")
        out.append(f"\tby {by_host} (Postfix) with ESMTPS id {g.r.getrandbits(40):010X}")
        out.append(f"\tfor <{g.addr()[1]}>; {g.date()}")
        if i % 3 == 0:
            out.append(f"Received: from [198.51.100.{b}] (helo=client{i}.example.net)")
            out.append(f"\tby {by_host} with esmtpsa (TLS1.3) tls TLS_AES_256_GCM_SHA384")
            out.append(f"\t(Exim 4.97) (envelope-from <{g.addr()[1]}>)")
            out.append(f"\tid 1r{g.r.getrandbits(30):08x}-000{i}-AB; {g.date()}")
    return out


def dkim(g, d="example.com"):
    sig = base64.b64encode(g.blob(256)).decode()
    bh = base64.b64encode(g.blob(32)).decode()
    lines = [f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={d};",
             f"\ts=sel{g.r.randrange(2020, 2026)}; t={g.r.randrange(1_600_000_000, 1_800_000_000)};",
             "\th=from:to:cc:subject:date:message-id:references:in-reply-to:",
             "\t mime-version:content-type:list-id:list-unsubscribe;",
             f"\tbh={bh};", "\tb="]
    for i in range(0, len(sig), 70):
        lines.append("\t " + sig[i:i + 70])
    return lines


def long_headers(seed, n_refs, hops):
    g = Gen(seed)
    refs = [g.msgid() for _ in range(n_refs)]
    trace = received_chain(g, hops)
    extra = dkim(g) + dkim(g, "example.net")
    extra += ["ARC-Seal: i=1; a=rsa-sha256; t=1700000000; cv=none; d=example.org; s=arc;",
              "\tb=" + base64.b64encode(g.blob(96)).decode()]
    extra += ["Authentication-Results: mx.example.org;",
              "\tdkim=pass header.d=example.com header.s=sel2024 header.b=AbCdEf12;",
              "\tspf=pass (example.org: domain of bounce@example.com designates 192.0.2.7",
              "\t as permitted sender) smtp.mailfrom=bounce@example.com;",
              "\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com"]
    extra += fold_list("References", refs, sep="")
    extra += [f"In-Reply-To: {refs[-1]}", "MIME-Version: 1.0"] + mime_text()
    extra += ["Thread-Topic: " + g.sentence(4, 8), "X-Long-Unstructured: " + " ".join(
        g.sentence() for _ in range(3))]
    h = headers(g, subject="Re: " * g.r.randint(1, 6) + g.sentence(4, 9)[:-1], extra=extra)
    # The trace fields come first, like in a delivered message.
    return trace + h + [""] + g.text_lines(1200)


def obsolete(seed, variant):
    g = Gen(seed)
    if variant == 0:
        h = ["From: John Doe <jdoe@machine.example>",
             "To: Mary Smith <mary@example.net>",
             "Subject: Saying Hello (old style)",
             "Date: Fri, 21 Nov 97 09:55:06 GMT",
             "Message-ID: <1234@local.machine.example>"]
    elif variant == 1:
        h = ["From: Joe Q. Public <john.q.public@example.com>",
             "To: Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
             "Cc: \"Joe & J. Harvey\" <ddd @Org>, JJV\r\n @ BBN",
             "Subject: Obsolete addressing",
             "Date: Thu,\r\n      13\r\n        Feb\r\n          69\r\n      23:32\r\n"
             "               -0330 (Newfoundland Time)",
             "Message-ID:              <testabcd.1234@silly.test>"]
    elif variant == 2:
        h = ["From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
             "To:A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
             "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
             "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
             "Subject: Comments everywhere",
             "Date: Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
             "               -0330 (Newfoundland Time)",
             "Message-ID:              <testabcd.1234@silly.test>"]
    elif variant == 3:
        h = ["From: \"Mary . Smith\" <mary.\"smith\"@example.net>",
             "To: john . doe @ example . com, \"odd\\\"quote\"@example.org",
             "Cc: <@route1.example,@route2.example:relay@example.com>, Jane (middle) Doe <jane@example.org>",
             "Subject: obs-local-part and obs-route",
             "Date: 1 Jan 04 00:00 EST",
             "Message-ID: <obs3@example.com>"]
    else:
        h = ["From: postmaster@[192.0.2.1]",
             "To: user@[IPv6:2001:db8::1], \"quoted local\"@example.com",
             "Subject: Domain literals and military zone",
             "Date: Mon, 5 May 03 12:30:00 Z",
             "Message-ID: <lit4@[192.0.2.1]>"]
    return h + [""] + g.text_lines(500)


def dsn(seed, with_full):
    g = Gen(seed)
    b = g.boundary()
    rcpt = g.addr()[1]
    orig = plain_short(seed + 1)
    h = ["Return-Path: <>"] + headers(
        g, subject="Undelivered Mail Returned to Sender",
        frm="MAILER-DAEMON@mx1.example.com (Mail Delivery System)",
        extra=["Auto-Submitted: auto-replied", "MIME-Version: 1.0",
               f"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{b}\""])
    body = ["This is a MIME-encapsulated message.", "", f"--{b}",
            "Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii", "",
            "This is the mail system at host mx1.example.com.", "",
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.", "",
            f"<{rcpt}>: host mx.example.org[192.0.2.25] said: 550 5.1.1",
            "    <{rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO", "    command)", "",
            f"--{b}", "Content-Description: Delivery report", "Content-Type: message/delivery-status", "",
            "Reporting-MTA: dns; mx1.example.com", "X-Postfix-Queue-ID: 4Q7x2K0abcz",
            f"Arrival-Date: {g.date()}", "", f"Final-Recipient: rfc822; {rcpt}",
            f"Original-Recipient: rfc822;{rcpt}", "Action: failed", "Status: 5.1.1",
            "Remote-MTA: dns; mx.example.org",
            f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
            "", f"--{b}"]
    if with_full:
        body += ["Content-Description: Undelivered Message", "Content-Type: message/rfc822", ""]
        body += orig
    else:
        body += ["Content-Description: Undelivered Message Headers",
                 "Content-Type: text/rfc822-headers", ""]
        body += orig[:orig.index("")]
    body += ["", f"--{b}--", ""]
    return h + [""] + body


def mailing_list(seed, digest=False):
    g = Gen(seed)
    lst = f"dev.{g.r.choice(['lists.example.org', 'groups.example.net'])}"
    extra = [f"List-Id: Developer discussion <{lst}>",
             f"List-Unsubscribe: <mailto:dev-unsubscribe@{lst.split('.', 1)[1]}?subject=unsubscribe>,",
             f" <https://{lst.split('.', 1)[1]}/mailman/options/dev>",
             "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
             f"List-Post: <mailto:dev@{lst.split('.', 1)[1]}>",
             f"List-Help: <mailto:dev-request@{lst.split('.', 1)[1]}?subject=help>",
             f"List-Archive: <https://{lst.split('.', 1)[1]}/archives/dev/>",
             "Precedence: list", f"Sender: \"dev\" <dev-bounces@{lst.split('.', 1)[1]}>",
             f"Reply-To: dev@{lst.split('.', 1)[1]}",
             f"Errors-To: dev-bounces@{lst.split('.', 1)[1]}"] + received_chain(g, 3)
    if not digest:
        h = headers(g, subject="[dev] Re: " + g.sentence(3, 7)[:-1], to=f"dev@{lst.split('.', 1)[1]}",
                    extra=extra + ["MIME-Version: 1.0"] + mime_text(cte="quoted-printable"))
        text = []
        for _ in range(3):
            text += ["> " + ln if ln else ">" for ln in g.text_lines(300)]
            text += g.text_lines(400, utf8=True)
        text += ["-- ", "dev mailing list", f"dev@{lst.split('.', 1)[1]}"]
        return h + [""] + qp_lines("\n".join(text))
    b = g.boundary()
    h = headers(g, subject="dev Digest, Vol 42, Issue 7", to=f"dev@{lst.split('.', 1)[1]}",
                extra=extra + ["MIME-Version: 1.0",
                               f"Content-Type: multipart/mixed; boundary=\"{b}\""])
    body = ["", f"--{b}", "Content-Type: text/plain; charset=us-ascii",
            "Content-Description: dev Digest, Vol 42, Issue 7", "",
            "Today's Topics:", ""] + [f"   {i}. {g.sentence(3, 6)}" for i in range(1, 6)] + [""]
    bd = g.boundary()
    body += [f"--{b}", f"Content-Type: multipart/digest; boundary=\"{bd}\"", ""]
    for _ in range(5):
        inner = plain_short(g.r.randrange(10**6))
        body += [f"--{bd}", "Content-Type: message/rfc822", ""] + inner
    body += [f"--{bd}--", "", f"--{b}--", ""]
    return h + [""] + body


def calendar_invite(seed):
    g = Gen(seed)
    b = g.boundary()
    h = headers(g, subject="Invitation: Quarterly review @ Thu 10am",
                extra=["MIME-Version: 1.0", f"Content-Type: multipart/alternative; boundary=\"{b}\""])
    ics = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Corp//Cal//EN", "METHOD:REQUEST",
           "BEGIN:VEVENT", "UID:20260101T100000Z-4411@example.com", "DTSTART:20260108T100000Z",
           "DTEND:20260108T110000Z", "SUMMARY:Quarterly review",
           f"ORGANIZER;CN={g.name()}:mailto:{g.addr()[1]}", "END:VEVENT", "END:VCALENDAR"]
    body = ["", f"--{b}"] + mime_text() + [""] + g.text_lines(300)
    body += [f"--{b}", "Content-Type: text/calendar; charset=utf-8; method=REQUEST",
             "Content-Transfer-Encoding: base64", ""] + b64_lines("\r\n".join(ics).encode())
    body += [f"--{b}--", ""]
    return h + [""] + body


def eightbit_utf8_headers(seed):
    """RFC 6532: raw UTF-8 in header fields."""
    g = Gen(seed)
    iname, ilocal = g.r.choice(INTL)
    jname, jlocal = g.r.choice(JAPANESE)
    h = headers(g, subject="Grüße aus Köln — 来週の予定",
                frm=f"{iname} <{ilocal}@example.com>",
                to=f"{jname} <{jlocal}@example.jp.example.net>, José <josé@exämple.test>",
                extra=["MIME-Version: 1.0"] + mime_text(cte="8bit"))
    return h + [""] + g.text_lines(900, utf8=True)


# ---------------------------------------------------------------------------------------

def corpus():
    """(file name, lines, line ending) for every corpus message."""
    m = []
    add = lambda name, lines, eol="\r\n": m.append((name, lines, eol))
    for i in range(5):
        add(f"plain-short-{i}", plain_short(100 + i))
    add("plain-nomime-0", plain_no_mime(110))
    add("plain-long-0", plain_long(120, 40_000))
    add("plain-long-1", plain_long(121, 120_000))
    add("plain-long-2", plain_long(122, 250_000))
    add("qp-0", qp_body(130, 5_000))
    add("qp-1", qp_body(131, 30_000))
    add("qp-2", qp_body(132, 90_000))
    add("alternative-0", alternative(140, 1_500))
    add("alternative-1", alternative(141, 6_000, html_cte="base64", text_cte="quoted-printable"))
    add("alternative-2", alternative(142, 20_000, html_cte="8bit", text_cte="8bit"))
    add("alternative-3", alternative(143, 3_000, html_cte="quoted-printable", text_cte="base64"))
    add("mixed-4k", mixed(150, [4_096]))
    add("mixed-16k-2", mixed(151, [16_384, 9_000]))
    add("mixed-64k", mixed(152, [65_536]))
    add("mixed-200k-3", mixed(153, [200_000, 30_000, 5_000], encoded_names=True))
    add("mixed-500k", mixed(154, [500_000]))
    add("mixed-1m", mixed(155, [1_000_000]))
    add("mixed-many-small", mixed(156, [2_000 + 300 * i for i in range(12)]))
    add("nested-0", nested(160, 6_000, 20_000))
    add("nested-1", nested(161, 40_000, 120_000))
    add("nested-2", nested(162, 1_500, 3_000))
    add("forward-0", forward(170, plain_short(171)))
    add("forward-1", forward(172, alternative(173, 4_000)))
    add("forward-2", forward(174, forward(175, mixed(176, [20_000]))))
    add("recipients-50", many_recipients(180, 35, 15, 0))
    add("recipients-100", many_recipients(181, 60, 40, 1, groups=2))
    add("recipients-200", many_recipients(182, 150, 50, 2))
    add("recipients-300-groups", many_recipients(183, 200, 100, 4, groups=4))
    add("recipients-500", many_recipients(184, 400, 100, 5))
    add("recipients-plain-120", many_recipients(185, 120, 0, -1))
    add("ew-utf8", encoded_words(190, "utf8"))
    add("ew-latin1", encoded_words(191, "latin1"))
    add("ew-cp1252", encoded_words(192, "cp1252"))
    add("ew-sjis", encoded_words(193, "sjis"))
    add("ew-iso2022jp", encoded_words(194, "iso2022jp"))
    add("ew-mixed", encoded_words(195, "mixed"))
    add("rfc2231-0", rfc2231(200))
    add("long-headers-0", long_headers(210, 100, 12))
    add("long-headers-1", long_headers(211, 40, 20))
    add("long-headers-2", long_headers(212, 100, 10))
    for v in range(5):
        add(f"obsolete-{v}", obsolete(220 + v, v))
    add("dsn-0", dsn(230, with_full=True))
    add("dsn-1", dsn(231, with_full=False))
    add("list-0", mailing_list(240))
    add("list-1", mailing_list(241))
    add("list-digest", mailing_list(242, digest=True))
    add("calendar-0", calendar_invite(250))
    add("utf8-headers-0", eightbit_utf8_headers(260))
    # LF-only line endings, as found in mbox files and on Unix MTAs' local delivery.
    add("lf-plain-0", plain_short(300), "\n")
    add("lf-plain-long", plain_long(301, 60_000), "\n")
    add("lf-alternative", alternative(302, 5_000), "\n")
    add("lf-mixed-64k", mixed(303, [64_000, 8_000]), "\n")
    add("lf-recipients-150", many_recipients(304, 100, 50, 3, groups=1), "\n")
    add("lf-long-headers", long_headers(305, 100, 15), "\n")
    add("lf-ew-utf8", encoded_words(306, "utf8"), "\n")
    add("lf-forward", forward(307, nested(308, 4_000, 8_000)), "\n")
    return m


def main():
    for old in os.listdir(HERE):
        if old.endswith(".eml"):
            os.remove(os.path.join(HERE, old))
    total = 0
    msgs = corpus()
    for name, lines, eol in msgs:
        # Lines may carry embedded "\r\n" (pre-folded headers); normalise to the chosen eol.
        text = "\n".join(lines).replace("\r\n", "\n")
        if not text.endswith("\n"):
            text += "\n"
        data = text.replace("\n", eol).encode("utf-8")
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"{len(msgs)} messages, {total} bytes ({total / 1048576:.2f} MiB)")


if __name__ == "__main__":
    main()
