-- Segments (C3): a rule tree over attributes, tags and event aggregates (the rule-tag grammar plus
-- has_tag and trait leaves), with its members stored: computed set-based on create/update and on
-- recompute, then kept up to date incrementally by the inbox worker, tag changes, merges and unmerges.
CREATE TABLE segments (
  tenant_id       text NOT NULL,
  id              text NOT NULL,
  name            text NOT NULL,
  description     text,
  condition       jsonb NOT NULL,
  triggers        text[] NOT NULL,
  time_dependent  boolean NOT NULL,
  member_count    integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  recomputed_at   timestamptz,
  PRIMARY KEY (tenant_id, id)
);

-- One row per root customer in the segment (a merged-away customer is removed when it merges).
CREATE TABLE segment_members (
  tenant_id    text NOT NULL,
  segment_id   text NOT NULL,
  customer_id  text NOT NULL,
  added_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, segment_id, customer_id),
  FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
-- A segment's members newest first, in keyset order (GET /v1/segments/{id}/members).
CREATE INDEX segment_members_listing ON segment_members (tenant_id, segment_id, added_at DESC, customer_id DESC);
-- The segments of one customer (re-evaluating one root, merges).
CREATE INDEX segment_members_customer ON segment_members (tenant_id, customer_id);

-- The inbox worker caches segments with the tenant's configuration: a change of what decides
-- membership bumps tenants.config_version. member_count and recomputed_at change with every
-- membership change and must not invalidate the cache, hence UPDATE OF.
CREATE TRIGGER segments_config_version AFTER INSERT OR DELETE OR UPDATE OF condition, triggers, time_dependent, tenant_id ON segments
  FOR EACH ROW EXECUTE FUNCTION datong_bump_config_version();
