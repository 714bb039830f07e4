-- E-commerce platforms (issue 4): the message log of each connector, canonical orders, lines,
-- status history and refunds, and each connector's channel state (push / polling fallback).
-- Every table carries tenant_id and every query is scoped by it. PostgreSQL 15+ and PGlite.

-- Per-connector operational settings (fallback delay, daily reconciliation, rate limit): not
-- credentials, so in clear, unlike config_enc.
ALTER TABLE connectors ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Every platform message, verified or not, as the merchant's message log. The payload is
-- AES-GCM encrypted as the inbox's is; `result` is a summary of the canonical records without
-- personal data. Dedupe: the platform's message id per connector.
--   verification: valid | invalid (rejected request, never processed) | test (ping, acknowledged)
--   channel:      push | pull (TMC-like consume) | poll (fallback order API) | backfill (reconciliation)
--   status:       pending | processed | ignored | failed (retry at next_attempt_at) | quarantined
CREATE TABLE connector_messages (
  tenant_id        text NOT NULL,
  id               text NOT NULL,
  connector_id     text NOT NULL,
  message_id       text NOT NULL,
  type             text NOT NULL,
  channel          text NOT NULL DEFAULT 'push',
  received_at      timestamptz NOT NULL,
  occurred_at      timestamptz,
  verification     text NOT NULL CHECK (verification IN ('valid', 'invalid', 'test')),
  payload_enc      text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'processed', 'ignored', 'failed', 'quarantined')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  error_code       text,
  error            text,
  result           jsonb,
  processed_at     timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, connector_id, message_id)
);
CREATE INDEX connector_messages_due ON connector_messages (next_attempt_at, id) WHERE status IN ('pending', 'failed');
CREATE INDEX connector_messages_log ON connector_messages (tenant_id, connector_id, received_at DESC, id DESC);

-- One row per platform order, its state moved only forward (core's orderUpdateApplies).
-- Amounts: exact decimal strings as the platform gave them, plus total_minor for sums.
-- Buyer identifiers: blind indexes (as customer_identities.value_index) and the identifiers
-- themselves encrypted; masked buyer fields (name, masked phone, address) encrypted too.
CREATE TABLE orders (
  tenant_id         text NOT NULL,
  platform          text NOT NULL,
  shop_id           text NOT NULL,
  order_id          text NOT NULL,
  connector_id      text NOT NULL,
  status            text NOT NULL,
  status_at         timestamptz NOT NULL,
  version           text,
  currency          text NOT NULL,
  total             text NOT NULL,
  total_minor       bigint,
  discount          text,
  shipping          text,
  created_at        timestamptz NOT NULL,
  paid_at           timestamptz,
  buyer_index       text[] NOT NULL DEFAULT '{}',
  buyer_ids_enc     text,
  buyer_enc         text,
  attribution       jsonb NOT NULL DEFAULT '{}'::jsonb,
  promotions        jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- The inbox messageId of the Segment event that put the order on a customer's timeline
  -- (events.message_id with the connector's source): the link from order to customer.
  link_message_id   text,
  -- `Order Completed` was written for this order (once, when it first became paid).
  completed_event   boolean NOT NULL DEFAULT false,
  first_seen_at     timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, platform, shop_id, order_id)
);
CREATE INDEX orders_connector_updated ON orders (tenant_id, connector_id, updated_at DESC);

CREATE TABLE order_lines (
  tenant_id     text NOT NULL,
  platform      text NOT NULL,
  shop_id       text NOT NULL,
  order_id      text NOT NULL,
  line_id       text NOT NULL,
  product_id    text,
  sku_id        text,
  title         text NOT NULL,
  quantity      integer NOT NULL,
  unit_price    text NOT NULL,
  amount        text NOT NULL,
  amount_minor  bigint,
  PRIMARY KEY (tenant_id, platform, shop_id, order_id, line_id)
);

-- One row per applied update (a status transition, or newer details in the same status).
CREATE TABLE order_status_history (
  tenant_id             text NOT NULL,
  id                    bigserial,
  platform              text NOT NULL,
  shop_id               text NOT NULL,
  order_id              text NOT NULL,
  from_status           text,
  to_status             text NOT NULL,
  status_at             timestamptz NOT NULL,
  version               text,
  connector_message_id  text,
  recorded_at           timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX order_status_history_order ON order_status_history (tenant_id, platform, shop_id, order_id, id);

CREATE TABLE refunds (
  tenant_id         text NOT NULL,
  platform          text NOT NULL,
  shop_id           text NOT NULL,
  refund_id         text NOT NULL,
  order_id          text NOT NULL,
  connector_id      text NOT NULL,
  status            text NOT NULL,
  status_at         timestamptz NOT NULL,
  version           text,
  currency          text NOT NULL,
  amount            text NOT NULL,
  amount_minor      bigint,
  reason_enc        text,
  buyer_ids_enc     text,
  link_message_id   text,
  -- `Order Refunded` was written (once, when the refund first reached `refunded` and its buyer was known).
  refunded_event    boolean NOT NULL DEFAULT false,
  first_seen_at     timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, platform, shop_id, refund_id)
);
CREATE INDEX refunds_order ON refunds (tenant_id, platform, shop_id, order_id);

-- Which channel feeds a connector and how each is doing.
CREATE TABLE connector_state (
  tenant_id            text NOT NULL,
  connector_id         text NOT NULL,
  channel              text NOT NULL DEFAULT 'push' CHECK (channel IN ('push', 'polling')),
  channel_since        timestamptz NOT NULL,
  channel_reason       text,
  last_push_at         timestamptz,
  last_valid_push_at   timestamptz,
  push_failures        integer NOT NULL DEFAULT 0,
  last_push_error      text,
  poll_watermark       timestamptz,
  poll_window_to       timestamptz,
  poll_cursor          text,
  next_poll_at         timestamptz,
  last_poll_at         timestamptz,
  poll_failures        integer NOT NULL DEFAULT 0,
  last_poll_error      text,
  last_pull_at         timestamptz,
  pull_failures        integer NOT NULL DEFAULT 0,
  last_pull_error      text,
  last_reconcile_at    timestamptz,
  last_reconcile       jsonb,
  updated_at           timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connector_id)
);
