"""The optional [sites.contact] table: validated once, filled for Kent & Medway from the CSV."""

import csv
import tomllib

import pytest

from tests.conftest import shared_path
from tests.domain.test_region import MINIMAL
from waitless.domain.errors import RegionError
from waitless.domain.region import Region, parse_region

CONTACT = """
[sites.contact]
address = "Ethelbert Road, Canterbury, Kent"
postcode = "CT1 3NG"
phone = "01227 766877"
phone_note = "trust switchboard"
website = "https://example.nhs.uk/kch"
sources = ["https://www.cqc.org.uk/location/RVVKC"]
"""


def _with_contact(contact: str):
    # The contact table belongs to the last [[sites]]; it must come before its services.
    head, services = MINIMAL.split("[[sites.services]]", 1)
    return parse_region(tomllib.loads(head + contact + "[[sites.services]]" + services))


def test_contact_is_parsed_and_a_site_without_one_has_none() -> None:
    site = _with_contact(CONTACT).sites[0]
    assert site.contact.postcode == "CT1 3NG"
    assert site.contact.phone_tel == "tel:+441227766877"
    assert site.contact.hours_text is None  # left out = unknown, not invented
    assert parse_region(tomllib.loads(MINIMAL)).sites[0].contact is None


@pytest.mark.parametrize(("change", "message"), [
    (("CT1 3NG", "CT1"), "not a full UK postcode"),
    (("01227 766877", "call the switchboard"), "must be a UK number"),
    (("https://example.nhs.uk/kch", "example.nhs.uk/kch"), "must be an http(s) address"),
    (("phone_note", "fax"), "unknown contact key(s) fax"),
    (('address = "Ethelbert Road, Canterbury, Kent"', 'address = ""'), "non-empty text"),
])
def test_bad_contact_values_are_refused(change, message) -> None:
    with pytest.raises(RegionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _with_contact(CONTACT.replace(*change))


def test_kent_contacts_follow_the_reference_csv(kent: Region) -> None:
    rows = {r["ods_code"]: r for r in csv.DictReader(
        shared_path("reference", "sites-contact-kent-medway.csv").open())}
    assert {s.id for s in kent.sites} == set(rows)
    for site in kent.sites:
        row, contact = rows[site.id], site.contact
        assert contact is not None, site.id
        assert contact.postcode == (row["postcode"] or None), site.id
        # Every phone shown is one the CSV published for this site; none where it has none.
        if row["phone"]:
            assert contact.phone in row["phone"], site.id
        else:
            assert contact.phone is None, site.id
        assert (contact.website is None) == (row["website"] == ""), site.id
        assert set(contact.sources) == set(row["source_urls"].split()), site.id
    # The disagreements the CSV lists are carried as notes, the published value used.
    assert kent.site("AQM01").contact.postcode == "ME13 8PR"
    assert "ME13 8QR" in kent.site("AQM01").contact.notes
    assert "9am to 9pm" in kent.site("RYYC7").contact.notes
    assert "Victoria Memorial Hospital" in kent.site("RYYCH").contact.notes
