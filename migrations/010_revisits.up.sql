-- Revisits: the customer managers' side (package revisits). Cadence per tier,
-- revisit records, each contact's cadence state, feedback records, change alerts
-- and their rules, and covers for managers on leave. The daily digest is a care
-- rule of kind 'extension' planned by the revisits package.

INSERT INTO care_rules (key, kind, enabled, schedule, lead_days, description)
VALUES ('revisit_digest', 'extension', true, 'CRON_TZ=Asia/Shanghai 0 6 * * *', 0, 'managers'' daily revisit digest')
ON CONFLICT DO NOTHING;

-- How often each tier is revisited, in calendar days; the due day is then moved
-- to the next business day. Defaults: A and B weekly, C twice a month, D monthly.
CREATE TABLE revisit_cadences (
  tier       text PRIMARY KEY CHECK (tier IN ('A', 'B', 'C', 'D')),
  days       integer NOT NULL CHECK (days BETWEEN 1 AND 366),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO revisit_cadences (tier, days) VALUES ('A', 7), ('B', 7), ('C', 14), ('D', 30);

-- One row per logged revisit. Outcome, needs, notes and the tier change's reason
-- are free text: scrubbed when the contact is erased, never copied to the timeline.
CREATE TABLE revisits (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_id  bigint NOT NULL REFERENCES contacts (id),
  manager_id  bigint REFERENCES managers (id),      -- the contact's manager when logged
  visited_on  date NOT NULL,
  method      text NOT NULL CHECK (method IN ('phone', 'visit', 'wechat', 'branch')),
  outcome     text NOT NULL DEFAULT '',
  needs       text NOT NULL DEFAULT '',
  notes       text NOT NULL DEFAULT '',
  next_date   date,                                 -- the next revisit the manager set
  due_on      date,                                 -- the due day this revisit answered
  on_time     boolean NOT NULL DEFAULT true,        -- visited_on <= due_on
  covered     boolean NOT NULL DEFAULT false,       -- logged by a manager covering a colleague
  tier_from   text,
  tier_to     text,
  tier_change text CHECK (tier_change IN ('upgrade', 'downgrade')),
  tier_reason text,
  actor       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((tier_change IS NULL) = (tier_to IS NULL))
);
CREATE INDEX revisits_contact_idx ON revisits (contact_id, visited_on DESC, id DESC);
CREATE INDEX revisits_manager_day_idx ON revisits (manager_id, visited_on);

-- Each contact's cadence: counted from the anchor (the last revisit's day, or the
-- day the customer was assigned), unless the last revisit set a next date. A
-- contact without a row is counted from the day it was created.
CREATE TABLE revisit_state (
  contact_id      bigint PRIMARY KEY REFERENCES contacts (id),
  anchor          date NOT NULL,
  anchor_kind     text NOT NULL CHECK (anchor_kind IN ('revisit', 'assigned')),
  next_date       date,
  last_revisit_id bigint REFERENCES revisits (id),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Unanswered customer replies, read by the digest (inbound_messages.forwarded).
CREATE INDEX inbound_unforwarded_idx ON inbound_messages (contact_id)
  WHERE NOT forwarded AND NOT unsubscribe AND contact_id IS NOT NULL;

-- Feedback records: a suggestion, need or complaint, owned by a manager and
-- followed up open -> in_progress -> resolved. A complaint has an SLA due day.
CREATE TABLE feedback (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_id  bigint NOT NULL REFERENCES contacts (id),
  revisit_id  bigint REFERENCES revisits (id),
  category    text NOT NULL CHECK (category IN ('suggestion', 'need', 'complaint')),
  summary     text NOT NULL,                        -- scrubbed on erasure
  solution    text NOT NULL DEFAULT '',             -- the proposed solution
  owner_id    bigint NOT NULL REFERENCES managers (id),
  state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'in_progress', 'resolved')),
  opened_on   date NOT NULL,
  sla_due     date,                                 -- complaints: opened_on + SLA business days
  resolved_on date,
  actor       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((state = 'resolved') = (resolved_on IS NOT NULL))
);
CREATE INDEX feedback_open_idx ON feedback (owner_id, opened_on) WHERE state <> 'resolved';
CREATE INDEX feedback_opened_idx ON feedback (opened_on);
CREATE INDEX feedback_resolved_idx ON feedback (resolved_on) WHERE resolved_on IS NOT NULL;
CREATE INDEX feedback_contact_idx ON feedback (contact_id, id DESC);

-- Change alert rules over contacts: a numeric attribute falling (or rising) by at
-- least threshold (a fraction: 0.30 is 30%), or a tier downgrade.
CREATE TABLE revisit_alert_rules (
  key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  kind        text NOT NULL CHECK (kind IN ('attr_drop', 'attr_rise', 'tier_downgrade')),
  attr        text CHECK (attr ~ '^[a-z][a-z0-9_]{0,62}$'),
  threshold   numeric CHECK (threshold > 0 AND threshold <= 100),
  enabled     boolean NOT NULL DEFAULT true,
  description text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind IN ('attr_drop', 'attr_rise')) = (attr IS NOT NULL AND threshold IS NOT NULL))
);
INSERT INTO revisit_alert_rules (key, kind, attr, threshold, description) VALUES
  ('assets_drop', 'attr_drop', 'assets', 0.30, 'assets down by 30% or more'),
  ('tier_downgrade', 'tier_downgrade', NULL, NULL, 'tier downgraded');

-- Alerts waiting for (or carried by) a manager's digest. Data holds the rule's
-- attribute and its values, or the tiers: no personal data.
CREATE TABLE revisit_alerts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_id  bigint NOT NULL REFERENCES contacts (id),
  manager_id  bigint REFERENCES managers (id),
  rule        text NOT NULL,                        -- a rule key, or 'complaint'
  data        jsonb NOT NULL DEFAULT '{}',
  at          timestamptz NOT NULL DEFAULT now(),
  closed_on   date,                                 -- the digest's day, or the day a manager's own change closed it
  closed      text CHECK (closed IN ('digest', 'own_change', 'pushed')),
  CHECK ((closed IS NULL) = (closed_on IS NULL))
);
CREATE INDEX revisit_alerts_open_idx ON revisit_alerts (manager_id, id) WHERE closed IS NULL;
CREATE INDEX revisit_alerts_contact_idx ON revisit_alerts (contact_id, at DESC);

-- A numeric JSON value (a number, or a string of digits as imports keep some), else NULL.
CREATE FUNCTION carillon_jsonb_numeric(v jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN jsonb_typeof(v) = 'number' THEN (v #>> '{}')::numeric
    WHEN jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^-?[0-9]{1,30}(\.[0-9]{1,12})?$' THEN (v #>> '{}')::numeric
  END
$$;

-- Every update of contacts (an import, the API) is checked against the enabled
-- rules in one set-based statement over the statement's old and new rows.
CREATE FUNCTION carillon_revisit_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO revisit_alerts (contact_id, manager_id, rule, data)
  SELECT n.id, n.manager_id, r.key,
         jsonb_build_object('attr', r.attr, 'from', o.attrs -> r.attr, 'to', n.attrs -> r.attr,
                            'change', round((carillon_jsonb_numeric(n.attrs -> r.attr) / carillon_jsonb_numeric(o.attrs -> r.attr) - 1) * 100, 1))
  FROM new_rows n
  JOIN old_rows o ON o.id = n.id
  JOIN revisit_alert_rules r ON r.enabled AND r.kind IN ('attr_drop', 'attr_rise')
  WHERE n.erased_at IS NULL AND n.status = 'active'
    AND o.attrs -> r.attr IS DISTINCT FROM n.attrs -> r.attr
    AND carillon_jsonb_numeric(o.attrs -> r.attr) > 0
    AND carillon_jsonb_numeric(n.attrs -> r.attr) IS NOT NULL
    AND CASE r.kind
          WHEN 'attr_drop' THEN carillon_jsonb_numeric(n.attrs -> r.attr) <= carillon_jsonb_numeric(o.attrs -> r.attr) * (1 - r.threshold)
          ELSE carillon_jsonb_numeric(n.attrs -> r.attr) >= carillon_jsonb_numeric(o.attrs -> r.attr) * (1 + r.threshold)
        END
  UNION ALL
  SELECT n.id, n.manager_id, r.key, jsonb_build_object('from', o.tier, 'to', n.tier)
  FROM new_rows n
  JOIN old_rows o ON o.id = n.id
  JOIN revisit_alert_rules r ON r.enabled AND r.kind = 'tier_downgrade'
  WHERE n.erased_at IS NULL AND n.status = 'active' AND o.tier IS NOT NULL AND n.tier IS NOT NULL AND n.tier > o.tier;
  RETURN NULL;
END
$$;
CREATE TRIGGER contacts_revisit_alerts AFTER UPDATE ON contacts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION carillon_revisit_alerts();

-- A manager on leave covered by another for a date range (both days included).
CREATE TABLE manager_covers (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  manager_id   bigint NOT NULL REFERENCES managers (id),
  cover_id     bigint NOT NULL REFERENCES managers (id),
  starts_on    date NOT NULL,
  ends_on      date NOT NULL,
  reason       text NOT NULL DEFAULT '',
  actor        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz,
  CHECK (ends_on >= starts_on),
  CHECK (manager_id <> cover_id)
);
CREATE INDEX manager_covers_manager_idx ON manager_covers (manager_id, starts_on) WHERE cancelled_at IS NULL;
CREATE INDEX manager_covers_cover_idx ON manager_covers (cover_id, starts_on) WHERE cancelled_at IS NULL;
