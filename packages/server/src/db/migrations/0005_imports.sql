-- CSV and XLSX imports uploaded through the API or the console (issue 4): the file waits in the
-- data folder (file_path on file_host), a worker runs it in units and moves checkpoint_row with
-- each stored unit, in the same transaction, so a restart resumes without sending a row twice.
-- status: uploaded → queued → running → done | failed | cancelled.
CREATE TABLE imports (
  tenant_id       text NOT NULL REFERENCES tenants(id),
  id              text NOT NULL,
  source_id       text NOT NULL,
  type            text NOT NULL,
  format          text NOT NULL,
  file_name       text NOT NULL,
  file_path       text,
  file_host       text NOT NULL,
  file_bytes      bigint NOT NULL,
  file_sha256     text NOT NULL,
  columns         jsonb NOT NULL DEFAULT '[]'::jsonb,
  mapping         jsonb,
  status          text NOT NULL,
  checkpoint_row  integer NOT NULL DEFAULT 0,
  counts          jsonb NOT NULL DEFAULT '{}'::jsonb,
  bytes_read      bigint NOT NULL DEFAULT 0,
  error           text,
  created_by      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  started_at      timestamptz,
  finished_at     timestamptz,
  lease_owner     text,
  lease_until     timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX imports_runnable ON imports (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX imports_recent ON imports (tenant_id, created_at DESC);
