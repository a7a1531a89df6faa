-- The worklist's elderly contracting leads (modules/elderly/checks.ts dueChecksSql: the uncontracted residents of the
-- team's grids aged 65 and over without this year's check) from indexes alone. Measured on dongcheng (team 53, 7 grids,
-- 8,211 residents): the part walked every resident of the grids through resident_grid_idx and read their rows (the
-- planner preferred it to 0018's resident_grid_birth_idx, which had no resident id and so needed the heap too), a
-- quarter of the worklist's statement; now it reads the grids' ~1,850 elderly from one index range each, without
-- touching the table (4.7 → 0.7 ms).

-- The active residents of a grid by birth date, with their ids: the elderly of some grids from the index alone.
DROP INDEX resident_grid_birth_idx;
CREATE INDEX resident_grid_birth_idx ON resident (grid_id, birth_date) INCLUDE (id) WHERE status = 'active';

-- "Without a contract in force" is a hashed set of the grids' contract rows of the summary; keyed by the resident's
-- birth date (which the summary copies), the set holds only the elderly's contracts (~750 instead of ~3,400 rows for
-- team 53), still from the index alone.
DROP INDEX worklist_item_contract_grid_idx;
CREATE INDEX worklist_item_contract_grid_idx ON worklist_item (grid_id, birth_date) INCLUDE (end_date, resident_id) WHERE kind = 'contract';
