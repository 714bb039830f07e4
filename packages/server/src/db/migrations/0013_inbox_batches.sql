-- Raw request batches (issue 2). Inline ingest processes a request's messages before answering;
-- their raw form is kept once per request here (a JSON array of the messages as received,
-- Brotli-compressed, then encrypted: usecases/raw-batches.ts) instead of once per message in
-- the inbox row, which keeps the dedupe key and status and points at its batch and position.
-- Messages stored for the workers (pending) keep their own payload_enc as before.
CREATE TABLE inbox_batches (
  tenant_id    text NOT NULL,
  id           text NOT NULL,
  source_id    text NOT NULL,
  received_at  timestamptz NOT NULL,
  messages     integer NOT NULL,
  payload_enc  text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
-- Encrypted bytes do not compress: store them out of line without trying.
ALTER TABLE inbox_batches ALTER COLUMN payload_enc SET STORAGE EXTERNAL;

ALTER TABLE inbox ALTER COLUMN payload_enc DROP NOT NULL;
ALTER TABLE inbox ADD COLUMN batch_id text;
ALTER TABLE inbox ADD COLUMN batch_pos integer;
-- A pending message is read by the workers from its own payload.
ALTER TABLE inbox ADD CONSTRAINT inbox_raw_message
  CHECK (payload_enc IS NOT NULL OR (status <> 0 AND batch_id IS NOT NULL AND batch_pos IS NOT NULL));

-- Retention is the only reader of processed_at, once an hour: a BRIN index (rows arrive in
-- processed_at order, near enough) instead of a btree entry for every processed message.
DROP INDEX inbox_processed_at;
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at) WHERE status <> 0;
