-- Read-only views owned by the contacts package (issue 18: each package owns its
-- tables). Other packages read the customers and their managers through them for
-- set-based lists and reports — the revisit due list over every customer stays
-- one query — and change them only through contacts' API. Plain views: Postgres
-- inlines them, so the contacts' indexes (by manager, the partial birthday
-- indexes, the attrs expression index) serve as they did on the table.

-- manager_refs: who a manager is and whom they report to (identity's users and
-- their data scope, revisits' owners and covers).
CREATE VIEW manager_refs AS
SELECT id, code, name, team, lead_code, active
FROM managers;

-- contact_cards: what a manager's work lists show of a customer. No email,
-- WeChat openid or tags: what is not listed here stays behind contacts' API.
CREATE VIEW contact_cards AS
SELECT id, external_id, status, name, tier, manager_id, phone, time_zone, locale,
       birth_calendar, birth_month, birth_day, lunar_month, lunar_day, lunar_leap,
       attrs, erased_at, created_at
FROM contacts;
