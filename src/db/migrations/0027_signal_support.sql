-- Sub-threshold support (bench/README.md, `detection-power`, "sub-threshold support").
--
-- A signal was an alarm only. A multi_source rule with params.supportP > 0 also reads the scores of series that did
-- not alarm: the daily run writes, for each series its EARS method (C1 or C2) evaluated and found below the
-- threshold, a support signal when the score's normal tail p is at most the largest supportP of the active rules.
-- Support signals are no alarms: the signal list, the series charts' alarm marks, the high-threshold rule and the
-- run's signal count leave them out; fusion reads them as another source's supporting evidence for an alarm, and an
-- alert's detail lists them among its signals, marked as support.
ALTER TABLE signal ADD COLUMN support boolean NOT NULL DEFAULT false;
