-- Indexes for the family doctor's worklist (modules/family-doctor/worklist.ts) and the KPI recompute at district scale.

-- The centre's contracting leads: open tasks owned by the centre and no team (a small part of the centre's open tasks,
-- which are mostly its teams'), looked up per centre and then kept to the team's grids.
CREATE INDEX task_lead_open_idx ON task (owner_institution_id, due_at)
  WHERE owner_team_id IS NULL AND status IN ('requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold');

-- A team's contracts in force with their residents, read from the index alone (the elderly due for their check are
-- looked up from them): a few index pages instead of one heap page per contract.
CREATE INDEX contract_team_active_idx ON contract (team_id, end_date) INCLUDE (resident_id) WHERE status = 'active';

-- Residents of a grid by birth date: the elderly of the team's grids due for their annual check (modules/elderly), a
-- range per grid, whatever the statistics say about how residents of a grid lie in the table (without it the planner
-- may intersect the grid's bitmap with one of every elderly resident of the district, seven times for a team).
CREATE INDEX resident_grid_birth_idx ON resident (grid_id, birth_date) WHERE status = 'active';

-- The KPI recompute's scan of follow-ups (modules/chronic/kpis.ts): the visits of the last 14 months or so with the
-- columns it reads, from the index alone — a range that stays the same size as the history grows, instead of
-- reading every follow-up's wide row (medications, lifestyle) of every year.
CREATE INDEX chronic_follow_up_kpi_idx ON chronic_follow_up (visit_at)
  INCLUDE (enrolment_id, id, mode, next_due_at, programme_code, rule_version, sbp, dbp, fpg, heart_rate);
