-- The tenant's identity lock (issue 2). Every transaction that resolves identities or changes the
-- identity graph (ingest, unmerge, segment recompute) locks its tenant's row here until it ends,
-- writing a fresh token and reading the previous one. A server that finds its own last token
-- there knows no one else changed the graph since, and may trust its in-memory copy of the part
-- it saw (usecases/identity-cache.ts). Replaces the advisory lock 'datong:identity:<tenant>'.
CREATE TABLE identity_locks (
  tenant_id  text PRIMARY KEY,
  token      text NOT NULL,
  prev       text
);
