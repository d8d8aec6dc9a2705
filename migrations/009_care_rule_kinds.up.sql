-- Care rules become one row per rule: the birthday rule, one rule per festival,
-- date-field notices (a deposit maturing), and rules planned by other packages
-- (extension: the managers' revisit digest). Each has its own schedule, switch,
-- channels, template and send time; the scheduler tick inserts one plan job per
-- rule and day.
ALTER TABLE care_rules
  ADD COLUMN kind text NOT NULL DEFAULT 'extension'
    CHECK (kind IN ('birthday', 'festival', 'date_field', 'extension')),
  -- Channels in order of preference; empty: the kind's default.
  ADD COLUMN channels text[] NOT NULL DEFAULT '{}'
    CHECK (channels <@ ARRAY['wechat', 'sms', 'email', 'wecom']::text[]),
  -- Template key; NULL: the kind's default (birthday, festival.<key>).
  ADD COLUMN template_key text,
  -- Local time of day in the recipient's zone.
  ADD COLUMN send_time text NOT NULL DEFAULT '09:00'
    CHECK (send_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  -- Which day a run plans: the day the schedule fired in its zone plus lead_days.
  ADD COLUMN lead_days smallint NOT NULL DEFAULT 1 CHECK (lead_days BETWEEN 0 AND 7),
  -- date_field: the attrs key holding an ISO date (YYYY-MM-DD), and the notice's
  -- day relative to it (-7: a week before); yearly greets the date's month-day
  -- every year (an account anniversary).
  ADD COLUMN field text CHECK (field IS NULL OR field ~ '^[a-z][a-z0-9_]{0,62}$'),
  ADD COLUMN offset_days integer NOT NULL DEFAULT 0 CHECK (offset_days BETWEEN -366 AND 366),
  ADD COLUMN yearly boolean NOT NULL DEFAULT false,
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT care_rules_key_check CHECK (key ~ '^[a-z][a-z0-9_.+-]{0,62}$'),
  ADD CONSTRAINT care_rules_date_field_check CHECK ((kind = 'date_field') = (field IS NOT NULL));

-- The one 'daily' rule of 008 is replaced by the rules themselves.
DELETE FROM care_rules WHERE key = 'daily';

INSERT INTO care_rules (key, kind, enabled, schedule, description) VALUES
  ('birthday', 'birthday', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', 'birthday greetings, solar and lunar'),
  ('festival.new_year', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '元旦'),
  ('festival.new_years_eve', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '除夕'),
  ('festival.spring_festival', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '春节'),
  ('festival.lantern', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '元宵'),
  ('festival.qingming', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '清明'),
  ('festival.dragon_boat', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '端午'),
  ('festival.qixi', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '七夕'),
  ('festival.mid_autumn', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '中秋'),
  ('festival.national_day', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '国庆'),
  ('festival.double_ninth', 'festival', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', '重阳');

INSERT INTO care_rules (key, kind, enabled, schedule, description, field, offset_days, template_key, channels) VALUES
  ('deposit_maturity', 'date_field', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *',
   'a term deposit maturing in 7 days', 'deposit_maturity', -7, 'deposit_maturity', '{sms,wechat,email}');

-- The deposit notices' lookup: one probe per day by the stored date, never a scan.
CREATE INDEX contacts_attr_deposit_maturity_idx ON contacts ((attrs ->> 'deposit_maturity'))
  WHERE status = 'active' AND erased_at IS NULL AND attrs ? 'deposit_maturity';

-- Per-rule statistics read a rule's root messages by source and planned day.
CREATE INDEX messages_care_day_idx ON messages (source_id, (vars -> 'Care' ->> 'Date'))
  WHERE source = 'care_rule' AND parent_id IS NULL;
