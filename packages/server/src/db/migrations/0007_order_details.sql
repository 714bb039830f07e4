-- Status-only platform messages (Youzan ship/success/close, Douyin shop pushes, Meituan cancels,
-- Taobao messages whose trade could not be fetched) carry no lines, amounts or buyer. An order
-- first known from such a message has `details_known = false` until a full record (fetched with
-- the platform's order API, polled or pushed) fills them in; its Order Completed event waits for
-- the real amount. `details_attempts` / `details_attempt_at` pace the fetches.
ALTER TABLE orders ADD COLUMN details_known boolean NOT NULL DEFAULT true;
ALTER TABLE orders ADD COLUMN details_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN details_attempt_at timestamptz;
CREATE INDEX orders_details_missing ON orders (details_attempt_at NULLS FIRST) WHERE NOT details_known;
