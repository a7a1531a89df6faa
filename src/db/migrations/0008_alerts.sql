-- Alerts (多点触发预警): the case reports behind an alert, and indexes for the CDC's inbox.

-- A class A (or managed-as-A) case report raises an alert at once; a second report of the same disease in the same
-- community extends it. Each report is linked once per alert, so the immediate path (on the report) and the daily
-- run's safety net never raise two alerts for one report.
CREATE TABLE alert_case_report (
  alert_id        bigint NOT NULL REFERENCES alert (id),
  case_report_id  bigint NOT NULL REFERENCES case_report (id),
  PRIMARY KEY (alert_id, case_report_id)
);
CREATE INDEX alert_case_report_report_idx ON alert_case_report (case_report_id);

-- The inbox: open alerts by risk and recency; the assignee's own list.
CREATE INDEX alert_last_date_idx ON alert (last_date DESC, id DESC);
CREATE INDEX alert_assignee_idx ON alert (assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX notification_alert_idx ON notification (alert_id) WHERE alert_id IS NOT NULL;
