-- The core loop: tenants, keys, sources, inbox, customers and identities, events, tags,
-- rule tags, outbox, webhooks, quarantine, connectors, benefits, idempotency.
-- Every table carries tenant_id and every query is scoped by it. Runs on PostgreSQL 15+
-- and on PGlite (PostgreSQL 18): use no function newer than 15.

CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Bumped by triggers whenever anything the workers cache changes (settings, sources,
  -- webhook subscriptions, tag rules), so a worker re-reads its tenant configuration only then.
  config_version bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  tenant_id     text NOT NULL REFERENCES tenants(id),
  id            text NOT NULL,
  name          text NOT NULL,
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  scopes        text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sources (
  tenant_id        text NOT NULL REFERENCES tenants(id),
  id               text NOT NULL,
  name             text NOT NULL,
  type             text NOT NULL,
  write_key_hash   text NOT NULL UNIQUE,
  write_key_enc    text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  disabled_at      timestamptz,
  PRIMARY KEY (tenant_id, id)
);

-- Raw inbound messages, stored (encrypted) before the sender is answered. Idempotent by
-- the sender's message id. status: 0 pending, 1 processed, 2 quarantined.
CREATE TABLE inbox (
  id            bigserial PRIMARY KEY,
  tenant_id     text NOT NULL,
  source_id     text NOT NULL,
  message_id    text NOT NULL,
  received_at   timestamptz NOT NULL,
  payload_enc   text NOT NULL,
  status        smallint NOT NULL DEFAULT 0,
  attempts      integer NOT NULL DEFAULT 0,
  processed_at  timestamptz,
  UNIQUE (tenant_id, source_id, message_id)
);
CREATE INDEX inbox_pending ON inbox (id) WHERE status = 0;
CREATE INDEX inbox_processed_at ON inbox (processed_at) WHERE status <> 0;

-- A customer row is never deleted by a merge: merged customers point at their root.
CREATE TABLE customers (
  tenant_id      text NOT NULL REFERENCES tenants(id),
  id             text NOT NULL,
  root_id        text NOT NULL,
  merged_into    text,
  merged_at      timestamptz,
  traits         jsonb NOT NULL DEFAULT '{}'::jsonb,
  own_traits     jsonb NOT NULL DEFAULT '{}'::jsonb,
  consent        jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITH (fillfactor = 85); -- room on each page for HOT updates of last_seen_at and traits
CREATE INDEX customers_root ON customers (tenant_id, root_id);
CREATE INDEX customers_roots_recent ON customers (tenant_id, created_at DESC, id DESC) WHERE merged_into IS NULL;
CREATE INDEX customers_name ON customers (tenant_id, lower(traits->>'name')) WHERE merged_into IS NULL;

-- value_index is a keyed blind index (HMAC) of type, collection and normalized value;
-- phones and emails are stored only encrypted (value_enc), other identifiers in clear.
CREATE TABLE customer_identities (
  tenant_id     text NOT NULL,
  value_index   text NOT NULL,
  customer_id   text NOT NULL,
  type          text NOT NULL,
  collection    text NOT NULL DEFAULT '',
  value         text,
  value_enc     text,
  source_id     text,
  message_id    text,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, value_index)
);
CREATE INDEX customer_identities_customer ON customer_identities (tenant_id, customer_id);
CREATE INDEX customer_identities_value ON customer_identities (tenant_id, value) WHERE value IS NOT NULL;

CREATE TABLE customer_merges (
  tenant_id         text NOT NULL,
  id                text NOT NULL,
  from_customer_id  text NOT NULL,
  into_customer_id  text NOT NULL,
  identifier_type   text NOT NULL,
  identifier_index  text NOT NULL,
  rule              text NOT NULL,
  source_id         text,
  message_id        text,
  created_at        timestamptz NOT NULL,
  unmerged_at       timestamptz,
  unmerged_by       text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customer_merges_into ON customer_merges (tenant_id, into_customer_id);
CREATE INDEX customer_merges_from ON customer_merges (tenant_id, from_customer_id);

-- Merge protection and blocked values, recorded for review.
CREATE TABLE identity_conflicts (
  tenant_id         text NOT NULL,
  id                bigserial,
  customer_id       text,
  identifier_type   text NOT NULL,
  identifier_index  text,
  reason            text NOT NULL,
  source_id         text,
  message_id        text,
  created_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX identity_conflicts_customer ON identity_conflicts (tenant_id, customer_id);

-- The timeline. customer_id is the customer the message was attributed to (a merged
-- customer keeps its events, which is what makes unmerge exact).
CREATE TABLE events (
  tenant_id     text NOT NULL,
  id            text NOT NULL,
  customer_id   text NOT NULL,
  source_id     text NOT NULL,
  message_id    text NOT NULL,
  type          text NOT NULL,
  event         text,
  occurred_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL,
  channel       text,
  properties    jsonb NOT NULL,
  context       jsonb NOT NULL,
  amount_minor  bigint,
  currency      text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_timeline ON events (tenant_id, customer_id, occurred_at DESC, id DESC);
-- Spend, order count and last order are read per customer on every batch that carries orders
-- (rule tags): this keeps that cost independent of how many other events a customer has.
CREATE INDEX events_orders ON events (tenant_id, customer_id, occurred_at) WHERE event IN ('Order Completed', 'Order Refunded');

CREATE TABLE tags (
  tenant_id    text NOT NULL,
  name         text NOT NULL,
  description  text,
  visible      boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- Tags sit on the customer they were given to (usually a root); reads gather them over a root's members.
CREATE TABLE customer_tags (
  tenant_id    text NOT NULL,
  customer_id  text NOT NULL,
  tag          text NOT NULL,
  source       text NOT NULL,
  rule_id      text,
  added_at     timestamptz NOT NULL,
  expires_at   timestamptz,
  PRIMARY KEY (tenant_id, customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tenant_id, tag);

CREATE TABLE tag_rules (
  tenant_id           text NOT NULL,
  id                  text NOT NULL,
  name                text NOT NULL,
  tag                 text NOT NULL,
  condition           jsonb NOT NULL,
  triggers            text[] NOT NULL,
  time_dependent      boolean NOT NULL,
  enabled             boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  last_recomputed_at  timestamptz,
  PRIMARY KEY (tenant_id, id)
);

-- Domain events written in the same transaction as the change they describe.
CREATE TABLE outbox (
  id             bigserial PRIMARY KEY,
  tenant_id      text NOT NULL,
  type           text NOT NULL,
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL,
  dispatched_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_subscriptions (
  tenant_id    text NOT NULL,
  id           text NOT NULL,
  url          text NOT NULL,
  event_types  text[] NOT NULL,
  secret_enc   text NOT NULL,
  description  text,
  enabled      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- One row per message per subscription; retries keep the same id (the webhook-id header).
CREATE TABLE webhook_deliveries (
  tenant_id        text NOT NULL,
  id               text NOT NULL,
  subscription_id  text NOT NULL,
  event_type       text NOT NULL,
  body             text NOT NULL,
  status           text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  -- attempts made before the last manual replay; the retry schedule restarts after a replay
  replay_base      integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  lease_until      timestamptz,
  last_status      integer,
  last_error       text,
  last_latency_ms  integer,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  delivered_at     timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (tenant_id, subscription_id, created_at DESC);

CREATE TABLE webhook_attempts (
  tenant_id    text NOT NULL,
  delivery_id  text NOT NULL,
  attempt      integer NOT NULL,
  at           timestamptz NOT NULL,
  status_code  integer,
  latency_ms   integer NOT NULL,
  error        text,
  PRIMARY KEY (tenant_id, delivery_id, attempt)
);

CREATE TABLE quarantine (
  tenant_id    text NOT NULL,
  id           text NOT NULL,
  kind         text NOT NULL,
  source_id    text,
  message_id   text,
  field        text,
  reason       text NOT NULL,
  payload_enc  text NOT NULL,
  status       text NOT NULL DEFAULT 'open',
  created_at   timestamptz NOT NULL,
  resolved_at  timestamptz,
  resolution   text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX quarantine_open ON quarantine (tenant_id, created_at DESC) WHERE status = 'open';

CREATE TABLE connectors (
  tenant_id   text NOT NULL,
  id          text NOT NULL,
  platform    text NOT NULL,
  name        text NOT NULL,
  config_enc  text NOT NULL,
  source_id   text NOT NULL,
  enabled     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE wechat_sessions (
  tenant_id        text NOT NULL,
  connector_id     text NOT NULL,
  openid           text NOT NULL,
  customer_id      text NOT NULL,
  session_key_enc  text NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connector_id, openid)
);

CREATE TABLE benefits (
  tenant_id    text NOT NULL,
  id           text NOT NULL,
  name         text NOT NULL,
  description  text,
  tags         text[] NOT NULL,
  match        text NOT NULL,
  active       boolean NOT NULL DEFAULT true,
  starts_at    timestamptz,
  ends_at      timestamptz,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE idempotency_keys (
  tenant_id     text NOT NULL,
  key           text NOT NULL,
  method        text NOT NULL,
  path          text NOT NULL,
  body_hash     text NOT NULL,
  status_code   integer,
  response_enc  text,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);

-- A fingerprint of the master key, so a server started with the wrong key refuses to run
-- instead of writing data no one can read.
CREATE TABLE server_meta (
  key    text PRIMARY KEY,
  value  text NOT NULL
);

-- Tenant configuration version (see tenants.config_version).
CREATE FUNCTION datong_bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'tenants' THEN
    IF NEW.settings IS DISTINCT FROM OLD.settings THEN
      NEW.config_version := OLD.config_version + 1;
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' THEN
    UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id;
    RETURN OLD;
  END IF;
  UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id;
  IF TG_OP = 'UPDATE' AND OLD.tenant_id <> NEW.tenant_id THEN
    UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tenants_config_version BEFORE UPDATE ON tenants
  FOR EACH ROW EXECUTE FUNCTION datong_bump_config_version();
CREATE TRIGGER sources_config_version AFTER INSERT OR UPDATE OR DELETE ON sources
  FOR EACH ROW EXECUTE FUNCTION datong_bump_config_version();
CREATE TRIGGER webhook_subscriptions_config_version AFTER INSERT OR UPDATE OR DELETE ON webhook_subscriptions
  FOR EACH ROW EXECUTE FUNCTION datong_bump_config_version();
CREATE TRIGGER tag_rules_config_version AFTER INSERT OR UPDATE OR DELETE ON tag_rules
  FOR EACH ROW EXECUTE FUNCTION datong_bump_config_version();
