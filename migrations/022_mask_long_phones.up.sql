-- A phone number of any length shows at most four leading and four trailing digits
-- (a 16-digit number used to keep 12 visible). Mirrors internal/pii.Phone.
CREATE OR REPLACE FUNCTION carillon_mask_phone(p text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p IS NULL OR p = '' THEN p
    WHEN length(regexp_replace(p, '\D', '', 'g')) < 7 THEN repeat('*', length(p))
    ELSE (SELECT CASE WHEN d LIKE '86%' AND length(d) = 13 THEN substr(d, 3, 3) || '****' || right(d, 4)
                      ELSE '+' || left(d, least(4, length(d) - 7)) || repeat('*', length(d) - least(4, length(d) - 7) - 4) || right(d, 4) END
          FROM (SELECT regexp_replace(p, '\D', '', 'g') AS d) s)
  END
$$;
