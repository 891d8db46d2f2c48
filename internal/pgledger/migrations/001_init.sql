-- The first schema of the shared ledger. One database (or schema, through
-- the URL's search_path) holds one tenant.

-- meta holds the tenant's base URL, checked by every worker that opens it.
CREATE TABLE meta (
	key   text PRIMARY KEY,
	value text NOT NULL
);

-- workers registers every process that opened the ledger. A worker is live
-- while its heartbeat is younger than its ttl and its session holds the
-- advisory lock (lock_class, lock_key); stopped is set by a clean close.
CREATE TABLE workers (
	id        text PRIMARY KEY,
	lock_key  integer NOT NULL,
	host      text NOT NULL,
	pid       integer NOT NULL,
	run       text NOT NULL,
	started   timestamptz NOT NULL,
	heartbeat timestamptz NOT NULL,
	ttl       interval NOT NULL,
	stopped   timestamptz
);
CREATE SEQUENCE worker_lock_keys AS integer CYCLE;

-- attempts is the ledger proper: one row per row sent (or about to be), its
-- outcome columns null until the outcome is recorded. finished_seq, from the
-- same sequence as seq, orders outcomes among attempts begun.
CREATE TABLE attempts (
	seq          bigserial PRIMARY KEY,
	activity     text NOT NULL,
	hash         text NOT NULL,
	override     boolean NOT NULL DEFAULT false,
	run          text NOT NULL,
	worker       text NOT NULL,
	file         text NOT NULL,
	sheet        text NOT NULL DEFAULT '',
	row          integer NOT NULL,
	started      timestamptz NOT NULL,
	class        text,
	status       integer,
	result_id    text,
	message      text,
	requests     integer,
	in_doubt     boolean,
	finished     timestamptz,
	finished_seq bigint
);
CREATE INDEX attempts_activity ON attempts (activity, seq);
CREATE INDEX attempts_unsettled ON attempts (seq) WHERE class IS NULL OR in_doubt;

-- claims holds, per activity, the worker sending it now: at most one.
CREATE TABLE claims (
	activity text PRIMARY KEY,
	worker   text NOT NULL,
	seq      bigint NOT NULL,
	since    timestamptz NOT NULL
);
CREATE INDEX claims_worker ON claims (worker);

-- tenant_rate is the token bucket that every worker's --tenant-rate draws on.
CREATE TABLE tenant_rate (
	id      boolean PRIMARY KEY DEFAULT true CHECK (id),
	tokens  double precision NOT NULL,
	updated timestamptz NOT NULL
);
