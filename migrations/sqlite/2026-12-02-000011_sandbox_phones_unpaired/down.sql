ALTER TABLE sandbox_phones DROP COLUMN unpaired_at;
