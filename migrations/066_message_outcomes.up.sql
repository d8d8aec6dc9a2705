-- Owned by delivery. What became of each outbox message, for reports by source
-- (a campaign's funnel): read with a filter on source and source_id, which the
-- planner pushes down to messages_source_idx. It reads two of contacts' tables
-- for the report (the timeline's opens and clicks and why a message was
-- suppressed; a marketing consent revoked within 7 days of the send), so that
-- no Go code outside contacts names them.
--   class: for a suppressed message why (frequency_cap, outside_hours,
--          no_consent, opted_out, no_address, no_channel); for a cancelled one
--          its reason as stored; '' otherwise.
--   handed: a provider got it (sent, delivered, or failed after an attempt).
CREATE VIEW message_outcomes AS
SELECT m.id, m.source, m.source_id, COALESCE(m.channel, m.channels[1]) AS channel, m.parent_id IS NOT NULL AS fallback, m.status,
  CASE
    WHEN m.status = 'suppressed' AND m.reason = 'frequency_cap' THEN 'frequency_cap'
    WHEN m.status = 'suppressed' AND m.reason = 'window_outside_allowed_hours' THEN 'outside_hours'
    WHEN m.status = 'suppressed' THEN COALESCE((
      SELECT CASE e.data -> 'skipped' ->> (m.channels[1])
               WHEN 'no_marketing_consent' THEN 'no_consent'
               WHEN 'service_consent_revoked' THEN 'no_consent'
               WHEN 'address_suppressed' THEN 'opted_out'
               WHEN 'no_address' THEN 'no_address'
               ELSE 'no_channel' END
      FROM contact_events e
      WHERE e.contact_id = m.contact_id AND e.at >= m.created_at AND e.kind = 'message.suppressed' AND e.data ->> 'message_id' = m.id::text
      LIMIT 1), 'no_channel')
    WHEN m.status = 'cancelled' THEN m.reason
    ELSE ''
  END AS class,
  m.status IN ('sent', 'delivered') OR (m.status = 'failed' AND m.attempts > 0) AS handed,
  m.channel = 'email' AND m.status IN ('sent', 'delivered') AND EXISTS (SELECT 1 FROM contact_events e WHERE e.contact_id = m.contact_id
    AND e.at >= m.created_at AND e.kind = 'message.opened' AND e.data ->> 'message_id' = m.id::text) AS opened,
  m.channel = 'email' AND m.status IN ('sent', 'delivered') AND EXISTS (SELECT 1 FROM contact_events e WHERE e.contact_id = m.contact_id
    AND e.at >= m.created_at AND e.kind = 'message.clicked' AND e.data ->> 'message_id' = m.id::text) AS clicked,
  m.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = m.contact_id AND k.channel = m.channel
    AND k.purpose = 'marketing' AND NOT k.granted AND k.at >= m.sent_at AND k.at < m.sent_at + interval '7 days') AS unsubscribed
FROM messages m;
