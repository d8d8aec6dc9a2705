-- Change alert rules have names in both languages: the managers' digests show
-- them instead of the rule's key.
ALTER TABLE revisit_alert_rules ADD COLUMN name_zh text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 100),
                                ADD COLUMN name_en text NOT NULL DEFAULT '' CHECK (length(name_en) <= 100);
UPDATE revisit_alert_rules SET name_zh = '资产下降', name_en = 'Assets down' WHERE key = 'assets_drop' AND name_zh = '';
UPDATE revisit_alert_rules SET name_zh = '客户等级下调', name_en = 'Tier downgraded' WHERE key = 'tier_downgrade' AND name_zh = '';
