"""Inbound email, read: what a message as SES stores it (raw RFC 5322 bytes in S3) says. Pure.

Python's `email` package (policy=email.policy.default) does the parsing; this module only picks out what email
intake decides on (domain/mail_intake.py): the sender, the subject and its incident reference, the text (the
text/plain part, else the HTML one as text; a reply without what it quotes), the attachments, and the headers that
mark auto-replies, bounces and SES's verdicts. Nothing here trusts the message: a header that does not parse is
read as absent or as its raw text, an unknown charset is decoded with replacements, and no input raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from email.utils import getaddresses
from html import unescape
from html.parser import HTMLParser

# Subject prefixes mail programs add to replies and forwards (English, German, Nordic, Dutch, French, Spanish, Italian).
REPLY_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rv|rif|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*", re.IGNORECASE
)
REFERENCE = re.compile(r"\bINC-(\d{1,12})\b", re.IGNORECASE)
# Where the text a reply quotes begins: the attribution lines of the common mail programs, Outlook's header block.
_QUOTE_STARTS = (
    re.compile(r"^\s*On\b(?=.*\d).{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(
        r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE
    ),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's rule above its header block
)
_OUTLOOK_HEADER = re.compile(r"^\s*\*?(?:From|Von|De)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(?:Sent|Date|Gesendet|Envoyé|To|An|À)\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(r"^-- ?$")  # RFC 3676's signature separator


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # bytes, decoded
    part: int  # its position in the message's parts, depth first (Message.walk): where it is in the raw message


@dataclass(frozen=True)
class InboundMail:
    sender: str  # From's address, lower case ("" when the message names none)
    sender_name: str
    subject: str  # decoded, on one line
    message_id: str | None
    replying: bool  # In-Reply-To or References present, or the subject starts like a reply or forward
    return_path: str | None  # the envelope sender SES recorded: "" for a bounce's null sender <>, None when absent
    text: str  # the text/plain body, else the HTML one as text
    attachments: tuple[Attachment, ...]
    headers: dict[str, str]  # lower-case name → the first value of each header intake looks at (HEADERS)
    content_type: str
    report_type: str | None  # multipart/report's report-type (delivery-status: a bounce)
    size: int  # bytes of the raw message

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    @property
    def reference(self) -> str | None:
        """The incident reference the subject carries (INC-<n>), if any."""
        found = REFERENCE.search(self.subject)
        return f"INC-{int(found[1])}" if found else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


# What intake decides on (domain/mail_intake.py): auto-replies, bulk mail, SES's verdicts (the topmost
# Authentication-Results: SES prepends its own above any the message arrived with).
HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "list-id",
    "authentication-results",
    "x-ses-spam-verdict",
    "x-ses-virus-verdict",
    "in-reply-to",
    "references",
)


def parse(raw: bytes) -> InboundMail:
    message = message_from_bytes(raw, policy=default_policy)
    sender_name, sender = _sender(_header(message, "from") or "")
    subject = " ".join((_header(message, "subject") or "").split())
    headers = {name: value for name in HEADERS if (value := _header(message, name)) is not None}
    return_path = _header(message, "return-path")
    body_part = _body_part(message)
    attachments = tuple(_attachments(message, body_part))
    return InboundMail(
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        message_id=(_header(message, "message-id") or "").strip() or None,
        replying=bool(headers.get("in-reply-to") or headers.get("references") or REPLY_PREFIX.match(subject)),
        return_path=None if return_path is None else return_path.strip().strip("<>").strip(),
        text=_text_of(body_part) if body_part is not None else "",
        attachments=attachments,
        headers=headers,
        content_type=message.get_content_type(),
        report_type=_report_type(message),
        size=len(raw),
    )


def title_of(subject: str) -> str:
    """The subject without its reply and forward prefixes (however many)."""
    previous = None
    while previous != subject:
        previous, subject = subject, REPLY_PREFIX.sub("", subject, count=1)
    return subject.strip()


def without_quotes(text: str) -> str:
    """What a reply itself says: the text above the first attribution line or quoted block, without '>' lines and
    without the signature."""
    lines = text.splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        pair = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line  # attributions wrap onto a second line
        if any(p.match(line) or p.match(pair) for p in _QUOTE_STARTS) or _SIGNATURE.match(line):
            break
        if _OUTLOOK_HEADER.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 4]):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


# --- reading a message that may be broken in any way --------------------------------------------------


def _header(message: Message, name: str) -> str | None:
    """A header's first value, decoded; its raw text if it does not parse; None if absent."""
    raw = next((value for key, value in message.raw_items() if key.lower() == name), None)
    if raw is None:
        return None
    try:
        return str(message[name])
    except Exception:  # (the email package can raise on malformed headers; the raw text still says something)
        try:
            return str(make_header(decode_header(raw)))
        except Exception:
            return str(raw)


def _sender(value: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox in From, the address lower-cased; ("", "") without one."""
    try:
        mailboxes = getaddresses([value])
    except Exception:
        return "", ""
    for name, address in mailboxes:
        address = address.strip().lower()
        local, at, domain = address.rpartition("@")
        if at and local and domain and " " not in address and len(address) <= 254:
            return name.strip(), address
    return "", ""


def _body_part(message: Message) -> Message | None:
    if isinstance(message, EmailMessage):
        try:
            part = message.get_body(preferencelist=("plain", "html"))
        except Exception:
            part = None
        if part is not None:
            return part
    return message if message.get_content_maintype() == "text" and not message.get_filename() else None


def _report_type(message: Message) -> str | None:
    """A multipart/report's report-type parameter (RFC 6522: delivery-status for a bounce)."""
    if message.get_content_type() != "multipart/report":
        return None
    value = message.get_param("report-type")
    return value if isinstance(value, str) and value else None


def _decoded(part: Message) -> str:
    try:
        # Parsed with policy=default, every part is an EmailMessage, which decodes its own content.
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except Exception:  # an unknown charset, a broken transfer encoding
        pass
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return str(part.get_payload() or "")


def _text_of(part: Message) -> str:
    text = _decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").strip()


def _attachments(message: Message, body: Message | None) -> list[Attachment]:
    found = []
    for position, part in enumerate(message.walk()):
        if part.is_multipart() or part is body:
            continue
        filename = _filename(part)
        if part.get_content_disposition() != "attachment" and not filename:
            continue  # an alternative body (text/html beside text/plain), not a file
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=filename or f"part-{position}",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
                part=position,
            )
        )
    return found


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        return ""
    return " ".join(str(name).split())[:255] if name else ""


class _TextOfHtml(HTMLParser):
    """The text an HTML mail shows: block elements on lines of their own, no scripts or styles."""

    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS and tag != "li":  # (the next item starts its own line)
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # (HTMLParser is lenient; this is for what it still refuses)
        return unescape(re.sub(r"<[^>]*>", " ", html))
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
