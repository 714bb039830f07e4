-- Issue 2 (throughput): the inbox's primary key is its natural key, the dedupe key (tenant,
-- source, the sender's messageId), and a message processed inline has no id.
--
-- The bigserial id is what the workers claim pending messages by (inbox_pending, in arrival
-- order). Inline ingest stores messages already processed or quarantined (status 1 or 2), and
-- nothing reads those by id: lookups, retention and monitoring go by the natural key,
-- processed_at and received_at. A btree entry and a sequence call per message bought nothing
-- (docs/benchmarks.md: the inbox statement took ~10% less time without the id's index).
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox DROP CONSTRAINT inbox_tenant_id_source_id_message_id_key;
ALTER TABLE inbox ADD PRIMARY KEY (tenant_id, source_id, message_id);
ALTER TABLE inbox ALTER COLUMN id DROP NOT NULL;
-- A pending message is claimed by its id.
ALTER TABLE inbox ADD CONSTRAINT inbox_pending_id CHECK (status <> 0 OR id IS NOT NULL);
