-- contact_message_events: the opens and clicks of messages on the contacts'
-- timeline, as a read-only view the contacts package declares for the outbox's
-- reports (delivery.(*Service).SourceEngagement), so they read no table of the
-- contacts package. The planner inlines it: the partitions of contact_events are
-- pruned by at as before.
CREATE VIEW contact_message_events AS
SELECT contact_id, at, kind, data ->> 'message_id' AS message_id
FROM contact_events
WHERE kind IN ('message.opened', 'message.clicked');
