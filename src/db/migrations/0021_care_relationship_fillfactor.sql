-- Care relationships are extended in place all the time: every encounter, result or prescription sent by an institution
-- moves its relationship's valid_to forward (fhir/resources/encounter.ts ensureTreatmentRelationships), and a bulk
-- import extends a whole batch's at once. valid_to is in no index, so with free room on the page the new row version
-- is a HOT update (no new entries in the five indexes); with full pages every extension moves the row to another page
-- and writes all its index entries again. Room for the extensions on pages written from now on.
ALTER TABLE care_relationship SET (fillfactor = 70);
