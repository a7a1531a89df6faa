-- The worklist summary's task triggers (0017) refreshed the rows of every task a statement wrote, whatever its code.
-- Most task writes are of codes the summary never holds (a referral's work item above all: every referral created,
-- booked, accepted or closed writes its Task), and each such refresh cost a plan of worklist_item_source — the
-- refresh's statements take custom plans, one per call — about 0.6 ms of PostgreSQL CPU per statement, a fifth of the
-- CPU of a referral created with its booking (perf under 200 booking clients). A task whose code is not one of the
-- summary's, before and after the statement, has no row there and gets none: such a statement now returns at once.
--
-- The codes the summary holds, as worklist_item_source (0017) selects them; a test checks the two agree.
CREATE FUNCTION worklist_task_codes() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '{chronic-follow-up,chronic-enrolment,chronic-danger,discharge-follow-up,elderly-check-follow-up}'::text[]
$$;

CREATE OR REPLACE FUNCTION worklist_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
  -- tasks none of whose rows has, or had, a code of the summary's: nothing to refresh
  IF TG_TABLE_NAME = 'task' THEN
    IF TG_OP = 'INSERT' THEN
      IF NOT EXISTS (SELECT 1 FROM new_rows WHERE code = ANY (worklist_task_codes())) THEN RETURN NULL; END IF;
    ELSIF TG_OP = 'DELETE' THEN
      IF NOT EXISTS (SELECT 1 FROM old_rows WHERE code = ANY (worklist_task_codes())) THEN RETURN NULL; END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM new_rows WHERE code = ANY (worklist_task_codes()))
      AND NOT EXISTS (SELECT 1 FROM old_rows WHERE code = ANY (worklist_task_codes())) THEN
      RETURN NULL;
    END IF;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(id) INTO ids FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(id) INTO ids FROM old_rows;
  ELSIF TG_TABLE_NAME = 'task' THEN
    SELECT array_agg(id) INTO ids FROM (
      SELECT id, resident_id, status, code, priority, due_at, owner_team_id, owner_institution_id FROM new_rows
      EXCEPT SELECT id, resident_id, status, code, priority, due_at, owner_team_id, owner_institution_id FROM old_rows) x;
  ELSE
    SELECT array_agg(id) INTO ids FROM (
      SELECT id, resident_id, status, team_id, institution_id, end_date FROM new_rows
      EXCEPT SELECT id, resident_id, status, team_id, institution_id, end_date FROM old_rows) x;
  END IF;
  IF ids IS NOT NULL THEN
    PERFORM worklist_refresh(TG_TABLE_NAME, ids);
  END IF;
  RETURN NULL;
END $$;
