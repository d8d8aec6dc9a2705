-- Retention: what the timeline keeps of the months it drops, and indexes for the
-- work that removes old outbox rows and re-queues failed ones. Also the targets of
-- the tracked links in email messages (click redirect).

-- A monthly count of events per contact and kind, written for each timeline
-- partition before retention drops it.
CREATE TABLE contact_event_summaries (
  contact_id bigint NOT NULL,
  month      date NOT NULL CHECK (extract(day FROM month) = 1),
  kind       text NOT NULL,
  count      bigint NOT NULL CHECK (count > 0),
  PRIMARY KEY (contact_id, month, kind)
);

-- Retention deletes the outbox's oldest rows in batches, newest of them first (a
-- fallback child is always younger than its parent).
CREATE INDEX messages_created_idx ON messages (created_at, id);
-- Bulk retry finds the messages that failed in a window.
CREATE INDEX messages_failed_idx ON messages (final_at) WHERE status = 'failed';

-- The links of an email message, rewritten to /c/<token> when it is sent; the token
-- carries the message id and the link's index.
CREATE TABLE message_links (
  message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  idx        integer NOT NULL CHECK (idx >= 0),
  url        text NOT NULL,
  PRIMARY KEY (message_id, idx)
);
