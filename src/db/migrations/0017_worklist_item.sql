-- The family doctor's worklist summary (工作清单摘要, modules/family-doctor/worklist.ts): one row per open worklist
-- task and per contract in force, carrying what the list filters and sorts by — owner (team, centre), priority, due
-- date, the contract's end, and the resident's grid, street, community, status, birth date, active programmes and
-- the years of their elderly checks — so that a team's count and page are index ranges of this one table instead of
-- probing the resident, enrolments, contracts and checks of every task and contract. Kept by the triggers below, in
-- the transaction of every write to the tables it copies (tasks, contracts, residents, enrolments, elderly checks):
-- the rows of the tasks and contracts written are refreshed from their sources, the residents' copied facts updated.
-- What depends on the day (a follow-up due by its end, a contract within its renewal notice, an elderly resident's
-- age against the rules' age) stays in the query.
CREATE TABLE worklist_item (
  kind            text NOT NULL CHECK (kind IN ('task', 'contract')),
  ref_id          bigint NOT NULL,             -- task.id / contract.id
  resident_id     bigint NOT NULL,
  team_id         bigint,                      -- the task's owner team / the contract's team
  institution_id  bigint,                      -- the task's owner institution / the contract's institution
  code            text,                        -- the task's code (NULL for a contract)
  priority        text,                        -- the task's priority
  due_at          timestamptz,                 -- the task's due time / the day after the contract ends (Beijing)
  end_date        date,                        -- the contract's last day
  grid_id         bigint,
  community_id    bigint,
  street_id       bigint,
  resident_active boolean NOT NULL,
  birth_date      date,
  programmes      text[] NOT NULL,             -- the resident's active chronic programmes
  check_years     integer[] NOT NULL,          -- the years of the resident's elderly checks
  PRIMARY KEY (kind, ref_id)
);
CREATE INDEX worklist_item_team_idx ON worklist_item (team_id, kind, due_at);
CREATE INDEX worklist_item_institution_idx ON worklist_item (institution_id, kind, due_at);
CREATE INDEX worklist_item_resident_idx ON worklist_item (resident_id);
-- the centre's contracting-lead tasks (no team) of the residents of some grids
CREATE INDEX worklist_item_lead_idx ON worklist_item (institution_id, grid_id) WHERE team_id IS NULL AND kind = 'task';
-- the contracts of some grids, read from the index alone: the elderly of the grids without a contract in force are
-- the contracting leads for their annual check (modules/elderly/checks.ts)
CREATE INDEX worklist_item_contract_grid_idx ON worklist_item (grid_id, end_date) INCLUDE (resident_id) WHERE kind = 'contract';

-- What the summary copies of a resident: where they live, their status and birth date, their active programmes and
-- the years of their elderly checks.
CREATE VIEW worklist_resident AS
  SELECT r.id, r.grid_id, r.community_id, r.street_id, r.status = 'active' AS resident_active, r.birth_date,
         coalesce((SELECT array_agg(e.programme_code ORDER BY e.programme_code) FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.status = 'active'), '{}') AS programmes,
         coalesce((SELECT array_agg(k.check_year ORDER BY k.check_year) FROM elderly_check k WHERE k.resident_id = r.id), '{}') AS check_years
    FROM resident r;

-- What the summary holds, from its sources: the open tasks of the worklist's codes (chronic follow-up, enrolment,
-- danger value, discharge; the elderly check's follow-up) and the contracts in force, with their residents.
CREATE VIEW worklist_item_source AS
  SELECT 'task'::text AS kind, t.id AS ref_id, t.resident_id, t.owner_team_id AS team_id, t.owner_institution_id AS institution_id, t.code, t.priority,
         t.due_at, NULL::date AS end_date, wr.grid_id, wr.community_id, wr.street_id, wr.resident_active, wr.birth_date, wr.programmes, wr.check_years
    FROM task t JOIN worklist_resident wr ON wr.id = t.resident_id
   WHERE t.code IN ('chronic-follow-up', 'chronic-enrolment', 'chronic-danger', 'discharge-follow-up', 'elderly-check-follow-up')
     AND t.status IN ('requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold')
  UNION ALL
  SELECT 'contract', c.id, c.resident_id, c.team_id, c.institution_id, NULL, NULL, (c.end_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai', c.end_date,
         wr.grid_id, wr.community_id, wr.street_id, wr.resident_active, wr.birth_date, wr.programmes, wr.check_years
    FROM contract c JOIN worklist_resident wr ON wr.id = c.resident_id
   WHERE c.status = 'active';

-- The rows of these tasks or contracts (k: 'task' | 'contract'), again from their sources: gone if the task closed or
-- the contract ended, changed, or new.
CREATE FUNCTION worklist_refresh(k text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM worklist_item WHERE kind = k AND ref_id = ANY(ids);
  INSERT INTO worklist_item SELECT * FROM worklist_item_source WHERE kind = k AND ref_id = ANY(ids)
  -- two transactions writing the same task or contract: the later one's row wins
  ON CONFLICT (kind, ref_id) DO UPDATE SET resident_id = EXCLUDED.resident_id, team_id = EXCLUDED.team_id, institution_id = EXCLUDED.institution_id,
    code = EXCLUDED.code, priority = EXCLUDED.priority, due_at = EXCLUDED.due_at, end_date = EXCLUDED.end_date, grid_id = EXCLUDED.grid_id,
    community_id = EXCLUDED.community_id, street_id = EXCLUDED.street_id, resident_active = EXCLUDED.resident_active, birth_date = EXCLUDED.birth_date,
    programmes = EXCLUDED.programmes, check_years = EXCLUDED.check_years;
END $$;

-- These residents' copied facts on their rows (none for most residents).
CREATE FUNCTION worklist_refresh_residents(rids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE worklist_item w SET grid_id = wr.grid_id, community_id = wr.community_id, street_id = wr.street_id, resident_active = wr.resident_active,
         birth_date = wr.birth_date, programmes = wr.programmes, check_years = wr.check_years
    FROM worklist_resident wr
   WHERE w.resident_id = ANY(rids) AND wr.id = w.resident_id;
END $$;

-- The whole summary from its sources: the backfill, and after a bulk load that ran with the triggers disabled (the seed's).
CREATE FUNCTION worklist_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM worklist_item;
  INSERT INTO worklist_item SELECT * FROM worklist_item_source;
END $$;

-- The statement-level triggers: the rows a statement inserted, deleted or changed in a column the summary copies,
-- refreshed once per statement (a bulk import's statement refreshes its rows together). An update's changed rows are
-- a set difference, not a join of the transition tables (they have no index, and a bulk import's transaction turns
-- hash and merge joins off).
CREATE FUNCTION worklist_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
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

-- Enrolments, elderly checks and residents: the residents a statement touched (of residents, those whose grid,
-- community, street, status or birth date changed) take their facts again.
CREATE FUNCTION worklist_follow_residents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rids bigint[];
BEGIN
  IF TG_TABLE_NAME = 'resident' THEN
    SELECT array_agg(id) INTO rids FROM (
      SELECT id, grid_id, community_id, street_id, status, birth_date FROM new_rows
      EXCEPT SELECT id, grid_id, community_id, street_id, status, birth_date FROM old_rows) x;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT resident_id) INTO rids FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT resident_id) INTO rids FROM old_rows;
  ELSE
    SELECT array_agg(x) INTO rids FROM (SELECT resident_id AS x FROM new_rows UNION SELECT resident_id FROM old_rows) s;
  END IF;
  IF rids IS NOT NULL THEN
    PERFORM worklist_refresh_residents(rids);
  END IF;
  RETURN NULL;
END $$;

-- worklist_<table>_insert / _update / _delete on tasks, contracts, enrolments and elderly checks; residents: updates
DO $$
DECLARE
  t text;
  f text;
BEGIN
  FOREACH t IN ARRAY ARRAY['task', 'contract', 'chronic_enrolment', 'elderly_check'] LOOP
    f := CASE WHEN t IN ('task', 'contract') THEN 'worklist_follow' ELSE 'worklist_follow_residents' END;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %I()', 'worklist_' || t || '_insert', t, f);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %I()', 'worklist_' || t || '_update', t, f);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %I()', 'worklist_' || t || '_delete', t, f);
  END LOOP;
END $$;
CREATE TRIGGER worklist_resident_update AFTER UPDATE ON resident REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION worklist_follow_residents();

-- the backfill
SELECT worklist_rebuild();
ANALYZE worklist_item;
