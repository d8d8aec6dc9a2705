-- The revisit digest's care rule carries its own send time, channels and
-- template (the revisits package reads them): 08:30 in each manager's zone,
-- WeCom then email, the built-in revisit_digest template. Only a row nobody
-- has changed since 010 inserted it with the column defaults is set.
UPDATE care_rules
SET send_time = '08:30', channels = '{wecom,email}', template_key = 'revisit_digest', updated_at = now()
WHERE key = 'revisit_digest' AND send_time = '09:00' AND channels = '{}' AND template_key IS NULL;
