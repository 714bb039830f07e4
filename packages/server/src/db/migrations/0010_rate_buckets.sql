-- Platform API token buckets, shared by every Datong process on this database (issue 4: a
-- platform's rate limit is honoured by the deployment, not by each process on its own). One row
-- per connector and API; a process takes a token under the row's lock. Times are milliseconds
-- of the database's clock, so processes on different hosts agree.
CREATE TABLE rate_buckets (
  tenant_id         text NOT NULL,
  connector_id      text NOT NULL,
  api               text NOT NULL,
  tokens            double precision NOT NULL,
  at_ms             bigint NOT NULL,
  blocked_until_ms  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, connector_id, api),
  FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE
);
