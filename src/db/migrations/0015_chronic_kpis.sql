-- Family-doctor and chronic-disease KPIs (家庭医生签约与慢病管理指标), precomputed per period and unit so that the
-- dashboard reads one indexed range. Aggregates only: no row names a resident. Written by the recompute
-- (modules/chronic/kpis.ts); the definitions are documented there and in docs/api.md.

-- One row per period, level and unit. Units: regions (district, street, community, grid) by region id, centres by
-- institution id (parent: the district), family-doctor teams by team id (parent: their centre).
CREATE TABLE chronic_kpi (
  period_kind          text NOT NULL CHECK (period_kind IN ('month', 'quarter', 'year')),
  period_label         text NOT NULL,
  level                text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid', 'centre', 'team')),
  unit_id              bigint NOT NULL,
  parent_id            bigint,
  name                 text NOT NULL,
  population           integer NOT NULL,
  contracted           integer NOT NULL,
  -- {"elderly": {"population": n, "contracted": m}, "hypertension": …, "diabetes", "pregnant", "children", "mental",
  --  "disability", "special"}
  key_populations      jsonb NOT NULL,
  gps                  integer NOT NULL,
  htn_managed          integer NOT NULL,
  htn_standardised     integer NOT NULL,
  htn_controlled       integer NOT NULL,
  dm_managed           integer NOT NULL,
  dm_standardised      integer NOT NULL,
  dm_controlled        integer NOT NULL,
  follow_ups_due       integer NOT NULL,
  follow_ups_on_time   integer NOT NULL,
  coupons_issued       integer,          -- null: no coupon ledger in this installation
  coupons_used         integer,
  PRIMARY KEY (period_kind, period_label, level, unit_id)
);
CREATE INDEX chronic_kpi_parent_idx ON chronic_kpi (period_kind, period_label, level, parent_id);

-- When each period was computed, what it could see, and the parameters used (minimum visits, windows).
CREATE TABLE chronic_kpi_period (
  period_kind       text NOT NULL,
  period_label      text NOT NULL,
  period_from       timestamptz NOT NULL,
  period_to         timestamptz NOT NULL,
  computed_through  timestamptz NOT NULL,    -- the period's end, or the moment of computation while it runs
  computed_at       timestamptz NOT NULL,
  seconds           numeric(10, 3) NOT NULL,
  parameters        jsonb NOT NULL,
  PRIMARY KEY (period_kind, period_label)
);

-- The recompute's follow-up scan reads a time range of visits (indexes: by enrolment and by resident only).
CREATE INDEX chronic_follow_up_visit_idx ON chronic_follow_up (visit_at);
