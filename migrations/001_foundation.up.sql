-- Foundation: helpers, managers, contacts, consents, suppressions, the timeline and imports.

-- Masking used wherever personal data must be shown without being disclosed (timeline
-- events, audit rows). Mirrors internal/pii in Go; a test keeps the two in step.
CREATE FUNCTION carillon_mask_phone(p text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p IS NULL OR p = '' THEN p
    WHEN length(regexp_replace(p, '\D', '', 'g')) < 7 THEN repeat('*', length(p))
    ELSE (SELECT CASE WHEN d LIKE '86%' AND length(d) = 13 THEN substr(d, 3, 3) || '****' || right(d, 4)
                      ELSE '+' || left(d, length(d) - 7) || '***' || right(d, 4) END
          FROM (SELECT regexp_replace(p, '\D', '', 'g') AS d) s)
  END
$$;

CREATE FUNCTION carillon_mask_email(e text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN e IS NULL OR e = '' THEN e
    WHEN position('@' IN e) < 2 THEN '***'
    ELSE left(e, 1) || '***' || substr(e, position('@' IN e))
  END
$$;

CREATE FUNCTION carillon_mask_openid(o text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN o IS NULL OR o = '' THEN o
    WHEN length(o) <= 8 THEN '****'
    ELSE left(o, 4) || '****' || right(o, 4)
  END
$$;

CREATE TABLE managers (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code         text NOT NULL UNIQUE CHECK (code <> '' AND length(code) <= 64),
  name         text NOT NULL,
  email        text,
  wecom_userid text,
  team         text,
  lead_code    text,
  time_zone    text NOT NULL DEFAULT 'Asia/Shanghai',
  active       boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX managers_team_idx ON managers (team);
CREATE INDEX managers_lead_idx ON managers (lead_code);

CREATE TABLE contacts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  external_id    text NOT NULL UNIQUE CHECK (external_id <> '' AND length(external_id) <= 64),
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dormant', 'closed', 'deceased')),
  name           text,
  gender         text CHECK (gender IN ('male', 'female')),
  locale         text NOT NULL DEFAULT 'zh-CN',
  time_zone      text NOT NULL DEFAULT 'Asia/Shanghai',
  -- Birthday: which calendar the customer celebrates, the solar date (year may be
  -- unknown), and the lunar month/day (leap when born in a leap month).
  birth_calendar text CHECK (birth_calendar IN ('solar', 'lunar')),
  birth_year     smallint CHECK (birth_year BETWEEN 1880 AND 2200),
  birth_month    smallint CHECK (birth_month BETWEEN 1 AND 12),
  birth_day      smallint CHECK (birth_day BETWEEN 1 AND 31),
  lunar_month    smallint CHECK (lunar_month BETWEEN 1 AND 12),
  lunar_day      smallint CHECK (lunar_day BETWEEN 1 AND 30),
  lunar_leap     boolean NOT NULL DEFAULT false,
  phone          text,
  email          text,
  wechat_openid  text,
  tier           text CHECK (tier IN ('A', 'B', 'C', 'D')),
  manager_id     bigint REFERENCES managers (id),
  tags           text[] NOT NULL DEFAULT '{}',
  attrs          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
  erased_at      timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (birth_calendar <> 'lunar' OR lunar_month IS NOT NULL),
  CHECK (birth_calendar <> 'solar' OR birth_month IS NOT NULL)
);
-- Birthday lookups by index, not by scanning (the care planner).
CREATE INDEX contacts_solar_birthday_idx ON contacts (birth_month, birth_day) WHERE birth_calendar = 'solar' AND status = 'active';
CREATE INDEX contacts_lunar_birthday_idx ON contacts (lunar_month, lunar_day) WHERE birth_calendar = 'lunar' AND status = 'active';
CREATE INDEX contacts_manager_idx ON contacts (manager_id, id);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_phone_idx ON contacts (phone) WHERE phone IS NOT NULL;
CREATE INDEX contacts_openid_idx ON contacts (wechat_openid) WHERE wechat_openid IS NOT NULL;

-- Consent per contact x channel x purpose. The latest statement wins; source says
-- who made it (import, api, sms_reply, unsubscribe_link, wechat_unfollow, ...).
CREATE TABLE consents (
  contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  channel    text NOT NULL CHECK (channel IN ('sms', 'email', 'wechat')),
  purpose    text NOT NULL CHECK (purpose IN ('service', 'marketing')),
  granted    boolean NOT NULL,
  source     text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (contact_id, channel, purpose)
);

-- Addresses that must not be sent to, whoever holds them.
CREATE TABLE suppressions (
  channel    text NOT NULL CHECK (channel IN ('sms', 'email', 'wechat')),
  address    text NOT NULL,
  reason     text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'invalid', 'manual')),
  source     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, address)
);

-- The timeline: append-only, partitioned by month, partitions created ahead by the app
-- (carillon_ensure_event_partitions). Events hold masked values only.
CREATE TABLE contact_events (
  id         bigint GENERATED ALWAYS AS IDENTITY,
  contact_id bigint NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  kind       text NOT NULL,
  actor      text NOT NULL,
  summary    text NOT NULL DEFAULT '',
  data       jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (contact_id, at, id)
) PARTITION BY RANGE (at);

CREATE FUNCTION carillon_ensure_event_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', from_month)::date;
  made integer := 0;
  name text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    name := 'contact_events_' || to_char(m, 'YYYYMM');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF contact_events FOR VALUES FROM (%L) TO (%L)',
                     name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      made := made + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN made;
END
$$;

-- Partitions from two years back (history that imports and tests may date) to a year ahead.
SELECT carillon_ensure_event_partitions((date_trunc('month', now()) - interval '24 months')::date, 37);

CREATE FUNCTION carillon_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'contact_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- Updates are refused; whole partitions are dropped by retention, and erasure scrubs
-- only other tables (events hold no raw personal data).
CREATE TRIGGER contact_events_no_update BEFORE UPDATE ON contact_events
  FOR EACH ROW EXECUTE FUNCTION carillon_events_append_only();

-- One row per import run, for the record and for timeline events to point at.
CREATE TABLE imports (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('contacts', 'managers')),
  source_name text NOT NULL DEFAULT '',
  actor       text NOT NULL,
  encoding    text NOT NULL DEFAULT '',
  rows        integer NOT NULL DEFAULT 0,
  inserted    integer NOT NULL DEFAULT 0,
  updated     integer NOT NULL DEFAULT 0,
  unchanged   integer NOT NULL DEFAULT 0,
  failed      integer NOT NULL DEFAULT 0,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
