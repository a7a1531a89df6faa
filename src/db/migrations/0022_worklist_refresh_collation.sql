-- worklist_refresh (0017) is called by the triggers with TG_TABLE_NAME, a `name` whose collation is "C"; a PL/pgSQL
-- parameter takes its argument's collation, so `kind = k` compared under "C" and the summary's primary key (kind,
-- ref_id, default collation) could not be used for it: every task or contract write scanned the whole key index
-- (~16 ms a statement on dongcheng, paid by every referral, booking and follow-up). The comparisons now name the
-- column's collation.
CREATE OR REPLACE FUNCTION worklist_refresh(k text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM worklist_item WHERE kind = k COLLATE "default" AND ref_id = ANY(ids);
  INSERT INTO worklist_item SELECT * FROM worklist_item_source WHERE kind = k COLLATE "default" AND ref_id = ANY(ids)
  -- two transactions writing the same task or contract: the later one's row wins
  ON CONFLICT (kind, ref_id) DO UPDATE SET resident_id = EXCLUDED.resident_id, team_id = EXCLUDED.team_id, institution_id = EXCLUDED.institution_id,
    code = EXCLUDED.code, priority = EXCLUDED.priority, due_at = EXCLUDED.due_at, end_date = EXCLUDED.end_date, grid_id = EXCLUDED.grid_id,
    community_id = EXCLUDED.community_id, street_id = EXCLUDED.street_id, resident_active = EXCLUDED.resident_active, birth_date = EXCLUDED.birth_date,
    programmes = EXCLUDED.programmes, check_years = EXCLUDED.check_years;
END $$;
