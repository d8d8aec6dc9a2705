-- A campaign template declares its own variables (.Campaign.<name>): name, type,
-- required or a default, a sample for editing the template. Versions saved
-- before have none (and render with the campaign's values as given).
ALTER TABLE template_versions
    ADD COLUMN variables jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(variables) = 'array');
