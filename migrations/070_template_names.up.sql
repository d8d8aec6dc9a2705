-- A template version carries its display names by locale ({"zh-CN": "生日祝福",
-- "en": "Birthday greeting"}), shown wherever the console lists templates;
-- versions saved before have none and show their key.
ALTER TABLE template_versions
    ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object');
