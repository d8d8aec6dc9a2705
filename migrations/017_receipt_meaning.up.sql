-- What a failure receipt said about the address: the suppression reason of a
-- permanent one (invalid, complaint, hard_bounce), and whether its code was
-- unknown to the adapter's table (then treated as temporary).
ALTER TABLE receipts
  ADD COLUMN suppress_reason text NOT NULL DEFAULT '',
  ADD COLUMN unclassified boolean NOT NULL DEFAULT false;
