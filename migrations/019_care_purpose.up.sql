-- Three purposes: service (notices the bank must send), care (greetings, which a
-- customer may refuse per channel) and marketing. Care rules say which they plan:
-- birthdays, festivals and yearly date greetings are care; date-field notices
-- (a deposit maturing) are service.
ALTER TABLE consents DROP CONSTRAINT consents_purpose_check;
ALTER TABLE consents ADD CONSTRAINT consents_purpose_check CHECK (purpose IN ('service', 'care', 'marketing'));

-- NOT VALID, then VALIDATE: a large outbox is checked without blocking writes.
ALTER TABLE messages DROP CONSTRAINT messages_purpose_check;
ALTER TABLE messages ADD CONSTRAINT messages_purpose_check CHECK (purpose IN ('service', 'care', 'marketing')) NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_purpose_check;

ALTER TABLE care_rules ADD COLUMN purpose text NOT NULL DEFAULT 'service' CHECK (purpose IN ('service', 'care'));
UPDATE care_rules SET purpose = 'care' WHERE kind IN ('birthday', 'festival') OR (kind = 'date_field' AND yearly);
