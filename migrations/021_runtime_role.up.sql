-- The production layout (docs/security.md): a migration role owns the tables and a
-- runtime role only works their rows. The two pieces of timeline upkeep that need
-- an owner — creating next months' partitions and dropping expired ones — run as
-- the owner through these functions, which do nothing else.
ALTER FUNCTION carillon_ensure_event_partitions(date, integer) SECURITY DEFINER SET search_path FROM CURRENT;

CREATE FUNCTION carillon_drop_event_partition(part text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF part !~ '^contact_events_[0-9]{6}$' THEN
    RAISE EXCEPTION 'not a timeline partition: %', part USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'contact_events'::regclass AND c.relname = part) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %I', part);
  RETURN true;
END
$$;
