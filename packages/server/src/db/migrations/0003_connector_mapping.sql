-- Field mappings (issue 3): per connector, target field → JSONata expression
-- (connectors/src/kit/mapping.ts). Expressions are configuration, not secrets: stored in clear.
ALTER TABLE connectors ADD COLUMN mapping jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The sync monitor reads webhook attempts by time per tenant (usecases/monitor.ts); without
-- this it would read every attempt the tenant ever made. Attempts are written once per HTTP
-- call, far less often than inbox rows, so the index costs little. The inbox gets no new
-- index: the monitor reaches it through inbox_pending and inbox_processed_at.
CREATE INDEX webhook_attempts_at ON webhook_attempts (tenant_id, at);
