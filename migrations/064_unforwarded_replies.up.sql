-- unforwarded_replies: a read-only view owned by the delivery package (issue 18:
-- each package owns its tables). The customers' replies (kind reply, not an
-- unsubscribe, matched to a contact) not yet forwarded to their manager: the
-- revisit digest quotes them and marks them through delivery.MarkRepliesForwarded.
CREATE VIEW unforwarded_replies AS
SELECT id, contact_id, at, text
FROM inbound_messages
WHERE NOT forwarded AND NOT unsubscribe AND contact_id IS NOT NULL AND kind = 'reply';
