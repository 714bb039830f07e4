-- Console access (issue 3, C13): users, roles, teams, sessions, sign-in throttling, audit
-- log, and customer owners for data scopes. Every table carries tenant_id.

-- Built-in roles (admin, ops, sales, service, finance) have fixed ids per tenant and are
-- seeded by the server (usecases/access.ts ensureBuiltinRoles); custom roles get rol_ ids.
CREATE TABLE roles (
  tenant_id    text NOT NULL REFERENCES tenants(id),
  id           text NOT NULL,
  name         text NOT NULL,
  builtin      boolean NOT NULL DEFAULT false,
  permissions  text[] NOT NULL,
  data_scope   text NOT NULL CHECK (data_scope IN ('own', 'team', 'all')),
  mask_pii     boolean NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE teams (
  tenant_id   text NOT NULL REFERENCES tenants(id),
  id          text NOT NULL,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

-- email is stored lower-cased. password_hash is argon2id (PHC string). The TOTP secret is
-- encrypted with the keyring; totp_pending_enc holds a secret being enrolled until a first
-- code confirms it. Recovery codes are kept as keyed hashes (HMAC) and removed when used.
CREATE TABLE users (
  tenant_id              text NOT NULL REFERENCES tenants(id),
  id                     text NOT NULL,
  email                  text NOT NULL,
  name                   text NOT NULL,
  password_hash          text NOT NULL,
  role_id                text NOT NULL,
  team_id                text,
  locale                 text NOT NULL DEFAULT 'zh-CN',
  totp_enabled           boolean NOT NULL DEFAULT false,
  totp_secret_enc        text,
  totp_pending_enc       text,
  -- the last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2)
  totp_last_step         bigint,
  recovery_code_hashes   text[] NOT NULL DEFAULT '{}',
  failed_attempts        integer NOT NULL DEFAULT 0,
  locked_until           timestamptz,
  disabled               boolean NOT NULL DEFAULT false,
  last_login_at          timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, email),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id)
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_team ON users (tenant_id, team_id) WHERE team_id IS NOT NULL;

-- Only a hash of the session token is stored; the token lives in the HttpOnly cookie.
CREATE TABLE user_sessions (
  tenant_id     text NOT NULL,
  id            text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  user_id       text NOT NULL,
  csrf_token    text NOT NULL,
  created_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  ip            text,
  user_agent    text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX user_sessions_user ON user_sessions (tenant_id, user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins per IP address and per unknown email (known accounts count on users), for
-- lockout with backoff.
CREATE TABLE login_throttle (
  key              text PRIMARY KEY,
  failures         integer NOT NULL,
  first_failed_at  timestamptz NOT NULL,
  locked_until     timestamptz
);

-- Who read personal data or changed what. Details never hold request bodies' values.
CREATE TABLE audit_log (
  tenant_id      text NOT NULL,
  id             text NOT NULL,
  at             timestamptz NOT NULL,
  actor_type     text NOT NULL,
  actor_id       text,
  actor_label    text,
  action         text NOT NULL,
  resource_type  text,
  resource_id    text,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip             text,
  request_id     text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, at DESC, id DESC);
CREATE INDEX audit_log_resource ON audit_log (tenant_id, resource_type, resource_id, at DESC, id DESC);

-- The user responsible for a customer (data scope "own"/"team"). Read on the root row.
ALTER TABLE customers ADD COLUMN owner_user_id text;
CREATE INDEX customers_owner ON customers (tenant_id, owner_user_id, created_at DESC, id DESC)
  WHERE merged_into IS NULL AND owner_user_id IS NOT NULL;
