"""A site's public contact details: the optional ``[sites.contact]`` table of a region file.

What a patient needs to find and ring a site: street address, postcode, a public phone number,
the site's own web page and the opening hours as the site publishes them. Every value is
optional, because a value nobody has published must stay unknown rather than be guessed; the
page says "not known" where one is missing.

::

    [sites.contact]
    address = "Ethelbert Road, Canterbury, Kent"
    postcode = "CT1 3NG"
    phone = "01227 766877"
    phone_note = "trust switchboard"
    website = "https://www.ekhuft.nhs.uk/..."
    hours_text = "24 hours"
    sources = ["https://www.cqc.org.uk/location/RVVKC"]
    notes = "The paediatric minor-illness limit (8am-6pm) ..."
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from waitless.domain.errors import RegionError

# A UK postcode (outward and inward code), e.g. "CT1 3NG", "ME13 8PR"; upper case, one space.
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
# A UK national number as printed: 10 or 11 digits starting with 0, spaces allowed.
_PHONE = re.compile(r"^0[0-9 ]{9,12}[0-9]$")
_KEYS = frozenset({"address", "postcode", "phone", "phone_note", "website", "hours_text",
                   "sources", "notes"})


@dataclass(frozen=True, slots=True)
class SiteContact:
    """Contact details of one site; ``None`` means no published source was found."""

    address: str | None = None
    postcode: str | None = None
    phone: str | None = None
    phone_note: str | None = None
    website: str | None = None
    hours_text: str | None = None
    sources: tuple[str, ...] = ()
    notes: str | None = None

    @property
    def phone_tel(self) -> str | None:
        """The phone number as a ``tel:`` URI in international form (``tel:+441227766877``)."""
        if self.phone is None:
            return None
        digits = self.phone.replace(" ", "")
        return "tel:+44" + digits[1:]


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: contact {key} must be non-empty text (leave it out when unknown)"
        raise RegionError(msg)
    return value.strip()


def _url(value: str, where: str, key: str) -> str:
    if not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
        msg = f"{where}: contact {key} {value!r} must be an http(s) address"
        raise RegionError(msg)
    return value


def parse_contact(raw: Any, where: str) -> SiteContact | None:
    """Validate a ``[sites.contact]`` table (``None`` when the site has none).

    Raises
    ------
    RegionError
        For an unknown key, a malformed postcode, phone number or web address.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        msg = f"{where}: contact must be a table"
        raise RegionError(msg)
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        msg = (f"{where}: unknown contact key(s) {', '.join(unknown)}; "
               f"known: {', '.join(sorted(_KEYS))}")
        raise RegionError(msg)
    postcode = _text(raw, "postcode", where)
    if postcode is not None and not _POSTCODE.match(postcode):
        msg = f"{where}: contact postcode {postcode!r} is not a full UK postcode like 'CT1 3NG'"
        raise RegionError(msg)
    phone = _text(raw, "phone", where)
    if phone is not None and not _PHONE.match(phone):
        msg = f"{where}: contact phone {phone!r} must be a UK number like '01227 766877'"
        raise RegionError(msg)
    website = _text(raw, "website", where)
    sources = raw.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        msg = f"{where}: contact sources must be a list of web addresses"
        raise RegionError(msg)
    return SiteContact(
        address=_text(raw, "address", where), postcode=postcode, phone=phone,
        phone_note=_text(raw, "phone_note", where),
        website=None if website is None else _url(website, where, "website"),
        hours_text=_text(raw, "hours_text", where),
        sources=tuple(_url(s, where, "source") for s in sources),
        notes=_text(raw, "notes", where),
    )
