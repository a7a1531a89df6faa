-- The multi_source rule's default, version 2 (bench/README.md, `detection-power`).
--
-- Version 1 (≥ 2 independent sources in the same or adjacent communities within 3 days) relied on alerts chaining
-- across the district; once candidates and extensions were bounded to a neighbourhood, it raised 10 false alerts per
-- 100 series-years on the synthetic district. Evidence that must add up — a week's window, signals of at least 5
-- cases, one of them at least twice its threshold (or a scan cluster) — keeps the same sensitivity (28 of 36
-- synthetic outbreaks) with 3 false alerts per 100 series-years.
--
-- Only the untouched default is replaced: a rule a district administrator has edited stays as they left it. The old
-- version is kept inactive, so alerts raised under it still name it.
UPDATE fusion_rule SET active = false
 WHERE code = 'multi_source' AND active AND version = 1
   AND params = '{"minSources": 2, "windowDays": 3, "adjacency": "adjacent"}'::jsonb;

INSERT INTO fusion_rule (code, version, name, name_en, kind, params, risk_level)
SELECT code, 2, name, name_en, kind,
       '{"minSources": 2, "windowDays": 7, "adjacency": "adjacent", "minObserved": 5, "strongFactor": 2}'::jsonb, risk_level
  FROM fusion_rule
 WHERE code = 'multi_source' AND version = 1 AND NOT active
   AND NOT EXISTS (SELECT 1 FROM fusion_rule WHERE code = 'multi_source' AND active);
