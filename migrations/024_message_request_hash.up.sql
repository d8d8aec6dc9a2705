-- A message sent through the API keeps the SHA-256 of its request: the same
-- idempotency key with a different request is refused (409), as payment APIs do.
ALTER TABLE messages ADD COLUMN request_hash bytea;
