-- Care rules: when the scheduler tick plans the coming day. The tick (a River
-- periodic job, every minute) reads the enabled rules' schedules from here, so an
-- edit made on any node takes effect on the leader. A schedule is a robfig/cron
-- spec; CRON_TZ= names the zone whose "tomorrow" is planned.
CREATE TABLE care_rules (
    key         text PRIMARY KEY,
    enabled     boolean NOT NULL DEFAULT true,
    schedule    text NOT NULL,
    description text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The default rule: plan the coming local day every night at 01:00 Shanghai time.
INSERT INTO care_rules (key, enabled, schedule, description)
VALUES ('daily', true, 'CRON_TZ=Asia/Shanghai 0 1 * * *', 'plan the coming local day');
