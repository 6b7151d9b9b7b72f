"""The columns of NHS England's monthly A&E provider CSVs, as published over the years.

Header text is matched whitespace-collapsed and case-insensitively; each count column lists
every spelling seen in the published files (2018 to 2025).
"""

from __future__ import annotations

# Published header (whitespace-collapsed, case-insensitive) -> count column. Each column lists
# the spellings seen in NHS England files.
HEADERS: dict[str, tuple[str, ...]] = {
    # 2018-19 files prefix "Number of" and say "Other A&E Department" for over-4-hours too.
    "type1": ("A&E attendances Type 1", "Number of A&E attendances Type 1"),
    "type2": ("A&E attendances Type 2", "Number of A&E attendances Type 2"),
    "other": ("A&E attendances Other A&E Department",
              "Number of A&E attendances Other A&E Department"),
    "booked_type1": ("A&E attendances Booked Appointments Type 1",),
    "booked_type2": ("A&E attendances Booked Appointments Type 2",),
    "booked_other": ("A&E attendances Booked Appointments Other Department",),
    "over4_type1": ("Attendances over 4hrs Type 1", "Number of attendances over 4hrs Type 1"),
    "over4_type2": ("Attendances over 4hrs Type 2", "Number of attendances over 4hrs Type 2"),
    "over4_other": ("Attendances over 4hrs Other Department",
                    "Number of attendances over 4hrs Other A&E Department"),
    "over4_booked_type1": ("Attendances over 4hrs Booked Appointments Type 1",),
    "over4_booked_type2": ("Attendances over 4hrs Booked Appointments Type 2",),
    "over4_booked_other": ("Attendances over 4hrs Booked Appointments Other Department",),
    "dta_wait_4_12_hours": ("Patients who have waited 4-12 hs from DTA to admission",
                            "Patients who have waited 4-12 hrs from DTA to admission"),
    "dta_wait_over_12_hours": ("Patients who have waited 12+ hrs from DTA to admission",),
    "emergency_admissions_type1": ("Emergency admissions via A&E - Type 1",),
    "emergency_admissions_type2": ("Emergency admissions via A&E - Type 2",),
    "emergency_admissions_other": ("Emergency admissions via A&E - Other A&E department",),
    "other_emergency_admissions": ("Other emergency admissions",),
}
ID_HEADERS = {"period": "Period", "org_code": "Org Code", "parent_org": "Parent Org",
               "org_name": "Org name"}
# Without these a file cannot feed the counting rule; the other count columns become NULL.
REQUIRED_COUNTS = ("type1", "type2", "other")
# Published from 2020-21 on; older files lack them (stored NULL, counted as 0 by the rule), but
# a file that has one of them must fill it in every provider row.
BOOKED_COUNTS = ("booked_type1", "booked_other")
