"""PostgreSQL tables for imported NHS England monthly A&E provider rows (migration 4).

``nhse_ae_import``      one row per month: which file currently supplies that month
``nhse_ae_monthly``     one row per provider-month, raw published counts (NULL = column absent)
``nhse_ae_import_log``  append-only history of every import attempt that wrote or skipped a month

Raw counts are kept, not derived shares, so counting rules can be recomputed later.
"""

from __future__ import annotations

# Count columns of nhse_ae_monthly, in file order; nhse.py maps CSV headers onto these names.
COUNT_COLUMNS = (
    "type1", "type2", "other",
    "booked_type1", "booked_type2", "booked_other",
    "over4_type1", "over4_type2", "over4_other",
    "over4_booked_type1", "over4_booked_type2", "over4_booked_other",
    "dta_wait_4_12_hours", "dta_wait_over_12_hours",
    "emergency_admissions_type1", "emergency_admissions_type2", "emergency_admissions_other",
    "other_emergency_admissions",
)

_COUNT_DDL = ",\n    ".join(f"{name} integer CHECK ({name} >= 0)" for name in COUNT_COLUMNS)

STATS_TABLES_SQL = f"""
CREATE TABLE IF NOT EXISTS nhse_ae_import (
    month date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    period_label text NOT NULL,
    source_file text NOT NULL,
    sha256 text NOT NULL,
    provider_rows integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nhse_ae_monthly (
    month date NOT NULL REFERENCES nhse_ae_import (month) ON DELETE CASCADE,
    org_code text NOT NULL,
    parent_org text NOT NULL,
    org_name text NOT NULL,
    {_COUNT_DDL},
    PRIMARY KEY (month, org_code)
);

CREATE INDEX IF NOT EXISTS nhse_ae_monthly_org_month ON nhse_ae_monthly (org_code, month);

CREATE TABLE IF NOT EXISTS nhse_ae_import_log (
    id bigserial PRIMARY KEY,
    month date NOT NULL,
    source_file text NOT NULL,
    sha256 text NOT NULL,
    provider_rows integer NOT NULL,
    action text NOT NULL CHECK (action IN ('imported', 'replaced', 'unchanged')),
    previous_sha256 text,
    logged_at timestamptz NOT NULL DEFAULT now()
);
"""

