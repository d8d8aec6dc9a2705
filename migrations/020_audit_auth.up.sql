-- How the actor of each audited write proved who they were: token (an API or CLI
-- bearer token), password (typed on a terminal), console (a console session after a
-- password sign-in), os_user (an administrator's CLI command on the host), system,
-- provider. Empty for rows written before this column existed.
ALTER TABLE audit_log ADD COLUMN auth text NOT NULL DEFAULT '';
