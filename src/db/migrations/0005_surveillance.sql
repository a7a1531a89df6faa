-- Infectious disease surveillance (传染病监测预警): feeds, statutory case reports, the detection run's signals and the
-- fused alerts with their workflow. Sources, categories, diseases and fusion rules are data with defaults that a
-- district admin can change.

-- ── Geography for the space-time scan ──────────────────────────────────────────────────────────────────────
-- A community's centroid (WGS-84) and its neighbours. The scan's candidate clusters are a community and its nearest
-- neighbours by centroid distance; "adjacent" in the fusion rules means sharing a border (region_adjacency).
ALTER TABLE region ADD COLUMN lon double precision;
ALTER TABLE region ADD COLUMN lat double precision;

CREATE TABLE region_adjacency (
  region_id    bigint NOT NULL REFERENCES region (id),
  neighbour_id bigint NOT NULL REFERENCES region (id),
  PRIMARY KEY (region_id, neighbour_id),
  CHECK (region_id <> neighbour_id)
);                                                  -- symmetric: both (a, b) and (b, a) are stored

-- ── Sources and categories ─────────────────────────────────────────────────────────────────────────────────
-- `independence` names the stream a source belongs to: fusion counts two signals as independent evidence only when
-- their sources' independence groups differ (a fever clinic and a sentinel both see patients; a pharmacy and a
-- wastewater plant do not).
CREATE TABLE surveillance_source (
  code          text PRIMARY KEY,
  name          text NOT NULL,
  name_en       text NOT NULL,
  independence  text NOT NULL,
  unit          text NOT NULL DEFAULT 'count' CHECK (unit IN ('count', 'percent', 'concentration')),
  sort          integer NOT NULL DEFAULT 0,
  active        boolean NOT NULL DEFAULT true
);

-- `syndrome` ties categories of different sources that watch the same illness, so fusion can ask whether they agree.
CREATE TABLE surveillance_category (
  source_code  text NOT NULL REFERENCES surveillance_source (code),
  code         text NOT NULL,
  name         text NOT NULL,
  name_en      text NOT NULL,
  syndrome     text NOT NULL CHECK (syndrome IN ('respiratory', 'gastrointestinal', 'fever', 'rash', 'other')),
  sort         integer NOT NULL DEFAULT 0,
  active       boolean NOT NULL DEFAULT true,
  PRIMARY KEY (source_code, code)
);

INSERT INTO surveillance_source (code, name, name_en, independence, unit, sort) VALUES
  ('fever_clinic', '发热门诊', 'Fever clinics', 'clinical', 'count', 1),
  ('sentinel',     '发热筛查哨点及11类症状登记', 'Sentinels and symptom registrations', 'primary_care', 'count', 2),
  ('pharmacy',     '药店退热止咳药品销售', 'Pharmacy sales', 'pharmacy', 'count', 3),
  ('laboratory',   '实验室阳性', 'Laboratory positives', 'laboratory', 'count', 4),
  ('school',       '学校因病缺勤', 'School absenteeism', 'school', 'count', 5),
  ('wastewater',   '污水与环境监测', 'Wastewater and environment', 'environment', 'concentration', 6),
  ('case_report',  '传染病报告卡', 'Statutory case reports', 'case_report', 'count', 7);

-- The 11 key symptom classes registered by small clinics (发热等11类症状) are the sentinel's categories.
INSERT INTO surveillance_category (source_code, code, name, name_en, syndrome, sort) VALUES
  ('fever_clinic', 'visits', '发热门诊就诊', 'Fever clinic visits', 'fever', 1),
  ('sentinel', 'fever',         '发热', 'Fever', 'fever', 1),
  ('sentinel', 'dry_cough',     '干咳', 'Dry cough', 'respiratory', 2),
  ('sentinel', 'fatigue',       '乏力', 'Fatigue', 'fever', 3),
  ('sentinel', 'sore_throat',   '咽痛', 'Sore throat', 'respiratory', 4),
  ('sentinel', 'smell_taste',   '嗅（味）觉减退', 'Loss of smell or taste', 'respiratory', 5),
  ('sentinel', 'nasal',         '鼻塞', 'Nasal congestion', 'respiratory', 6),
  ('sentinel', 'runny_nose',    '流涕', 'Runny nose', 'respiratory', 7),
  ('sentinel', 'conjunctivitis','结膜炎', 'Conjunctivitis', 'other', 8),
  ('sentinel', 'myalgia',       '肌痛', 'Myalgia', 'fever', 9),
  ('sentinel', 'diarrhoea',     '腹泻', 'Diarrhoea', 'gastrointestinal', 10),
  ('sentinel', 'dyspnoea',      '呼吸困难', 'Shortness of breath', 'respiratory', 11),
  ('pharmacy', 'antipyretic',   '退热药', 'Antipyretics', 'fever', 1),
  ('pharmacy', 'cough',         '止咳药', 'Cough medicines', 'respiratory', 2),
  ('pharmacy', 'antidiarrhoeal','止泻药', 'Antidiarrhoeals', 'gastrointestinal', 3),
  ('laboratory', 'influenza',   '流感病毒', 'Influenza virus', 'respiratory', 1),
  ('laboratory', 'sars_cov_2',  '新型冠状病毒', 'SARS-CoV-2', 'respiratory', 2),
  ('laboratory', 'norovirus',   '诺如病毒', 'Norovirus', 'gastrointestinal', 3),
  ('school', 'absent_illness',  '因病缺勤', 'Absent through illness', 'other', 1),
  ('wastewater', 'sars_cov_2',  '污水新冠病毒核酸', 'SARS-CoV-2 RNA in wastewater', 'respiratory', 1),
  ('wastewater', 'norovirus',   '污水诺如病毒核酸', 'Norovirus RNA in wastewater', 'gastrointestinal', 2);

-- ── Feeds ──────────────────────────────────────────────────────────────────────────────────────────────────
-- An aggregate count (or level) for one reporting institution, community, source, category and day. Sending the same
-- key again is a correction: it replaces the value (revision + 1), never adds to it. A series' value for a
-- community is the sum over institutions of feed_count plus the active line-list items of feed_item.
CREATE TABLE feed_count (
  institution_id  bigint NOT NULL REFERENCES institution (id),
  source_code     text NOT NULL,
  category_code   text NOT NULL,
  region_id       bigint NOT NULL REFERENCES region (id),      -- a community
  on_date         date NOT NULL,
  value           double precision NOT NULL CHECK (value >= 0),
  revision        integer NOT NULL DEFAULT 1,
  received_at     timestamptz NOT NULL DEFAULT now(),
  first_received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (institution_id, source_code, category_code, region_id, on_date),
  FOREIGN KEY (source_code, category_code) REFERENCES surveillance_category (source_code, code)
);
CREATE INDEX feed_count_series_idx ON feed_count (source_code, category_code, region_id, on_date);
CREATE INDEX feed_count_date_idx ON feed_count (on_date);

-- A line-list item (one registration, one buyer, one positive specimen), keyed by the sender's id so a resend updates
-- it and `entered-in-error` withdraws it. Attributes hold what the source knows (age band, sex, recent travel
-- region and days since return); personal identity stays in the shared record, reached through resident_id.
CREATE TABLE feed_item (
  id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  institution_id  bigint NOT NULL REFERENCES institution (id),
  source_id       text NOT NULL,
  source_code     text NOT NULL,
  category_code   text NOT NULL,
  region_id       bigint NOT NULL REFERENCES region (id),
  on_date         date NOT NULL,
  resident_id     bigint REFERENCES resident (id),
  attributes      jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'entered-in-error')),
  revision        integer NOT NULL DEFAULT 1,
  received_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (institution_id, source_id),
  FOREIGN KEY (source_code, category_code) REFERENCES surveillance_category (source_code, code)
);
CREATE INDEX feed_item_series_idx ON feed_item (source_code, category_code, region_id, on_date) WHERE status = 'active';

-- ── Statutory case reports (传染病报告卡) ─────────────────────────────────────────────────────────────────────
-- class: A (甲类), B (乙类), C (丙类); managed_as_a marks class B diseases managed as class A (乙类甲管).
-- report_hours is the statutory deadline from diagnosis to report (2 for A and managed-as-A, 24 otherwise).
CREATE TABLE notifiable_disease (
  code          text PRIMARY KEY,                  -- ICD-10 (or the national list's own code)
  name          text NOT NULL,
  name_en       text NOT NULL,
  class         text NOT NULL CHECK (class IN ('A', 'B', 'C')),
  managed_as_a  boolean NOT NULL DEFAULT false,
  report_hours  integer NOT NULL,
  syndrome      text NOT NULL DEFAULT 'other',
  active        boolean NOT NULL DEFAULT true
);
INSERT INTO notifiable_disease (code, name, name_en, class, managed_as_a, report_hours, syndrome) VALUES
  ('A00',   '霍乱', 'Cholera', 'A', false, 2, 'gastrointestinal'),
  ('A20',   '鼠疫', 'Plague', 'A', false, 2, 'fever'),
  ('A22',   '炭疽（肺炭疽）', 'Anthrax (pulmonary)', 'B', true, 2, 'respiratory'),
  ('U04',   '传染性非典型肺炎', 'SARS', 'B', true, 2, 'respiratory'),
  ('A80',   '脊髓灰质炎', 'Poliomyelitis', 'B', false, 24, 'other'),
  ('J09',   '人感染高致病性禽流感', 'Human infection with highly pathogenic avian influenza', 'B', false, 24, 'respiratory'),
  ('U07.1', '新型冠状病毒感染', 'COVID-19', 'B', false, 24, 'respiratory'),
  ('B05',   '麻疹', 'Measles', 'B', false, 24, 'rash'),
  ('A39',   '流行性脑脊髓膜炎', 'Meningococcal meningitis', 'B', false, 24, 'fever'),
  ('A90',   '登革热', 'Dengue', 'B', false, 24, 'fever'),
  ('A15',   '肺结核', 'Pulmonary tuberculosis', 'B', false, 24, 'respiratory'),
  ('A03',   '细菌性痢疾', 'Bacillary dysentery', 'B', false, 24, 'gastrointestinal'),
  ('B15',   '病毒性肝炎（甲型）', 'Viral hepatitis A', 'B', false, 24, 'gastrointestinal'),
  ('A38',   '猩红热', 'Scarlet fever', 'B', false, 24, 'rash'),
  ('J10',   '流行性感冒', 'Influenza', 'C', false, 24, 'respiratory'),
  ('B26',   '流行性腮腺炎', 'Mumps', 'C', false, 24, 'other'),
  ('B08.4', '手足口病', 'Hand, foot and mouth disease', 'C', false, 24, 'rash'),
  ('A08',   '其它感染性腹泻病', 'Other infectious diarrhoea', 'C', false, 24, 'gastrointestinal'),
  ('H10',   '急性出血性结膜炎', 'Acute haemorrhagic conjunctivitis', 'C', false, 24, 'other');

CREATE TABLE case_report (
  id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  institution_id  bigint NOT NULL REFERENCES institution (id),
  source_id       text NOT NULL,                   -- the reporting system's own card number
  resident_id     bigint REFERENCES resident (id),
  region_id       bigint NOT NULL REFERENCES region (id), -- community of current address
  disease_code    text NOT NULL REFERENCES notifiable_disease (code),
  case_class      text NOT NULL DEFAULT 'confirmed' CHECK (case_class IN ('suspected', 'clinical', 'confirmed', 'carrier')),
  onset_date      date,
  diagnosed_at    timestamptz NOT NULL,
  reported_at     timestamptz NOT NULL,            -- when the card reached the platform (or the sender's report time)
  deadline_at     timestamptz NOT NULL,            -- diagnosed_at + the disease's report_hours at the time of report
  late            boolean NOT NULL,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revised', 'entered-in-error')),
  revision        integer NOT NULL DEFAULT 1,
  reporter_id     bigint REFERENCES app_user (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (institution_id, source_id)
);
CREATE INDEX case_report_date_idx ON case_report (diagnosed_at);
CREATE INDEX case_report_inst_idx ON case_report (institution_id, reported_at);
CREATE INDEX case_report_disease_idx ON case_report (disease_code, region_id, diagnosed_at);

-- ── Detection runs and signals ─────────────────────────────────────────────────────────────────────────────
CREATE TABLE surveillance_run (
  id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('daily', 'on_demand')),
  as_of         date NOT NULL,                     -- the last day evaluated
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  series_count  integer,
  signal_count  integer,
  alert_count   integer,
  timings       jsonb NOT NULL DEFAULT '{}',       -- seconds per phase, for the console and the benchmark
  error         text,
  requested_by  bigint REFERENCES app_user (id)
);
CREATE INDEX surveillance_run_started_idx ON surveillance_run (started_at DESC);

-- One alarm of one algorithm: for a series (source × category × community) at a date, or a space-time cluster
-- (algorithm 'stscan': region_ids the cluster's communities, start_date..on_date its window, p_value from the Monte
-- Carlo replications). A rerun of the same day updates the signal instead of adding another.
CREATE TABLE signal (
  id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  run_id         bigint REFERENCES surveillance_run (id),
  algorithm      text NOT NULL,                    -- earsC1|earsC2|earsC3|cusum|farringtonFlexible|stscan
  source_code    text NOT NULL,
  category_code  text NOT NULL,
  syndrome       text NOT NULL,
  region_id      bigint NOT NULL REFERENCES region (id),     -- the community (a cluster's centre)
  region_ids     bigint[] NOT NULL,                -- the community, or the cluster's communities
  start_date     date NOT NULL,                    -- = on_date for a daily point; the week's Monday for weekly series
  on_date        date NOT NULL,
  observed       double precision NOT NULL,
  expected       double precision,
  threshold      double precision,                 -- the upper bound the algorithm compared with
  statistic      double precision,                 -- the algorithm's score (e.g. (observed - mean) / sd; LLR for a scan)
  p_value        double precision,
  high           boolean NOT NULL DEFAULT false,   -- beyond the high threshold of the fusion rules
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (algorithm, source_code, category_code, region_id, on_date)
);
CREATE INDEX signal_date_idx ON signal (on_date, syndrome);
CREATE INDEX signal_run_idx ON signal (run_id);

-- ── Fusion rules and alerts (多点触发) ──────────────────────────────────────────────────────────────────────
-- kind multi_source: ≥ params.minSources independent sources of one syndrome signalling in the same or adjacent
--   communities (params.adjacency: same|adjacent) within params.windowDays;
-- kind high_threshold: a single signal whose observed value exceeds params.factor × its threshold (or a scan
--   cluster with p ≤ params.maxP);
-- kind case_report_class: any case report of a disease of class A or managed as class A.
-- Rules are versioned: an edit adds a row with version + 1 and deactivates the old one, so an alert names the exact
-- rule it came from.
CREATE TABLE fusion_rule (
  id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  code        text NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  name        text NOT NULL,
  name_en     text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('multi_source', 'high_threshold', 'case_report_class')),
  params      jsonb NOT NULL DEFAULT '{}',
  risk_level  text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
  active      boolean NOT NULL DEFAULT true,
  created_by  bigint REFERENCES app_user (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (code, version)
);
CREATE UNIQUE INDEX fusion_rule_active_idx ON fusion_rule (code) WHERE active;
INSERT INTO fusion_rule (code, name, name_en, kind, params, risk_level) VALUES
  ('multi_source', '多源信号时空聚集', 'Independent sources agree in space and time', 'multi_source',
   '{"minSources": 2, "windowDays": 3, "adjacency": "adjacent"}', 'high'),
  ('high_threshold', '单源信号超高阈值', 'A single source far beyond its threshold', 'high_threshold',
   '{"factor": 3, "minObserved": 10, "maxP": 0.001}', 'medium'),
  ('class_a_report', '甲类及按甲类管理传染病报告', 'Class A (or managed as class A) case report', 'case_report_class',
   '{"classes": ["A"], "managedAsA": true}', 'critical');

CREATE TABLE alert (
  id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  rule_id        bigint NOT NULL REFERENCES fusion_rule (id),
  risk_level     text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
  syndrome       text NOT NULL,
  region_ids     bigint[] NOT NULL,                -- the communities involved
  first_date     date NOT NULL,
  last_date      date NOT NULL,
  source_codes   text[] NOT NULL,
  dedupe_key     text NOT NULL,                    -- an open alert with the same key is extended, not duplicated
  state          text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'under_review', 'investigating', 'closed_true', 'closed_false')),
  assignee_id    bigint REFERENCES app_user (id),
  case_report_id bigint REFERENCES case_report (id),
  summary        jsonb NOT NULL DEFAULT '{}',      -- what the console needs without re-reading every signal
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  reviewed_at    timestamptz,
  investigating_at timestamptz,
  closed_at      timestamptz
);
CREATE UNIQUE INDEX alert_open_key_idx ON alert (dedupe_key) WHERE state IN ('new', 'under_review', 'investigating');
CREATE INDEX alert_state_idx ON alert (state, created_at DESC);

CREATE TABLE alert_signal (
  alert_id   bigint NOT NULL REFERENCES alert (id),
  signal_id  bigint NOT NULL REFERENCES signal (id),
  PRIMARY KEY (alert_id, signal_id)
);
CREATE INDEX alert_signal_signal_idx ON alert_signal (signal_id);

-- The alert's history: state changes, assignments and notes (the investigation record until outbreak investigation
-- has its own module).
CREATE TABLE alert_event (
  id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  alert_id    bigint NOT NULL REFERENCES alert (id),
  at          timestamptz NOT NULL DEFAULT now(),
  user_id     bigint REFERENCES app_user (id),
  action      text NOT NULL,                      -- created|extended|review|investigate|close_true|close_false|assign|note
  from_state  text,
  to_state    text,
  note        text
);
CREATE INDEX alert_event_alert_idx ON alert_event (alert_id, id);

ALTER TABLE notification ADD COLUMN alert_id bigint REFERENCES alert (id);
