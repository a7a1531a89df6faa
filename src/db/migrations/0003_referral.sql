-- ── Two-way referral (双向转诊): slot pools with places reserved for primary care (基层预留号源) ──
-- A slot pool is a schedule published by a hospital's referral desk: its slots, a share of them reserved for referrals
-- from primary care, and a release rule — reserved slots still free `release_hours` before their start are opened
-- to general booking. Schedules made over FHIR without these settings use the defaults (30%, 48 hours).
ALTER TABLE schedule ADD COLUMN reserved_share numeric(4, 3) CHECK (reserved_share BETWEEN 0 AND 1);
ALTER TABLE schedule ADD COLUMN release_hours integer CHECK (release_hours BETWEEN 0 AND 8760);
CREATE INDEX schedule_institution_idx ON schedule (institution_id, planning_start);

-- `reserved_for` stays set after a release (the KPIs count reserved places used and released); the reservation is in
-- force while `released_at` is empty and `release_at` (start − release hours) is still ahead.
ALTER TABLE slot ADD COLUMN release_at timestamptz;
ALTER TABLE slot ADD COLUMN released_at timestamptz;
UPDATE slot SET release_at = start_at - interval '48 hours' WHERE reserved_for IS NOT NULL;
ALTER TABLE slot ADD CONSTRAINT slot_release_check CHECK (reserved_for IS NULL OR release_at IS NOT NULL);
-- the release job's work list: reservations not yet released
CREATE INDEX slot_release_idx ON slot (release_at) WHERE reserved_for IS NOT NULL AND released_at IS NULL;
-- Slot?status=free, the booking search, in time order
CREATE INDEX slot_free_idx ON slot (start_at) WHERE status = 'free';
