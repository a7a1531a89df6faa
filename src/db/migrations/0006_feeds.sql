-- Surveillance feeds and case reports: who may send what (data a district admin can change), and spreadsheet uploads
-- of feeds recorded as import batches like other imports.

-- The institution types that may send a source's data: a pharmacy reports pharmacy sales, a school its absenteeism,
-- hospitals and primary care their fever clinics and symptom registrations, hospital and CDC laboratories their
-- positives, the CDC its wastewater and environmental samples. Case reports arrive as case reports, never as feeds.
ALTER TABLE surveillance_source ADD COLUMN sender_types text[] NOT NULL DEFAULT '{cdc}';
UPDATE surveillance_source SET sender_types = CASE code
  WHEN 'fever_clinic' THEN '{tertiary_hospital,secondary_hospital,tcm_hospital,mch_hospital,specialty_hospital,community_health_centre,township_health_centre}'::text[]
  WHEN 'sentinel'     THEN '{tertiary_hospital,secondary_hospital,tcm_hospital,mch_hospital,specialty_hospital,community_health_centre,community_health_station,township_health_centre,village_clinic}'::text[]
  WHEN 'pharmacy'     THEN '{pharmacy}'::text[]
  WHEN 'laboratory'   THEN '{tertiary_hospital,secondary_hospital,tcm_hospital,mch_hospital,specialty_hospital,cdc}'::text[]
  WHEN 'school'       THEN '{school}'::text[]
  WHEN 'wastewater'   THEN '{cdc}'::text[]
  WHEN 'case_report'  THEN '{}'::text[]
  ELSE sender_types END;

ALTER TABLE import_batch DROP CONSTRAINT import_batch_kind_check;
ALTER TABLE import_batch ADD CONSTRAINT import_batch_kind_check CHECK (kind IN ('encounters', 'results', 'feeds'));

-- Timeliness per institution reads reports by diagnosis time within an institution.
CREATE INDEX case_report_inst_diag_idx ON case_report (institution_id, diagnosed_at);
