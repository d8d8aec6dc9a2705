-- Owned by contacts. Whether a contact is erased, for statements of other
-- packages that must decide it in their own snapshot (delivery keeps no body of
-- a message to an erased contact when it records a send). Unknown ids: false.
CREATE FUNCTION contact_erased(bigint) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.id = $1 AND c.erased_at IS NOT NULL)
$$;
