-- Where a staff member is told of decisions on their work (a campaign of theirs
-- approved or rejected): an optional work email and WeCom user id, and which of
-- them to use (auto: WeCom when set, else email; none: the console notice only).
ALTER TABLE users
  ADD COLUMN work_email text CHECK (work_email IS NULL OR (length(work_email) <= 254 AND work_email ~ '^[^@[:space:]]+@[^@[:space:]]+$')),
  ADD COLUMN wecom_userid text CHECK (wecom_userid IS NULL OR wecom_userid ~ '^[A-Za-z0-9._-]{1,64}$'),
  ADD COLUMN notify text NOT NULL DEFAULT 'auto' CHECK (notify IN ('auto', 'email', 'wecom', 'none'));
