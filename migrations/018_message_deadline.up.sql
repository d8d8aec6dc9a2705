-- A message is never sent after its deadline (a greeting's day, a notice's date,
-- a campaign's end): past it, it is cancelled with reason expired.
ALTER TABLE messages ADD COLUMN deadline timestamptz;
