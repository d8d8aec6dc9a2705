-- Erasure scrubs the timeline too: an event may keep a customer's own words (the
-- reply that revoked a consent). The timeline stays append-only for everything
-- else: an update passes only inside the erasure's transaction, for the contact
-- it names in the transaction-local setting carillon.erase_contact, and only
-- changes summary and data. A guard against mistakes, not a security boundary.
CREATE OR REPLACE FUNCTION carillon_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('carillon.erase_contact', true) = OLD.contact_id::text
     AND NEW.id = OLD.id AND NEW.contact_id = OLD.contact_id AND NEW.at = OLD.at
     AND NEW.kind = OLD.kind AND NEW.actor = OLD.actor THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'contact_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
