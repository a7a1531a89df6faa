-- The daily detection run (每日监测预警运行): its settings as data a district admin can change, the settings each run
-- used, and one daily run per date.

-- The run's settings: which EARS variant on daily series and with which params, Farrington's params on weekly
-- aggregates, the space-time scan's params and p-value cut-off. One row; '{}' means the defaults of
-- src/modules/surveillance/run-config.ts, and a key given here overrides its default.
CREATE TABLE surveillance_run_setting (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  config      jsonb NOT NULL DEFAULT '{}',
  updated_by  bigint REFERENCES app_user (id),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO surveillance_run_setting (id) VALUES (true);

-- What a run actually used (defaults filled in), so its signals can be reproduced.
ALTER TABLE surveillance_run ADD COLUMN config jsonb;

-- The scheduler runs each date once, even with several server processes: a second daily run for a date that has one
-- running or succeeded fails on this index. A failed run may be repeated.
CREATE UNIQUE INDEX surveillance_run_daily_idx ON surveillance_run (as_of) WHERE kind = 'daily' AND status <> 'failed';

-- Signals listed newest first, and a community's signals including clusters it belongs to.
CREATE INDEX signal_list_idx ON signal (on_date DESC, id DESC);
CREATE INDEX signal_region_ids_idx ON signal USING gin (region_ids);
