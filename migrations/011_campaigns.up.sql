-- Campaigns: saved segments, campaigns with maker-checker approval and their
-- history, runs, and each run's audience snapshot.

-- Typed reads of a contact's attrs values for segment filters: NULL unless the
-- value has that JSON type, so a filter never fails on a row whose value has
-- another type (an "assets" imported as text on one row).
CREATE FUNCTION carillon_jsonb_number(j jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN jsonb_typeof(j) = 'number' THEN (j #>> '{}')::numeric END
$$;

CREATE FUNCTION carillon_jsonb_text(j jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN jsonb_typeof(j) = 'string' THEN j #>> '{}' END
$$;

CREATE FUNCTION carillon_jsonb_bool(j jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN jsonb_typeof(j) = 'boolean' THEN (j #>> '{}')::boolean END
$$;

-- Indexes segments use (docs/campaigns.md lists what each filter can use):
-- equality and membership on attrs values (attrs @> '{"k": v}'), the assets
-- figure marketing filters on most, and the age of a contact (a birth date
-- compared as a row).
CREATE INDEX contacts_attrs_idx ON contacts USING gin (attrs jsonb_path_ops);
CREATE INDEX contacts_assets_idx ON contacts (carillon_jsonb_number(attrs -> 'assets'))
  WHERE status = 'active' AND erased_at IS NULL;
CREATE INDEX contacts_birth_date_idx ON contacts (birth_year, birth_month, birth_day)
  WHERE birth_year IS NOT NULL AND status = 'active' AND erased_at IS NULL;

-- A named filter over contacts, in the segment language (campaigns/segment).
CREATE TABLE segments (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name            text NOT NULL UNIQUE CHECK (btrim(name) <> '' AND length(name) <= 100),
  expression      text NOT NULL CHECK (btrim(expression) <> '' AND length(expression) <= 4000),
  description     text NOT NULL DEFAULT '',
  created_by      text NOT NULL,
  created_by_user bigint REFERENCES users (id),
  updated_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A campaign: what is sent (template, channels), to whom (a segment expression,
-- copied from a saved segment so what was approved is what runs), and when.
-- status: draft -> submitted -> approved | rejected -> scheduled -> running ->
-- paused -> completed | cancelled. version grows at every edit; an approval
-- names the version it approved.
CREATE TABLE campaigns (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
  status            text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
  version           integer NOT NULL DEFAULT 1,
  segment_name      text,                         -- the saved segment the expression came from
  segment           text NOT NULL CHECK (btrim(segment) <> ''),
  template_key      text NOT NULL,
  purpose           text NOT NULL DEFAULT 'marketing' CHECK (purpose IN ('marketing', 'service')),
  channels          text[] NOT NULL CHECK (cardinality(channels) > 0),
  vars              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(vars) = 'object'),
  schedule_kind     text NOT NULL DEFAULT 'now' CHECK (schedule_kind IN ('now', 'at', 'cron')),
  send_at           timestamptz,                  -- schedule_kind 'at'
  cron              text,                         -- schedule_kind 'cron': a robfig/cron spec, CRON_TZ= allowed
  window_start      smallint CHECK (window_start BETWEEN 0 AND 1440),
  window_end        smallint CHECK (window_end BETWEEN 0 AND 1440),
  throttle          integer NOT NULL DEFAULT 0 CHECK (throttle >= 0),  -- messages per second overall; 0: no limit
  ends_at           timestamptz,
  notes             text NOT NULL DEFAULT '',
  review            jsonb,                        -- what the approver saw: audience, samples, cost (at submit)
  created_by        text NOT NULL,
  created_by_user   bigint NOT NULL REFERENCES users (id),
  submitted_at      timestamptz,
  approved_by       text,
  approved_by_user  bigint REFERENCES users (id),
  approved_at       timestamptz,
  approved_version  integer,
  rejected_reason   text,
  next_run_at       timestamptz,                  -- recurring: the next firing the tick will start
  last_run_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (schedule_kind <> 'at' OR send_at IS NOT NULL),
  CHECK (schedule_kind <> 'cron' OR cron IS NOT NULL),
  CHECK ((window_start IS NULL) = (window_end IS NULL))
);
CREATE INDEX campaigns_status_idx ON campaigns (status, id);
CREATE INDEX campaigns_recurring_idx ON campaigns (next_run_at) WHERE status = 'scheduled' AND schedule_kind = 'cron';

-- Every transition and edit of a campaign, with who and when (the audit log has
-- them too; this is the campaign's own history, read with it).
CREATE TABLE campaign_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign_id bigint NOT NULL REFERENCES campaigns (id),
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  user_id     bigint,
  action      text NOT NULL,
  from_status text,
  to_status   text,
  reason      text NOT NULL DEFAULT '',
  data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX campaign_events_campaign_idx ON campaign_events (campaign_id, id);

-- One run of a campaign: a one-off campaign has one, a recurring one a run per
-- firing (unique by the firing, so two ticks never start it twice). The
-- audience is snapshotted into campaign_recipients when the run starts; the
-- fan-out writes them to the outbox in order of rn, cursor being the last rn
-- written (committed with the messages, so a crash resumes where it stopped).
CREATE TABLE campaign_runs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign_id   bigint NOT NULL REFERENCES campaigns (id),
  fire_at       timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'starting'
                CHECK (status IN ('starting', 'running', 'paused', 'completed', 'cancelled')),
  audience      bigint,                          -- contacts matched at the snapshot
  recipients    bigint,                          -- rows of campaign_recipients (one per address)
  cursor        bigint NOT NULL DEFAULT 0,
  enqueued      bigint NOT NULL DEFAULT 0,
  held          bigint NOT NULL DEFAULT 0,       -- messages held by the last pause, written again at resume
  throttle      integer NOT NULL DEFAULT 0,
  pace_rn       bigint NOT NULL DEFAULT 1,       -- the recipient whose send time is pace_at
  pace_at       timestamptz,
  started_at    timestamptz NOT NULL DEFAULT now(),
  snapshot_at   timestamptz,
  finished_at   timestamptz,
  UNIQUE (campaign_id, fire_at)
);
CREATE INDEX campaign_runs_open_idx ON campaign_runs (status) WHERE status IN ('starting', 'running', 'paused');

-- A run's audience, fixed when it starts: one row per address (contacts who
-- share a phone number are one recipient), numbered 1..n. address_key is a
-- hash of the normalised address: no raw personal data here.
CREATE TABLE campaign_recipients (
  run_id      bigint NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
  rn          bigint NOT NULL,
  contact_id  bigint NOT NULL,
  channel     text NOT NULL,
  address_key text NOT NULL,
  gen         smallint NOT NULL DEFAULT 0,       -- how many times a pause held its message
  held        boolean NOT NULL DEFAULT false,    -- its message is held by a pause
  PRIMARY KEY (run_id, rn)
);
CREATE INDEX campaign_recipients_held_idx ON campaign_recipients (run_id, rn) WHERE held;
