-- Reconciliations asked for with `Prefer: respond-async` (issue 4): a month-long window can take
-- minutes of platform API calls, longer than an HTTP request should live. A worker claims the
-- pending row (FOR UPDATE SKIP LOCKED), runs it and stores the report; a run whose process died
-- is claimed again after a lease; a platform that is down is retried with backoff.
CREATE TABLE reconciliations (
  tenant_id        text NOT NULL,
  id               text NOT NULL,
  connector_id     text NOT NULL,
  from_at          timestamptz NOT NULL,
  to_at            timestamptz NOT NULL,
  backfill         boolean NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  report           jsonb,
  error_code       text,
  error            text,
  created_at       timestamptz NOT NULL,
  started_at       timestamptz,
  finished_at      timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX reconciliations_due ON reconciliations (next_attempt_at) WHERE status IN ('pending', 'running');
