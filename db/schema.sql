--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: api; Type: SCHEMA; Schema: -; Owner: agentledger_owner
--

CREATE SCHEMA api;


ALTER SCHEMA api OWNER TO agentledger_owner;

--
-- Name: SCHEMA api; Type: COMMENT; Schema: -; Owner: agentledger_owner
--

COMMENT ON SCHEMA api IS 'agentledger client interface: the functions the API, workers and auditors may call.';


--
-- Name: ledger; Type: SCHEMA; Schema: -; Owner: agentledger_owner
--

CREATE SCHEMA ledger;


ALTER SCHEMA ledger OWNER TO agentledger_owner;

--
-- Name: SCHEMA ledger; Type: COMMENT; Schema: -; Owner: agentledger_owner
--

COMMENT ON SCHEMA ledger IS 'agentledger private data: events, the audit trail, seals, lifecycle rules and settings. Clients never touch it directly.';


--
-- Name: api_key; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.api_key AS (
	name text,
	role text,
	lookup_prefix text,
	created_at timestamp with time zone,
	created_by text,
	revoked_at timestamp with time zone,
	revoked_by text,
	revoke_reason text
);


ALTER TYPE api.api_key OWNER TO agentledger_owner;

--
-- Name: TYPE api_key; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.api_key IS 'An API key as administrators and the API see it: never the key or its hash.';


--
-- Name: actor_kind; Type: TYPE; Schema: ledger; Owner: agentledger_owner
--

CREATE TYPE ledger.actor_kind AS ENUM (
    'agent',
    'human',
    'system'
);


ALTER TYPE ledger.actor_kind OWNER TO agentledger_owner;

--
-- Name: TYPE actor_kind; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TYPE ledger.actor_kind IS 'Who made a change: agent - an AI agent or worker process; human - a person (reviewer, operator, a DBA in psql);
system - agentledger itself (lease rescue, scheduled maintenance).';


--
-- Name: event_status; Type: TYPE; Schema: ledger; Owner: agentledger_owner
--

CREATE TYPE ledger.event_status AS ENUM (
    'queued',
    'processing',
    'in_review',
    'approved',
    'rejected',
    'completed',
    'failed'
);


ALTER TYPE ledger.event_status OWNER TO agentledger_owner;

--
-- Name: TYPE event_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TYPE ledger.event_status IS 'Where an event is in its lifecycle:
queued     - waiting to be claimed once run_after has passed;
processing - claimed by a worker that holds its lease and is deciding it;
in_review  - decided by an agent, but its type''s review policy asks people: the decision is a
             proposal until reviewers approve or reject the event (ledger.review_policies);
approved   - decided yes; the follow-up action (e.g. disburse the loan) is pending or running;
rejected   - decided no; the follow-up action (e.g. notify the customer) is pending or running;
completed  - the follow-up action succeeded; terminal;
failed     - attempts exhausted, a non-retryable error, a failed action or a cancel; an operator may re-queue it.
The allowed moves between them are the rows of ledger.transitions.';


--
-- Name: audit_entry; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.audit_entry AS (
	seq bigint,
	event_id bigint,
	customer_id text,
	version integer,
	from_status ledger.event_status,
	to_status ledger.event_status,
	actor text,
	actor_kind ledger.actor_kind,
	db_user text,
	reason text,
	details jsonb,
	attempt integer,
	recorded_at timestamp with time zone,
	prev_hash text,
	hash text,
	api_key text
);


ALTER TYPE api.audit_entry OWNER TO agentledger_owner;

--
-- Name: TYPE audit_entry; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.audit_entry IS 'One audit row as clients see it; hashes in hex.';


--
-- Name: audit_verdict; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.audit_verdict AS (
	ok boolean,
	rows_checked bigint,
	seals_checked bigint,
	broken_seq bigint,
	broken_event_id bigint,
	problem text
);


ALTER TYPE api.audit_verdict OWNER TO agentledger_owner;

--
-- Name: TYPE audit_verdict; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.audit_verdict IS 'Result of api.verify_audit: ok, how much was checked, and when not ok the first broken audit row (or the event or seal) and what is wrong.';


--
-- Name: claim; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.claim AS (
	id bigint,
	customer_id text,
	event_type text,
	status ledger.event_status,
	payload jsonb,
	priority smallint,
	attempts integer,
	max_attempts integer,
	lease_token uuid,
	lease_expires_at timestamp with time zone,
	result jsonb,
	decision_reason text,
	correlation_id uuid,
	caused_by_event_id bigint,
	created_at timestamp with time zone
);


ALTER TYPE api.claim OWNER TO agentledger_owner;

--
-- Name: TYPE claim; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.claim IS 'An event a worker has just claimed, with its lease token: the token must be presented to heartbeat,
decide, complete, fail or release it. status is processing for a claim to decide, approved or
rejected for a claim to run the follow-up action (result and decision_reason then say what was
decided).';


--
-- Name: deadline_breach; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.deadline_breach AS (
	event_id bigint,
	event_type text,
	deadline text,
	due_at timestamp with time zone
);


ALTER TYPE api.deadline_breach OWNER TO agentledger_owner;

--
-- Name: TYPE deadline_breach; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.deadline_breach IS 'A deadline an event missed: decide (not decided within decide_within of submission) or review (not reviewed within review_within), and when it was due.';


--
-- Name: event; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.event AS (
	id bigint,
	customer_id text,
	event_type text,
	status ledger.event_status,
	payload jsonb,
	priority smallint,
	attempts integer,
	max_attempts integer,
	run_after timestamp with time zone,
	lease_owner text,
	lease_expires_at timestamp with time zone,
	idempotency_key text,
	result jsonb,
	last_error text,
	last_error_type text,
	correlation_id uuid,
	caused_by_event_id bigint,
	version integer,
	changed_by text,
	changed_by_kind ledger.actor_kind,
	change_reason text,
	created_at timestamp with time zone,
	updated_at timestamp with time zone
);


ALTER TYPE api.event OWNER TO agentledger_owner;

--
-- Name: TYPE event; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.event IS 'An event as clients see it: every column of ledger.events except the lease token and change details.';


--
-- Name: key; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.key AS (
	name text,
	role text,
	principal text,
	event_types text[],
	customers text,
	lookup_prefix text,
	created_at timestamp with time zone,
	created_by text,
	revoked_at timestamp with time zone,
	revoked_by text,
	revoke_reason text
);


ALTER TYPE api.key OWNER TO agentledger_owner;

--
-- Name: TYPE key; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.key IS 'An API key as administrators and the API see it, with its principal and scope: never the key or its hash.';


--
-- Name: principal; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.principal AS (
	name text,
	kind text,
	active boolean,
	logins text[],
	keys text[],
	created_at timestamp with time zone,
	deactivated_at timestamp with time zone,
	deactivate_reason text
);


ALTER TYPE api.principal OWNER TO agentledger_owner;

--
-- Name: TYPE principal; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.principal IS 'A principal as administrators see it, with its logins and its valid keys.';


--
-- Name: receipt; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.receipt AS (
	created boolean,
	id bigint,
	customer_id text,
	event_type text,
	status ledger.event_status,
	priority smallint,
	run_after timestamp with time zone,
	idempotency_key text,
	correlation_id uuid,
	created_at timestamp with time zone
);


ALTER TYPE api.receipt OWNER TO agentledger_owner;

--
-- Name: TYPE receipt; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.receipt IS 'Answer to a submit: the event''s identity and state, without echoing its payload. created is false when an idempotency key matched an earlier submit.';


--
-- Name: report; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.report AS (
	event_id bigint,
	outcome text,
	status ledger.event_status,
	code text,
	message text,
	lease_expires_at timestamp with time zone,
	run_after timestamp with time zone
);


ALTER TYPE api.report OWNER TO agentledger_owner;

--
-- Name: TYPE report; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.report IS 'The answer for one event of a report: outcome done (applied now), already_done (the same report
was applied before: a retry) or refused (code is the SQLSTATE, message says why: AL009 lease not
held, AL003 wrong status, AL001 no such event). status is the event''s status afterwards;
lease_expires_at is set while the caller still holds the lease; run_after is when a retried or
released event may run again.';


--
-- Name: review; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.review AS (
	id bigint,
	customer_id text,
	event_type text,
	payload jsonb,
	proposed_status ledger.event_status,
	proposed_by text,
	proposal_reason text,
	result jsonb,
	approvals_required smallint,
	approved_by text[],
	review_started_at timestamp with time zone,
	created_at timestamp with time zone
);


ALTER TYPE api.review OWNER TO agentledger_owner;

--
-- Name: TYPE review; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.review IS 'An event waiting for review: what was submitted, the agent''s proposal (decision, proposer, reason, result) and the approvals so far.';


--
-- Name: seal; Type: TYPE; Schema: api; Owner: agentledger_owner
--

CREATE TYPE api.seal AS (
	id bigint,
	first_seq bigint,
	last_seq bigint,
	row_count bigint,
	prev_digest text,
	digest text,
	sealed_by text,
	sealed_at timestamp with time zone
);


ALTER TYPE api.seal OWNER TO agentledger_owner;

--
-- Name: TYPE seal; Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON TYPE api.seal IS 'An audit seal as clients see it; digests in hex.';


--
-- Name: acting; Type: TYPE; Schema: ledger; Owner: agentledger_owner
--

CREATE TYPE ledger.acting AS (
	principal text,
	kind ledger.actor_kind,
	api_key text,
	key_role text,
	event_types text[],
	customers text
);


ALTER TYPE ledger.acting OWNER TO agentledger_owner;

--
-- Name: TYPE acting; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TYPE ledger.acting IS 'The principal acting in a call (its audit actor kind: service principals act as system), the API key it used (NULL for a login) with that key''s role and scope.';


--
-- Name: actor_name; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.actor_name AS text
	CONSTRAINT actor_name_valid CHECK (((VALUE <> ''::text) AND (char_length(VALUE) <= 200) AND (VALUE !~ '[[:cntrl:]]'::text)));


ALTER DOMAIN ledger.actor_name OWNER TO agentledger_owner;

--
-- Name: DOMAIN actor_name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.actor_name IS 'Who acts: an agent, a person or an API key name; 1-200 characters without control characters.';


--
-- Name: _is_customer_id(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._is_customer_id(p_value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ((p_value <> ''::text) AND (char_length(p_value) <= 64) AND (p_value !~ '[[:cntrl:]]'::text));


ALTER FUNCTION ledger._is_customer_id(p_value text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _is_customer_id(p_value text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._is_customer_id(p_value text) IS 'Is p_value a customer id: 1-64 characters without control characters? (NULL for NULL.)';


--
-- Name: customer_id; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.customer_id AS text
	CONSTRAINT customer_id_valid CHECK (ledger._is_customer_id(VALUE));


ALTER DOMAIN ledger.customer_id OWNER TO agentledger_owner;

--
-- Name: DOMAIN customer_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.customer_id IS 'A bank customer''s id: 1-64 characters without control characters (ledger._is_customer_id).';


--
-- Name: _is_idempotency_key(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._is_idempotency_key(p_value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ((p_value <> ''::text) AND (char_length(p_value) <= 255) AND (p_value !~ '[[:cntrl:]]'::text));


ALTER FUNCTION ledger._is_idempotency_key(p_value text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _is_idempotency_key(p_value text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._is_idempotency_key(p_value text) IS 'Is p_value an idempotency key: 1-255 characters without control characters? (NULL for NULL.)';


--
-- Name: idempotency_key; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.idempotency_key AS text
	CONSTRAINT idempotency_key_valid CHECK (ledger._is_idempotency_key(VALUE));


ALTER DOMAIN ledger.idempotency_key OWNER TO agentledger_owner;

--
-- Name: DOMAIN idempotency_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.idempotency_key IS 'A client''s idempotency key: 1-255 characters without control characters (ledger._is_idempotency_key).';


--
-- Name: _is_key_name(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._is_key_name(p_value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN (p_value ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$'::text);


ALTER FUNCTION ledger._is_key_name(p_value text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _is_key_name(p_value text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._is_key_name(p_value text) IS 'Is p_value an API key name: a letter or digit, then up to 99 of letters, digits and . _ @ - ? (NULL for NULL.)';


--
-- Name: key_name; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.key_name AS text
	CONSTRAINT key_name_valid CHECK (ledger._is_key_name(VALUE));


ALTER DOMAIN ledger.key_name OWNER TO agentledger_owner;

--
-- Name: DOMAIN key_name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.key_name IS 'An API key''s name: a letter or digit, then up to 99 of letters, digits and . _ @ - (ledger._is_key_name).';


--
-- Name: principal_kind; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.principal_kind AS text
	CONSTRAINT principal_kind_known CHECK ((VALUE = ANY (ARRAY['human'::text, 'agent'::text, 'service'::text])));


ALTER DOMAIN ledger.principal_kind OWNER TO agentledger_owner;

--
-- Name: DOMAIN principal_kind; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.principal_kind IS 'human: a person (reviewer, operator, auditor, DBA); agent: an AI agent or worker; service: a program acting for the bank (an intake service). A human review needs a human principal.';


--
-- Name: reason; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.reason AS text
	CONSTRAINT reason_length CHECK ((char_length(VALUE) <= 4000));


ALTER DOMAIN ledger.reason OWNER TO agentledger_owner;

--
-- Name: DOMAIN reason; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.reason IS 'Why a change was made, or what went wrong: at most 4000 characters. Kept in the audit trail.';


--
-- Name: submission; Type: TYPE; Schema: ledger; Owner: agentledger_owner
--

CREATE TYPE ledger.submission AS (
	ord bigint,
	id bigint,
	customer_id text,
	event_type text,
	payload jsonb,
	priority integer,
	run_after timestamp with time zone,
	idempotency_key text,
	correlation_id uuid,
	caused_by_event_id bigint
);


ALTER TYPE ledger.submission OWNER TO agentledger_owner;

--
-- Name: TYPE submission; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TYPE ledger.submission IS 'One item of a submit request while api.submit_events checks and inserts it.';


--
-- Name: _is_type_name(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._is_type_name(p_value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN (p_value ~ '^[a-z][a-z0-9_.-]{0,49}$'::text);


ALTER FUNCTION ledger._is_type_name(p_value text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _is_type_name(p_value text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._is_type_name(p_value text) IS 'Is p_value an event type name: a lowercase letter, then up to 49 of a-z 0-9 _ . - ? (NULL for NULL.)';


--
-- Name: type_name; Type: DOMAIN; Schema: ledger; Owner: agentledger_owner
--

CREATE DOMAIN ledger.type_name AS text
	CONSTRAINT type_name_valid CHECK (ledger._is_type_name(VALUE));


ALTER DOMAIN ledger.type_name OWNER TO agentledger_owner;

--
-- Name: DOMAIN type_name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON DOMAIN ledger.type_name IS 'An event type''s name: a lowercase letter, then up to 49 of a-z 0-9 _ . - (ledger._is_type_name).';


--
-- Name: audit_feed(bigint, bigint, integer); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer DEFAULT 500) RETURNS SETOF api.audit_entry
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF p_after_seq IS NULL OR p_up_to_seq IS NULL OR p_after_seq < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = 'audit_feed needs p_after_seq >= 0, p_up_to_seq, and p_limit from 1 to 1000',
            DETAIL = format('Got p_after_seq %s, p_up_to_seq %s, p_limit %s.', p_after_seq, p_up_to_seq, p_limit),
            HINT = 'Start at 0 (or the last seq a client saw) and read up to a final position.';
    END IF;
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at,
           encode(a.prev_hash, 'hex'), encode(a.hash, 'hex'), a.api_key
      FROM ledger.audit_log a
     WHERE a.seq > p_after_seq AND a.seq <= p_up_to_seq
     ORDER BY a.seq
     LIMIT p_limit;
END
$$;


ALTER FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer) OWNER TO agentledger_owner;

--
-- Name: FUNCTION audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer) IS 'Audit rows with seq in (p_after_seq, p_up_to_seq], in seq order, at most p_limit (1..1000): the changes of every event, for live feeds and their resumption.';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_log; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.audit_log (
    seq bigint NOT NULL,
    customer_id text NOT NULL,
    event_id bigint NOT NULL,
    version integer NOT NULL,
    from_status ledger.event_status,
    to_status ledger.event_status NOT NULL,
    actor text NOT NULL,
    actor_kind ledger.actor_kind NOT NULL,
    db_user text DEFAULT SESSION_USER NOT NULL,
    reason text,
    details jsonb,
    attempt integer NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    prev_hash bytea,
    hash bytea NOT NULL,
    api_key text,
    CONSTRAINT audit_log_first_row_has_no_previous CHECK ((((version = 1) = (from_status IS NULL)) AND ((version = 1) = (prev_hash IS NULL))))
);


ALTER TABLE ledger.audit_log OWNER TO agentledger_owner;

--
-- Name: TABLE audit_log; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.audit_log IS 'Append-only audit trail: one row per status change of an event, written by triggers on ledger.events, hash-chained per event. Verify with api.verify_audit().';


--
-- Name: COLUMN audit_log.seq; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.seq IS 'Global sequence number, in insert order (gaps come from rolled-back transactions).';


--
-- Name: COLUMN audit_log.customer_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.customer_id IS 'The customer of the event.';


--
-- Name: COLUMN audit_log.event_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.event_id IS 'The event that changed.';


--
-- Name: COLUMN audit_log.version; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.version IS 'The event version this change produced: 1 for the submit, then +1 per change.';


--
-- Name: COLUMN audit_log.from_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.from_status IS 'Status before the change; NULL for the submit.';


--
-- Name: COLUMN audit_log.to_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.to_status IS 'Status after the change.';


--
-- Name: COLUMN audit_log.actor; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.actor IS 'The principal that made the change (for a raw write: the database user).';


--
-- Name: COLUMN audit_log.actor_kind; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.actor_kind IS 'agent, human or system.';


--
-- Name: COLUMN audit_log.db_user; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.db_user IS 'The database login that made the change (session_user), whatever actor it named.';


--
-- Name: COLUMN audit_log.reason; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.reason IS 'Why the change was made.';


--
-- Name: COLUMN audit_log.details; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.details IS 'Evidence: model and version, confidence, inputs consulted, error type, the decision result.';


--
-- Name: COLUMN audit_log.attempt; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.attempt IS 'The event''s attempt count at the change.';


--
-- Name: COLUMN audit_log.recorded_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.recorded_at IS 'Transaction time of the change (real time, never a test clock).';


--
-- Name: COLUMN audit_log.prev_hash; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.prev_hash IS 'hash of the previous row of the same event; NULL on its first row.';


--
-- Name: COLUMN audit_log.hash; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.hash IS 'sha256 of prev_hash and this row''s content (see ledger._audit_hash).';


--
-- Name: COLUMN audit_log.api_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_log.api_key IS 'The API key the principal used; NULL when its database login (db_user) acted directly. Part of the hash when set.';


--
-- Name: audit_log_seq_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.audit_log ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.audit_log_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: audit_feed_position(text[]); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.audit_feed_position(p_waiting text[] DEFAULT '{}'::text[]) RETURNS TABLE(last_seq bigint, writers text[], still_writing text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT ( SELECT
                 CASE
                     WHEN q.is_called THEN q.last_value
                     ELSE (0)::bigint
                 END AS "case"
            FROM ledger.audit_log_seq_seq q) AS "case",
     COALESCE(( SELECT array_agg(DISTINCT l.virtualtransaction ORDER BY l.virtualtransaction) AS array_agg
            FROM pg_locks l
           WHERE ((l.locktype = 'relation'::text) AND (l.relation = ('ledger.audit_log'::regclass)::oid) AND (l.database = ( SELECT d.oid
                    FROM pg_database d
                   WHERE (d.datname = current_database()))) AND (l.mode = 'RowExclusiveLock'::text) AND (l.pid IS DISTINCT FROM pg_backend_pid()))), '{}'::text[]) AS "coalesce",
     COALESCE(( SELECT array_agg(DISTINCT l.virtualtransaction ORDER BY l.virtualtransaction) AS array_agg
            FROM pg_locks l
           WHERE (l.virtualtransaction = ANY (audit_feed_position.p_waiting))), '{}'::text[]) AS "coalesce";
END;


ALTER FUNCTION api.audit_feed_position(p_waiting text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION audit_feed_position(p_waiting text[]); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.audit_feed_position(p_waiting text[]) IS 'For readers that follow the audit trail live: the last seq handed out, the transactions writing
audit rows now, and which of p_waiting still are. Read the position, and deliver rows up to its
last_seq once none of its writers is still writing; see api.audit_feed.';


--
-- Name: api_keys; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.api_keys (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    lookup_prefix text NOT NULL,
    secret_sha256 bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT SESSION_USER NOT NULL,
    revoked_at timestamp with time zone,
    revoked_by text,
    revoke_reason text,
    principal_id bigint NOT NULL,
    event_types text[],
    customers text,
    CONSTRAINT api_keys_customers_length CHECK (((char_length(customers) >= 1) AND (char_length(customers) <= 200))),
    CONSTRAINT api_keys_lookup_prefix_format CHECK ((lookup_prefix ~ '^[0-9a-f]{12}$'::text)),
    CONSTRAINT api_keys_name_format CHECK (ledger._is_key_name(name)),
    CONSTRAINT api_keys_revocation_complete CHECK ((((revoked_at IS NULL) = (revoked_by IS NULL)) AND ((revoked_at IS NULL) = (revoke_reason IS NULL)))),
    CONSTRAINT api_keys_role_known CHECK ((role = ANY (ARRAY['submitter'::text, 'worker'::text, 'reviewer'::text, 'auditor'::text]))),
    CONSTRAINT api_keys_secret_sha256_length CHECK ((octet_length(secret_sha256) = 32))
);


ALTER TABLE ledger.api_keys OWNER TO agentledger_owner;

--
-- Name: TABLE api_keys; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.api_keys IS 'API keys of the HTTP API: a name (the actor recorded in the audit trail), a role deciding which endpoints it may call, and only a sha256 of the key itself. Managed through api.create_api_key and api.revoke_api_key.';


--
-- Name: COLUMN api_keys.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.id IS 'Surrogate key.';


--
-- Name: COLUMN api_keys.name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.name IS 'Unique name of the key, recorded with its principal in every change made with it. Names are never reused, even after revocation.';


--
-- Name: COLUMN api_keys.role; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.role IS 'submitter, worker, reviewer or auditor: which endpoints the key may call.';


--
-- Name: COLUMN api_keys.lookup_prefix; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.lookup_prefix IS 'The 12 hex characters after "al_" in the key: finds the row without scanning hashes.';


--
-- Name: COLUMN api_keys.secret_sha256; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.secret_sha256 IS 'sha256 of the whole key text.';


--
-- Name: COLUMN api_keys.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.created_at IS 'When the key was created.';


--
-- Name: COLUMN api_keys.created_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.created_by IS 'Database user who created it.';


--
-- Name: COLUMN api_keys.revoked_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.revoked_at IS 'When it was revoked; NULL while it is valid.';


--
-- Name: COLUMN api_keys.revoked_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.revoked_by IS 'Database user who revoked it.';


--
-- Name: COLUMN api_keys.revoke_reason; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.revoke_reason IS 'Why it was revoked.';


--
-- Name: COLUMN api_keys.principal_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.principal_id IS 'The principal the key acts for.';


--
-- Name: COLUMN api_keys.event_types; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.event_types IS 'The event types the key may submit, claim and read; NULL: all.';


--
-- Name: COLUMN api_keys.customers; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.api_keys.customers IS 'A LIKE pattern of the customer ids the key may submit for and read (e.g. retail-%); NULL: all.';


--
-- Name: principals; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.principals (
    id bigint NOT NULL,
    name text NOT NULL,
    kind ledger.principal_kind NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT SESSION_USER NOT NULL,
    deactivated_at timestamp with time zone,
    deactivated_by text,
    deactivate_reason text,
    CONSTRAINT principals_deactivation_complete CHECK (((active = (deactivated_at IS NULL)) AND (active = (deactivated_by IS NULL)) AND (active = (deactivate_reason IS NULL)))),
    CONSTRAINT principals_name_format CHECK (ledger._is_key_name(name))
);


ALTER TABLE ledger.principals OWNER TO agentledger_owner;

--
-- Name: TABLE principals; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.principals IS 'Who may act: people, agents and services. The actor of every change is a principal, found from the API key or the database login of the call. Names are never reused; a principal is deactivated, never deleted.';


--
-- Name: COLUMN principals.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.id IS 'Surrogate key.';


--
-- Name: COLUMN principals.name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.name IS 'Unique name, the actor in the audit trail.';


--
-- Name: COLUMN principals.kind; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.kind IS 'human, agent or service (ledger.principal_kind).';


--
-- Name: COLUMN principals.active; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.active IS 'False once deactivated: its keys and logins then act no more.';


--
-- Name: COLUMN principals.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.created_at IS 'When the principal was created.';


--
-- Name: COLUMN principals.created_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.created_by IS 'Database user who created it.';


--
-- Name: COLUMN principals.deactivated_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.deactivated_at IS 'When it was deactivated; NULL while active.';


--
-- Name: COLUMN principals.deactivated_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.deactivated_by IS 'Database user who deactivated it.';


--
-- Name: COLUMN principals.deactivate_reason; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principals.deactivate_reason IS 'Why it was deactivated.';


--
-- Name: _as_api_key(ledger.api_keys); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._as_api_key(k ledger.api_keys) RETURNS api.key
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ROW((k).name, (k).role, (SELECT p.name FROM ledger.principals p WHERE (p.id = (_as_api_key.k).principal_id)), (k).event_types, (k).customers, (k).lookup_prefix, (k).created_at, (k).created_by, (k).revoked_at, (k).revoked_by, (k).revoke_reason)::api.key;


ALTER FUNCTION ledger._as_api_key(k ledger.api_keys) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _as_api_key(k ledger.api_keys); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._as_api_key(k ledger.api_keys) IS 'An API key as api.key: never the key or its hash.';


--
-- Name: _valid_key(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._valid_key(p_key text) RETURNS SETOF ledger.api_keys
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT k.id,
     k.name,
     k.role,
     k.lookup_prefix,
     k.secret_sha256,
     k.created_at,
     k.created_by,
     k.revoked_at,
     k.revoked_by,
     k.revoke_reason,
     k.principal_id,
     k.event_types,
     k.customers
    FROM (ledger.api_keys k
      JOIN ledger.principals p ON ((p.id = k.principal_id)))
   WHERE ((_valid_key.p_key ~ '^al_[0-9a-f]{64}$'::text) AND (k.lookup_prefix = substr(_valid_key.p_key, 4, 12)) AND (k.secret_sha256 = sha256(convert_to(_valid_key.p_key, 'UTF8'::name))) AND (k.revoked_at IS NULL) AND p.active);
END;


ALTER FUNCTION ledger._valid_key(p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _valid_key(p_key text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._valid_key(p_key text) IS 'The API key whose text is p_key, if it is valid: well formed, not revoked, of an active principal; no row otherwise.';


--
-- Name: authenticate_api_key(text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.authenticate_api_key(p_key text) RETURNS SETOF api.key
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT (ledger._as_api_key(k.*)).name AS name,
     (ledger._as_api_key(k.*)).role AS role,
     (ledger._as_api_key(k.*)).principal AS principal,
     (ledger._as_api_key(k.*)).event_types AS event_types,
     (ledger._as_api_key(k.*)).customers AS customers,
     (ledger._as_api_key(k.*)).lookup_prefix AS lookup_prefix,
     (ledger._as_api_key(k.*)).created_at AS created_at,
     (ledger._as_api_key(k.*)).created_by AS created_by,
     (ledger._as_api_key(k.*)).revoked_at AS revoked_at,
     (ledger._as_api_key(k.*)).revoked_by AS revoked_by,
     (ledger._as_api_key(k.*)).revoke_reason AS revoke_reason
    FROM ledger._valid_key(authenticate_api_key.p_key) k(id, name, role, lookup_prefix, secret_sha256, created_at, created_by, revoked_at, revoked_by, revoke_reason, principal_id, event_types, customers);
END;


ALTER FUNCTION api.authenticate_api_key(p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION authenticate_api_key(p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.authenticate_api_key(p_key text) IS 'The valid (not revoked, of an active principal) API key whose text is p_key, as one api.key row; no row otherwise.';


--
-- Name: cancel_event(bigint, text, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- A queued event: cancelled (failed). A failed ordered event that holds back its customer's later
-- ordered events: its failure is accepted, recorded as a note, and the line moves on.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{reviewer}');
    v_event ledger.events;
    v_result api.event;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF FOUND AND v_event.status = 'failed' AND v_event.ordered AND v_event.order_released_at IS NULL THEN
        PERFORM ledger._refuse_out_of_scope(v_acting, v_event.customer_id, v_event.event_type);
        PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
        UPDATE ledger.events e
           SET version = e.version + 1, changed_by = v_acting.principal, changed_by_kind = v_acting.kind,
               changed_by_key = v_acting.api_key, change_reason = p_reason,
               change_details = jsonb_build_object('step', 'cancel', 'failure_accepted', true),
               updated_at = v_now, order_released_at = v_now
         WHERE e.customer_id = v_event.customer_id AND e.id = p_event_id
        RETURNING * INTO v_event;
        v_result := ledger._as_api_event(v_event);
    ELSE
        PERFORM ledger._require_status(p_event_id, 'queued', 'cancelled');
        v_result := ledger._transition_event(p_event_id, 'failed', v_acting, p_reason, NULL, NULL,
                                             p_now, 'cancel');
        UPDATE ledger.events e SET order_released_at = v_now
         WHERE e.id = p_event_id AND e.ordered
        RETURNING * INTO v_event;
    END IF;
    IF v_event.ordered THEN
        -- The customer's next ordered event may be claimed now.
        PERFORM ledger._wake_workers((SELECT jsonb_object_agg(q.event_type, q.n)
                                        FROM (SELECT o.event_type, count(*) AS n FROM ledger.events o
                                               WHERE o.customer_id = v_event.customer_id AND o.ordered
                                                 AND o.status = 'queued' GROUP BY o.event_type) q));
    END IF;
    RETURN v_result;
END
$$;


ALTER FUNCTION api.cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) IS 'Cancels a queued event, with a reason (AL008 without one): it becomes failed and is never claimed.
Given a failed ordered event that holds back its customer''s later ordered events, accepts its
failure (a note, with the reason): it stays failed and the line moves on. Any other status: AL003.';


--
-- Name: claim_actions(text, integer, text[], timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.claim_actions(p_worker text, p_limit integer DEFAULT 1, p_event_types text[] DEFAULT NULL::text[], p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.claim
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_types text[] := ledger._claimable_types(v_acting, p_event_types);
    v_lease interval;
    v_tokens uuid[];
    v_picked bigint[];
BEGIN
    PERFORM ledger._checked_claim(p_limit, v_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Decided events with no lease: handed off, released, decided by a person, or freed by the
    -- rescue after their holder died. Picked in claim order, skipping rows other claimers hold; as
    -- in api.claim_events, a claim that names types reads only their queues.
    v_picked := ledger._pick_for_claim('actions', v_types, p_limit, v_now);
    -- The status does not change, so no audit row: the completion or failure that ends the action
    -- records who ran it.
    RETURN QUERY
    WITH claimed AS (
        UPDATE ledger.events e
           SET attempts = e.attempts + 1, lease_owner = v_acting.principal, lease_token = v_tokens[p.n],
               lease_expires_at = v_now + v_lease,
               lease_fenced = true
          FROM unnest(v_picked) WITH ORDINALITY AS p (id, n)
         WHERE e.id = p.id AND e.id = ANY (v_picked)
        RETURNING e.*
    )
    SELECT c.id, c.customer_id, c.event_type, c.status, c.payload, c.priority, c.attempts,
           c.max_attempts, c.lease_token, c.lease_expires_at, c.result, c.change_reason,
           c.correlation_id, c.caused_by_event_id, c.created_at
      FROM claimed c
     ORDER BY c.priority DESC, c.id;
END
$$;


ALTER FUNCTION api.claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) IS 'Claims up to p_limit decided (approved or rejected) events whose follow-up action is pending: no
lease (api.rescue_expired_leases frees expired ones), run_after passed. Same order and lease as api.claim_events; the status stays, each claim
counts an attempt at the action, and the lease is held by the acting principal (of the worker key
p_key, or of the login; a key limited to types claims only those). p_worker labels the worker
instance; the report that ends the action records the principal. Returns the claims with their lease tokens, the decision result and
its reason; finish each with api.complete_events or api.fail_events.';


--
-- Name: claim_events(text, integer, text[], timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.claim_events(p_worker text, p_limit integer DEFAULT 1, p_event_types text[] DEFAULT NULL::text[], p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.claim
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_types text[] := ledger._claimable_types(v_acting, p_event_types);
    v_instance ledger.actor_name := p_worker;  -- the domain refuses an unreadable label (23514)
    v_lease interval;
    v_tokens uuid[];
    v_picked bigint[];
BEGIN
    PERFORM ledger._checked_claim(p_limit, v_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Pick in claim order (highest priority, then oldest), skipping rows other claimers hold.
    -- Ordered per customer: only the customer's first in line (its earliest open ordered event,
    -- marked by triggers) may be claimed, so at most one is held at a time, in submission order; a
    -- failed one holds the rest back until an operator re-queues or cancels it. The claim indexes
    -- leave the waiting ones out.
    v_picked := ledger._pick_for_claim('events', v_types, p_limit, v_now);
    -- One UPDATE takes a fenced lease on each, with a fresh token (by position in claim order); the
    -- statement's audit trigger writes one claim row per event. The rows are reached by id.
    RETURN QUERY
    WITH claimed AS (
        UPDATE ledger.events e
           SET status = 'processing', version = e.version + 1, changed_by = v_acting.principal,
               changed_by_kind = v_acting.kind, changed_by_key = v_acting.api_key, change_reason = NULL,
               change_details = jsonb_build_object('instance', v_instance),
               updated_at = v_now, attempts = e.attempts + 1, lease_owner = v_acting.principal,
               lease_token = v_tokens[p.n], lease_expires_at = v_now + v_lease, lease_fenced = true
          FROM unnest(v_picked) WITH ORDINALITY AS p (id, n)
         WHERE e.id = p.id AND e.id = ANY (v_picked)
        RETURNING e.*
    )
    SELECT c.id, c.customer_id, c.event_type, c.status, c.payload, c.priority, c.attempts,
           c.max_attempts, c.lease_token, c.lease_expires_at, c.result, NULL::text, c.correlation_id,
           c.caused_by_event_id, c.created_at
      FROM claimed c
     ORDER BY c.priority DESC, c.id;
END
$$;


ALTER FUNCTION api.claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) IS 'Claims up to p_limit queued events whose run_after has passed (of p_event_types, or of any type
when NULL), highest priority first, then oldest, skipping events other claimers are taking; of a
type ordered per customer, only the customer''s first in line (ledger.events.first_in_line). Each
becomes processing under a lease of ledger.settings.lease_duration held by the acting principal
(of the worker key p_key, or of the login; a key limited to types claims only those), counts an
attempt, and gets one audit row, whose details name p_worker, the label of the worker instance. Returns the claims with their lease tokens, which every later report
must present.';


--
-- Name: complete_events(bigint[], uuid[], jsonb[], timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[] DEFAULT NULL::jsonb[], p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_done bigint[];
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, ARRAY[ledger._flat_length(p_details)]);
    PERFORM ledger._refuse_bad_outcome_inputs(NULL, p_details,
                                              (SELECT s.max_payload_bytes FROM ledger.settings s), 'details');
    IF EXISTS (SELECT 1 FROM unnest(p_details) d WHERE d ? 'result') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'details may not carry a "result" key',
            DETAIL = 'The decision result was recorded when the event was decided.',
            HINT = 'Describe what the action did, e.g. {"transfer_id": "T-123"}.';
    END IF;
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.details))
                         FROM unnest(p_event_ids, p_details) WITH ORDINALITY AS d (id, details, n) ORDER BY d.n);
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens,
    -- $3 details, $4 digests, $5 now, $6 the acting principal, which must hold the lease with the
    -- token, $7 its kind, $8 its API key.
    EXECUTE $sql$
    WITH report AS (
        SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::jsonb[], $4::bytea[]) AS r (id, token, details, digest)
    ), completed AS (
        UPDATE ledger.events e
           SET status = 'completed', version = e.version + 1, changed_by = $6,
               changed_by_kind = $7, changed_by_key = $8, change_reason = NULL, change_details = r.details,
               updated_at = $5, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
               lease_fenced = false, last_lease_token = r.token, last_report = 'complete',
               last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY ($1) AND e.id = r.id  -- by id only: see decide_events
           AND (e.lease_token = r.token AND e.lease_owner = $6 AND e.status IN ('approved', 'rejected')) IS TRUE
        RETURNING e.id
    )
    SELECT array_agg(c.id) FROM completed c
    $sql$
      INTO v_done
      USING p_event_ids, p_lease_tokens, p_details, v_digests, v_now, v_acting.principal, v_acting.kind,
            v_acting.api_key;
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'complete',
                                                       'approved or rejected', v_acting.principal);
END
$_$;


ALTER FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text) IS 'Marks decided events completed: their follow-up action succeeded. Named by (event id, lease token);
p_details (objects) say what the action did and land in the audit row. One statement; answers per
event (api.report); the same report sent again answers already_done and writes nothing.';


--
-- Name: create_api_key(text, text, text, text[], text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.create_api_key(p_principal text, p_role text, p_name text DEFAULT NULL::text, p_event_types text[] DEFAULT NULL::text[], p_customers text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Returns the new key; it is shown this once and only its sha256 is kept. 244 random bits from two
-- version-4 UUIDs (gen_random_uuid uses the server's strong random source).
DECLARE
    v_key text := 'al_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    v_name text := coalesce(p_name, p_principal);
    v_principal ledger.principals;
BEGIN
    SELECT * INTO v_principal FROM ledger.principals p WHERE p.name = p_principal;
    IF NOT FOUND OR NOT v_principal.active THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL016',
            MESSAGE = format('no active principal is named %s', coalesce(quote_literal(p_principal), 'NULL')),
            DETAIL = 'Every key acts for one active principal.',
            HINT = 'Create it first: agentledger principals add NAME --kind human|agent|service.';
    ELSIF p_role IS NULL OR p_role NOT IN ('submitter', 'worker', 'reviewer', 'auditor') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown API key role %s', coalesce(quote_literal(p_role), 'NULL')),
            DETAIL = 'A key''s role decides which functions it may call.',
            HINT = 'Use one of: submitter, worker, reviewer, auditor.';
    ELSIF p_role = 'reviewer' AND v_principal.kind <> 'human' THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('%s is %s: only a human principal may hold a reviewer key', p_principal, v_principal.kind),
            DETAIL = 'Reviews are the people in the loop.',
            HINT = 'Give the reviewer key to a principal of kind human.';
    ELSIF NOT ledger._is_key_name(v_name) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'key_name_valid',
            MESSAGE = format('invalid API key name %s', quote_literal(v_name)),
            DETAIL = 'The name is recorded, beside its principal, with every change made with the key.',
            HINT = 'Use 1-100 letters, digits and . _ @ -, starting with a letter or digit, e.g. "intake-service".';
    ELSIF p_event_types IS NOT NULL
          AND (cardinality(p_event_types) = 0 OR EXISTS (SELECT 1 FROM unnest(p_event_types) t (name)
                                                          WHERE NOT EXISTS (SELECT 1 FROM ledger.event_types r
                                                                             WHERE r.name = t.name))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('event types %s are not all registered', p_event_types),
            DETAIL = 'A key limited to types may submit, claim and read only events of those types.',
            HINT = 'Name registered types (ledger.event_types), or none for all.';
    END IF;
    BEGIN
        INSERT INTO ledger.api_keys (name, role, lookup_prefix, secret_sha256, principal_id, event_types, customers)
        VALUES (v_name, p_role, substr(v_key, 4, 12), sha256(convert_to(v_key, 'UTF8')), v_principal.id,
                p_event_types, p_customers);
    EXCEPTION WHEN unique_violation THEN
        -- The unique index decides, also between two administrators creating the same name at once.
        RAISE EXCEPTION USING
            ERRCODE = 'AL015',
            MESSAGE = format('an API key named %s exists already', v_name),
            DETAIL = 'Names are never reused, even after revocation, so the audit trail names one key.',
            HINT = 'Choose another name, e.g. with a suffix: "intake-service-2".';
    END;
    RETURN v_key;
END
$$;


ALTER FUNCTION api.create_api_key(p_principal text, p_role text, p_name text, p_event_types text[], p_customers text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION create_api_key(p_principal text, p_role text, p_name text, p_event_types text[], p_customers text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.create_api_key(p_principal text, p_role text, p_name text, p_event_types text[], p_customers text) IS 'Creates an API key for the active principal p_principal (AL016 otherwise) with role submitter, worker, reviewer (human principals only) or auditor, named p_name (default: the principal''s name; AL015 if ever used), limited to p_event_types and to customer ids LIKE p_customers when given, and returns the key: shown once, stored only as a sha256. For administrators only.';


--
-- Name: create_principal(text, text, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.create_principal(p_name text, p_kind text, p_login text DEFAULT NULL::text) RETURNS api.principal
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- A new principal; with p_login, that database login acts for it from now on.
DECLARE
    v_principal ledger.principals;
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('human', 'agent', 'service') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown principal kind %s', coalesce(quote_literal(p_kind), 'NULL')),
            DETAIL = 'A principal is a person, an agent or a service; only a human may review.',
            HINT = 'Use one of: human, agent, service.';
    ELSIF p_name IS NULL OR NOT ledger._is_key_name(p_name) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'principals_name_format',
            MESSAGE = format('invalid principal name %s', coalesce(quote_literal(p_name), 'NULL')),
            DETAIL = 'The name is the actor of every change the principal makes.',
            HINT = 'Use 1-100 letters, digits and . _ @ -, starting with a letter or digit, e.g. "alice" or "underwriting-agent".';
    ELSIF p_login IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_login) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL016',
            MESSAGE = format('no database role is named %s', quote_literal(p_login)),
            DETAIL = 'Nothing was created.',
            HINT = 'Create the login first (CREATE ROLE ... LOGIN IN ROLE agentledger_worker), or leave --login out.';
    END IF;
    BEGIN
        INSERT INTO ledger.principals (name, kind) VALUES (p_name, p_kind) RETURNING * INTO v_principal;
        IF p_login IS NOT NULL THEN
            INSERT INTO ledger.principal_logins (login, principal_id) VALUES (p_login, v_principal.id);
        END IF;
    EXCEPTION WHEN unique_violation THEN
        -- The unique indexes decide, also between two administrators at once.
        RAISE EXCEPTION USING
            ERRCODE = 'AL015',
            MESSAGE = CASE WHEN EXISTS (SELECT 1 FROM ledger.principals p WHERE p.name = p_name)
                           THEN format('a principal named %s exists already', p_name)
                           ELSE format('login %s acts for another principal already', p_login) END,
            DETAIL = 'Principal names are never reused, and a login acts for one principal.',
            HINT = 'Choose another name, or another login.';
    END;
    RETURN ledger._as_api_principal(v_principal);
END
$$;


ALTER FUNCTION api.create_principal(p_name text, p_kind text, p_login text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION create_principal(p_name text, p_kind text, p_login text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.create_principal(p_name text, p_kind text, p_login text) IS 'Creates a principal (kind human, agent or service; AL020 otherwise) named p_name (AL015 if the name was ever used); with p_login, that database login acts for it when it calls the api functions directly (AL016 if no such role; AL015 if it acts for another). For administrators only.';


--
-- Name: deactivate_principal(text, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.deactivate_principal(p_name text, p_reason text) RETURNS api.principal
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Its keys and logins stop acting at once; its name stays in the audit trail and is never reused.
DECLARE
    v_principal ledger.principals;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'deactivating a principal needs a reason',
            DETAIL = 'The reason is kept with the principal.',
            HINT = 'e.g. "left the bank" or "agent retired".';
    END IF;
    PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
    UPDATE ledger.principals p
       SET active = false, deactivated_at = now(), deactivated_by = session_user, deactivate_reason = p_reason
     WHERE p.name = p_name AND p.active
    RETURNING * INTO v_principal;
    IF NOT FOUND THEN
        SELECT * INTO v_principal FROM ledger.principals p WHERE p.name = p_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL016',
                MESSAGE = format('no principal is named %s', coalesce(quote_literal(p_name), 'NULL')),
                DETAIL = 'Nothing was deactivated.',
                HINT = 'List them with agentledger principals list.';
        END IF;
    END IF;
    RETURN ledger._as_api_principal(v_principal);
END
$$;


ALTER FUNCTION api.deactivate_principal(p_name text, p_reason text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION deactivate_principal(p_name text, p_reason text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.deactivate_principal(p_name text, p_reason text) IS 'Deactivates the principal named p_name, with a reason (AL008 without one): its keys and logins act no more. Deactivating an inactive principal changes nothing. AL016 for an unknown name. For administrators only.';


--
-- Name: decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[] DEFAULT NULL::text[], p_results jsonb[] DEFAULT NULL::jsonb[], p_keep_lease boolean DEFAULT true, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_max_bytes integer;
    v_lease interval;
    v_done bigint[];
    v_handed_off jsonb;
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens,
                                   ARRAY[ledger._flat_length(p_decisions), ledger._flat_length(p_reasons),
                                         ledger._flat_length(p_results)]);
    SELECT s.max_payload_bytes, s.lease_duration INTO v_max_bytes, v_lease FROM ledger.settings s;
    PERFORM ledger._refuse_bad_outcome_inputs(p_reasons, p_results, v_max_bytes, 'result');
    IF p_keep_lease IS NULL OR p_decisions IS NULL OR EXISTS (
           SELECT 1 FROM unnest(p_decisions) d WHERE d IS NULL OR d NOT IN ('approved', 'rejected')) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = 'each decision must be approved or rejected, and p_keep_lease true or false',
            DETAIL = format('Decisions: %s; p_keep_lease: %s.', p_decisions, coalesce(p_keep_lease::text, 'NULL')),
            HINT = 'Pass one decision per event.';
    END IF;

    -- The decision starts the action's own count of attempts. With p_keep_lease the deciding
    -- worker goes on to run the action under the same token (its first attempt); without, the
    -- action is offered to api.claim_actions.
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.decision, d.reason, d.result, p_keep_lease))
                         FROM unnest(p_decisions, p_reasons, p_results) WITH ORDINALITY AS d (decision, reason, result, n)
                        ORDER BY d.n);
    -- The UPDATE is planned for this batch at each call (EXECUTE): a cached generic plan guesses at
    -- the array sizes and at how many events hold leases, and once chose to walk every leased event
    -- per event reported. $1 event ids, $2 tokens, $3 decisions, $4 reasons, $5 results,
    -- $6 digests, $7 now, $8 keep the lease, $9 lease duration, $10 the acting principal, which must
    -- hold the lease with the token, $11 its kind, $12 its API key.
    EXECUTE $sql$
    WITH report AS (
        SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])
                      AS r (id, token, decision, reason, result, digest)
    ), decided AS (
        UPDATE ledger.events e
           SET status = r.decision::ledger.event_status, version = e.version + 1,
               changed_by = $10, changed_by_kind = $11, changed_by_key = $12, change_reason = r.reason,
               change_details = CASE WHEN r.result IS NOT NULL THEN jsonb_build_object('result', r.result) END,
               -- A kept lease is the action's first attempt; a handed-off action has none yet.
               updated_at = $7, result = r.result, attempts = CASE WHEN $8 THEN 1 ELSE 0 END,
               lease_owner = CASE WHEN $8 THEN e.lease_owner END,
               lease_token = CASE WHEN $8 THEN e.lease_token END,
               lease_expires_at = CASE WHEN $8 THEN greatest(e.lease_expires_at, $7 + $9) END,
               lease_fenced = $8,
               last_lease_token = r.token, last_report = 'decide', last_report_digest = r.digest
          FROM report r
         -- The events are reached by id only: id = ANY(...) is the way in through the id index, and
         -- IS TRUE keeps the lease and status tests out of the choice of index. ANALYZE rarely sees
         -- events in processing or under a lease, so their indexes look nearly empty, and a plan
         -- that walked one of them read every event in that status or lease for each report.
         WHERE e.id = ANY ($1) AND e.id = r.id AND (e.lease_token = r.token AND e.lease_owner = $10 AND e.status = 'processing') IS TRUE
        RETURNING e.id, e.event_type
    )
    SELECT array_agg(d.id), ledger._count_by_type(array_agg(d.event_type)) FROM decided d
    $sql$
      INTO v_done, v_handed_off
      USING p_event_ids, p_lease_tokens, p_decisions, p_reasons, p_results, v_digests, v_now, p_keep_lease,
            v_lease, v_acting.principal, v_acting.kind, v_acting.api_key;
    IF NOT p_keep_lease THEN
        PERFORM ledger._wake_action_workers(v_handed_off);
    END IF;
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'decide',
                                                       'processing', v_acting.principal);
END
$_$;


ALTER FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text) IS 'Records the decisions (approved or rejected, with reason and result object) of events in
processing, named by (event id, lease token): one statement, one audit row each, the lease owner as
actor. With p_keep_lease (default) the worker keeps the lease to run the follow-up action; without,
the lease ends and the action is offered to api.claim_actions. Answers per event (api.report); the
same report sent again answers already_done and writes nothing.';


--
-- Name: event_history(bigint, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.event_history(p_event_id bigint, p_key text DEFAULT NULL::text) RETURNS SETOF api.audit_entry
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'event_history', p_event_id, NULL);
BEGIN
    PERFORM ledger._refuse_unreadable_event(v_reader, p_event_id);
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at, encode(a.prev_hash, 'hex'),
           encode(a.hash, 'hex'), a.api_key
      FROM ledger.audit_log a
     WHERE a.event_id = p_event_id
     ORDER BY a.seq;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;


ALTER FUNCTION api.event_history(p_event_id bigint, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION event_history(p_event_id bigint, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.event_history(p_event_id bigint, p_key text) IS 'The audit trail of one event, oldest first (AL001 if there is no such event, or the API key p_key may not read it; an auditor''s read is recorded). Check it with api.verify_audit(event_id).';


--
-- Name: event_history_page(bigint, bigint, integer, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text DEFAULT NULL::text) RETURNS SETOF api.audit_entry
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- api.event_history a page at a time, in seq order: pass the last seq of a page as p_after_seq
-- (NULL for the first page) to get the next one.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'event_history_page', p_event_id,
                                             jsonb_strip_nulls(jsonb_build_object('after_seq', p_after_seq)));
BEGIN
    PERFORM ledger._refuse_unreadable_event(v_reader, p_event_id);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'A page holds 1 to 1,000 audit rows.',
            HINT = 'Pass a limit from 1 to 1000 and page on with the last seq seen.';
    END IF;
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at, encode(a.prev_hash, 'hex'),
           encode(a.hash, 'hex'), a.api_key
      FROM ledger.audit_log a
     WHERE a.event_id = p_event_id
       AND (p_after_seq IS NULL OR a.seq > p_after_seq)
     ORDER BY a.seq
     LIMIT p_limit;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;


ALTER FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) IS 'The audit trail of one event, oldest first, a page at a time: at most p_limit rows (1 to 1000) after seq p_after_seq (AL001 if there is no such event, or the API key p_key may not read it; an auditor''s read is recorded). Check the whole chain with api.verify_audit(event_id).';


--
-- Name: fail_events(bigint[], uuid[], text[], text[], boolean[], timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[] DEFAULT NULL::text[], p_retryable boolean[] DEFAULT NULL::boolean[], p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_done bigint[];
    v_runnable jsonb;
    v_actions jsonb;
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens,
                                   ARRAY[ledger._flat_length(p_errors), ledger._flat_length(p_error_types),
                                         ledger._flat_length(p_retryable)]);
    IF p_errors IS NULL OR EXISTS (SELECT 1 FROM unnest(p_errors) x WHERE coalesce(btrim(x), '') = '') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'each failure needs its error text',
            DETAIL = 'The error is the reason of the audit row and the event''s last_error.',
            HINT = 'Pass the exception message, e.g. "model timed out after 30 s".';
    END IF;
    PERFORM ledger._refuse_bad_outcome_inputs(p_errors || p_error_types, NULL, NULL, 'error');

    -- Per event: retry (back to queued, or for a decided event back in the action queue) with the
    -- back-off of its attempt while attempts remain and the error is retryable; failed otherwise.
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.error, d.error_type, coalesce(d.retryable, true)))
                         FROM unnest(p_event_ids, p_errors, p_error_types, p_retryable)
                              WITH ORDINALITY AS d (id, error, error_type, retryable, n)
                        ORDER BY d.n);
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens,
    -- $3 errors, $4 error types, $5 retryable, $6 digests, $7 now, $8 the acting principal, which
    -- must hold the lease with the token, $9 its kind, $10 its API key.
    EXECUTE $sql$
    WITH report AS (
        SELECT r.*, coalesce(r.retryable, true) AND e.attempts < e.max_attempts AS retry,
               e.status AS from_status, $7 + ledger._retry_delay(e.attempts) AS retry_at
          FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::boolean[], $6::bytea[])
                   AS r (id, token, error, error_type, retryable, digest)
          JOIN ledger.events e ON e.id = r.id AND e.id = ANY ($1)  -- see decide_events
    ), failed AS (
        UPDATE ledger.events e
           SET status = CASE WHEN NOT r.retry THEN 'failed'
                             WHEN r.from_status = 'processing' THEN 'queued'
                             ELSE e.status END,
               version = e.version + CASE WHEN r.retry AND r.from_status <> 'processing' THEN 0 ELSE 1 END,
               changed_by = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.changed_by ELSE $8 END,
               changed_by_kind = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.changed_by_kind ELSE $9 END,
               changed_by_key = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.changed_by_key ELSE $10 END,
               change_reason = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.change_reason ELSE r.error END,
               change_details = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.change_details
                                     ELSE jsonb_strip_nulls(jsonb_build_object(
                                              'error_type', r.error_type, 'retryable', coalesce(r.retryable, true),
                                              'retry_at', CASE WHEN r.retry THEN r.retry_at END)) END,
               updated_at = $7,
               run_after = CASE WHEN r.retry THEN r.retry_at ELSE e.run_after END,
               last_error = r.error, last_error_type = r.error_type,
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = r.token, last_report = 'fail', last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY ($1) AND e.id = r.id  -- by id only: see decide_events
           AND (e.lease_token = r.token AND e.lease_owner = $8 AND e.status IN ('processing', 'approved', 'rejected')) IS TRUE
        RETURNING e.id, e.event_type, e.status, e.run_after
    )
    SELECT array_agg(f.id),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status = 'queued' AND f.run_after <= $7)),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status IN ('approved', 'rejected')
                                                                    AND f.run_after <= $7))
      FROM failed f
    $sql$
      INTO v_done, v_runnable, v_actions
      USING p_event_ids, p_lease_tokens, p_errors, p_error_types, p_retryable, v_digests, v_now,
            v_acting.principal, v_acting.kind, v_acting.api_key;
    -- Retries are usually scheduled for later, which workers find by polling; a zero back-off
    -- makes them runnable now, and then they are announced like new work.
    PERFORM ledger._wake_workers(v_runnable);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'fail',
                                                       'processing, approved or rejected', v_acting.principal);
END
$_$;


ALTER FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text) IS 'Reports failed attempts, named by (event id, lease token), with the error text (required, AL008) and
type. While the error is retryable (default) and attempts remain, an event in processing goes back
to queued and a decided event back to the action queue, with run_after moved out by the back-off
(ledger.settings.retry_base_delay doubling per attempt, at most retry_max_delay); otherwise it
becomes failed. The error and its type land in the event and in the audit row of a status change.
One statement; answers per event (api.report); the same report sent again answers already_done.';


--
-- Name: get_event(bigint, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.get_event(p_event_id bigint, p_key text DEFAULT NULL::text) RETURNS api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- An event a key may not read answers as one that does not exist: its existence is not told.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'get_event', p_event_id, NULL);
    v_event ledger.events;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id;
    IF NOT FOUND OR NOT ledger._may_read(v_reader, v_event) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;


ALTER FUNCTION api.get_event(p_event_id bigint, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION get_event(p_event_id bigint, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.get_event(p_event_id bigint, p_key text) IS 'One event by id (AL001 if there is none, or the API key p_key may not read it: ledger._may_read). An auditor''s read is recorded in ledger.access_log.';


--
-- Name: heartbeat_events(bigint[], uuid[], timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_done bigint[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    -- A lease that expired but was not yet rescued or taken over is still this token's to renew.
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens, $3 now,
    -- $4 the acting principal, which must hold the lease with the token.
    EXECUTE $sql$
    WITH renewed AS (
        UPDATE ledger.events e
           SET lease_expires_at = greatest(e.lease_expires_at,
                                           $3 + (SELECT s.lease_duration FROM ledger.settings s))
          FROM unnest($1::bigint[], $2::uuid[]) AS i (id, token)
         WHERE e.id = ANY ($1) AND e.id = i.id AND (e.lease_token = i.token AND e.lease_owner = $4) IS TRUE  -- by id only: see decide_events
        RETURNING e.id
    )
    SELECT array_agg(r.id) FROM renewed r
    $sql$
      INTO v_done
      USING p_event_ids, p_lease_tokens, v_now, v_acting.principal;
    -- Renewing is not a report, so no renewal is ever "already done": a token whose lease ended
    -- is refused (AL009).
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, NULL, v_done, 'heartbeat',
                                                       'leased', v_acting.principal);
END
$_$;


ALTER FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text) IS 'Extends the leases named by (event id, lease token) to now + ledger.settings.lease_duration. Answers
per event: done with the new lease_expires_at, or refused with AL009 when the lease has ended (the
handler should stop: whatever it reports will be refused) or is held by another principal than the
one acting (of the worker key p_key, or of the login).';


--
-- Name: audit_seals; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.audit_seals (
    id bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    row_count bigint NOT NULL,
    prev_digest bytea,
    digest bytea NOT NULL,
    sealed_by text NOT NULL,
    sealed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_seals_range_valid CHECK (((first_seq <= last_seq) AND (row_count >= 1)))
);


ALTER TABLE ledger.audit_seals OWNER TO agentledger_owner;

--
-- Name: TABLE audit_seals; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.audit_seals IS 'Seals of the audit trail: each hashes every audit row since the previous seal. Export the latest digest (api.latest_seal()) to somewhere the database cannot change. Not per customer: one global chain.';


--
-- Name: COLUMN audit_seals.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.id IS 'Seal number.';


--
-- Name: COLUMN audit_seals.first_seq; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.first_seq IS 'First audit seq covered.';


--
-- Name: COLUMN audit_seals.last_seq; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.last_seq IS 'Last audit seq covered.';


--
-- Name: COLUMN audit_seals.row_count; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.row_count IS 'How many audit rows the seal covers.';


--
-- Name: COLUMN audit_seals.prev_digest; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.prev_digest IS 'digest of the previous seal; NULL for the first.';


--
-- Name: COLUMN audit_seals.digest; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.digest IS 'sha256 of prev_digest and the hashes of the covered rows in seq order.';


--
-- Name: COLUMN audit_seals.sealed_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.sealed_by IS 'Who sealed.';


--
-- Name: COLUMN audit_seals.sealed_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.audit_seals.sealed_at IS 'When.';


--
-- Name: _as_api_seal(ledger.audit_seals); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ROW((s).id, (s).first_seq, (s).last_seq, (s).row_count, encode((s).prev_digest, 'hex'::text), encode((s).digest, 'hex'::text), (s).sealed_by, (s).sealed_at)::api.seal;


ALTER FUNCTION ledger._as_api_seal(s ledger.audit_seals) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _as_api_seal(s ledger.audit_seals); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._as_api_seal(s ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';


--
-- Name: latest_seal(); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.latest_seal() RETURNS api.seal
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT ledger._as_api_seal(s.*) AS _as_api_seal
    FROM ledger.audit_seals s
   ORDER BY s.id DESC
  LIMIT 1;
END;


ALTER FUNCTION api.latest_seal() OWNER TO agentledger_owner;

--
-- Name: FUNCTION latest_seal(); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.latest_seal() IS 'The latest audit seal (NULL when there is none): export its digest to storage the database cannot change.';


--
-- Name: list_api_keys(); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_api_keys() RETURNS SETOF api.key
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT (ledger._as_api_key(k.*)).name AS name,
     (ledger._as_api_key(k.*)).role AS role,
     (ledger._as_api_key(k.*)).principal AS principal,
     (ledger._as_api_key(k.*)).event_types AS event_types,
     (ledger._as_api_key(k.*)).customers AS customers,
     (ledger._as_api_key(k.*)).lookup_prefix AS lookup_prefix,
     (ledger._as_api_key(k.*)).created_at AS created_at,
     (ledger._as_api_key(k.*)).created_by AS created_by,
     (ledger._as_api_key(k.*)).revoked_at AS revoked_at,
     (ledger._as_api_key(k.*)).revoked_by AS revoked_by,
     (ledger._as_api_key(k.*)).revoke_reason AS revoke_reason
    FROM ledger.api_keys k
   ORDER BY k.name;
END;


ALTER FUNCTION api.list_api_keys() OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_api_keys(); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_api_keys() IS 'Every API key, valid and revoked, with its principal and scope, without secrets. For administrators only.';


--
-- Name: list_blocked(integer); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_blocked(p_limit integer DEFAULT 100) RETURNS TABLE(customer_id text, failed_event_id bigint, failed_event_type text, failed_at timestamp with time zone, last_error text, blocked_events bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Ask for 1 to 1000 rows at a time.';
    END IF;
    -- The earliest failed, unreleased ordered event of each customer holds back every later one.
    RETURN QUERY
    SELECT f.customer_id, f.id, f.event_type, f.updated_at, f.last_error,
           (SELECT count(*) FROM ledger.events b
             WHERE b.customer_id = f.customer_id AND b.ordered AND b.id > f.id AND b.status = 'queued')
      FROM ledger.events f
     WHERE f.ordered AND f.status = 'failed' AND f.order_released_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM ledger.events g
                        WHERE g.customer_id = f.customer_id AND g.ordered AND g.status = 'failed'
                          AND g.order_released_at IS NULL AND g.id < f.id)
     ORDER BY f.updated_at, f.id
     LIMIT p_limit;
END
$$;


ALTER FUNCTION api.list_blocked(p_limit integer) OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_blocked(p_limit integer); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_blocked(p_limit integer) IS 'For operators: customers whose ordered events wait behind a failed one, oldest failure first: the failed event, its error, and how many later ordered events it holds back. Re-queue it (api.requeue_event) or cancel it (api.cancel_event) to let them go on.';


--
-- Name: list_events(text, text, text, timestamp with time zone, timestamp with time zone, bigint, integer, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_events(p_status text DEFAULT NULL::text, p_customer_id text DEFAULT NULL::text, p_event_type text DEFAULT NULL::text, p_created_after timestamp with time zone DEFAULT NULL::timestamp with time zone, p_created_before timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_id bigint DEFAULT NULL::bigint, p_limit integer DEFAULT 100, p_key text DEFAULT NULL::text) RETURNS SETOF api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
-- Keyset pagination in id order: pass the last id of a page as p_after_id to get the next one.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'list_events', NULL, jsonb_strip_nulls(jsonb_build_object(
        'status', p_status, 'customer_id', p_customer_id, 'event_type', p_event_type,
        'created_after', p_created_after, 'created_before', p_created_before, 'after_id', p_after_id)));
    v_status ledger.event_status;
    v_where text[] := ARRAY['true'];
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'A page holds 1 to 1,000 events.',
            HINT = 'Pass a limit from 1 to 1000 and page on with the last id seen.';
    END IF;
    IF p_status IS NOT NULL THEN
        v_status := ledger._checked_status(p_status);
        v_where := array_append(v_where, 'e.status = $1');
    END IF;
    -- A filter no event could match is a mistake, refused by its domain (23514).
    PERFORM p_customer_id::ledger.customer_id, p_event_type::ledger.type_name;
    -- Only the filters given go into the query, so each call is planned for the indexes it can use.
    IF p_customer_id IS NOT NULL THEN v_where := array_append(v_where, 'e.customer_id = $2'); END IF;
    IF p_event_type IS NOT NULL THEN v_where := array_append(v_where, 'e.event_type = $3'); END IF;
    IF p_created_after IS NOT NULL THEN v_where := array_append(v_where, 'e.created_at > $4'); END IF;
    IF p_created_before IS NOT NULL THEN v_where := array_append(v_where, 'e.created_at < $5'); END IF;
    IF p_after_id IS NOT NULL THEN v_where := array_append(v_where, 'e.id > $6'); END IF;
    IF v_reader.principal IS NOT NULL AND v_reader.key_role <> 'auditor' THEN
        v_where := array_append(v_where, 'ledger._may_read($8, e)');
    END IF;
    RETURN QUERY EXECUTE
        'SELECT (ledger._as_api_event(e)).* FROM ledger.events e WHERE '
        || array_to_string(v_where, ' AND ') || ' ORDER BY e.id LIMIT $7'
        USING v_status, p_customer_id, p_event_type, p_created_after, p_created_before, p_after_id,
              p_limit, v_reader;
END
$_$;


ALTER FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) IS 'Events matching every filter given that the API key p_key may read (ledger._may_read), oldest (lowest id) first, at most p_limit (1-1000) of them; pass the last id as p_after_id for the next page. An auditor''s read is recorded in ledger.access_log.';


--
-- Name: principal_logins; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.principal_logins (
    login text NOT NULL,
    principal_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT SESSION_USER NOT NULL
);


ALTER TABLE ledger.principal_logins OWNER TO agentledger_owner;

--
-- Name: TABLE principal_logins; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.principal_logins IS 'The database logins that act for a principal when they call the api functions directly (workers, services, a DBA in psql). PostgreSQL verified the login; a login listed nowhere acts for nobody.';


--
-- Name: COLUMN principal_logins.login; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principal_logins.login IS 'The database role (session_user) that acts for the principal.';


--
-- Name: COLUMN principal_logins.principal_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principal_logins.principal_id IS 'The principal it acts for.';


--
-- Name: COLUMN principal_logins.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principal_logins.created_at IS 'When the mapping was made.';


--
-- Name: COLUMN principal_logins.created_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.principal_logins.created_by IS 'Database user who made it.';


--
-- Name: _as_api_principal(ledger.principals); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._as_api_principal(p ledger.principals) RETURNS api.principal
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ROW((p).name, ((p).kind)::text, (p).active, ARRAY(SELECT l.login FROM ledger.principal_logins l WHERE (l.principal_id = (_as_api_principal.p).id) ORDER BY l.login), ARRAY(SELECT k.name FROM ledger.api_keys k WHERE ((k.principal_id = (_as_api_principal.p).id) AND (k.revoked_at IS NULL)) ORDER BY k.name), (p).created_at, (p).deactivated_at, (p).deactivate_reason)::api.principal;


ALTER FUNCTION ledger._as_api_principal(p ledger.principals) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _as_api_principal(p ledger.principals); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._as_api_principal(p ledger.principals) IS 'A principal as api.principal: with its logins and its valid keys.';


--
-- Name: list_principals(); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_principals() RETURNS SETOF api.principal
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT ledger._as_api_principal(p.*) AS _as_api_principal
    FROM ledger.principals p
   ORDER BY p.name;
END;


ALTER FUNCTION api.list_principals() OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_principals(); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_principals() IS 'Every principal, active or not, with its logins and valid keys. For administrators only.';


--
-- Name: list_reviews(text, integer, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_reviews(p_event_type text DEFAULT NULL::text, p_limit integer DEFAULT 100, p_key text DEFAULT NULL::text) RETURNS SETOF api.review
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'list_reviews', NULL,
                                             jsonb_strip_nulls(jsonb_build_object('event_type', p_event_type)));
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Ask for 1 to 1000 reviews at a time.';
    END IF;
    PERFORM p_event_type::ledger.type_name;  -- a type no event could have is refused (23514)
    RETURN QUERY
    SELECT e.id, e.customer_id, e.event_type, e.payload, e.proposed_status, e.proposed_by,
           p.reason, e.result, e.approvals_required, e.approved_by, e.review_started_at, e.created_at
      FROM ledger.events e
      LEFT JOIN LATERAL (SELECT a.reason FROM ledger.audit_log a
                          WHERE a.event_id = e.id AND a.to_status = 'in_review' AND a.from_status = 'processing'
                          ORDER BY a.seq DESC LIMIT 1) p ON true
     WHERE e.status = 'in_review' AND (p_event_type IS NULL OR e.event_type = p_event_type)
       AND ledger._may_read(v_reader, e)
     ORDER BY e.review_started_at, e.id
     LIMIT p_limit;
END
$$;


ALTER FUNCTION api.list_reviews(p_event_type text, p_limit integer, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_reviews(p_event_type text, p_limit integer, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_reviews(p_event_type text, p_limit integer, p_key text) IS 'The review queue, oldest first: events in review (of p_event_type, or all) that the API key p_key may read, each with the proposal, its proposer and reason, the result proposed, and the approvals so far. An auditor''s read is recorded.';


--
-- Name: list_seals(bigint, integer); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.list_seals(p_after_id bigint DEFAULT 0, p_limit integer DEFAULT 1000) RETURNS SETOF api.seal
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The seals after p_after_id, oldest first: a sealer copies each one, in order, to its witness.
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'api.list_seals answers pages of seals in id order.',
            HINT = 'Ask for 1 to 1000 seals at a time; pass the last id as p_after_id for the next page.';
    END IF;
    IF p_after_id IS NULL OR p_after_id < 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('after_id %s is out of range', coalesce(p_after_id::text, 'NULL')),
            DETAIL = 'Seal ids start at 1.',
            HINT = 'Pass 0 for the first page, then the last id of the page before.';
    END IF;
    RETURN QUERY
    SELECT (ledger._as_api_seal(s)).* FROM ledger.audit_seals s WHERE s.id > p_after_id ORDER BY s.id LIMIT p_limit;
END
$$;


ALTER FUNCTION api.list_seals(p_after_id bigint, p_limit integer) OWNER TO agentledger_owner;

--
-- Name: FUNCTION list_seals(p_after_id bigint, p_limit integer); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.list_seals(p_after_id bigint, p_limit integer) IS 'The audit seals after p_after_id, oldest first, at most p_limit (1 to 1000): what a sealer copies to its witness outside the database (agentledger audit seal).';


--
-- Name: mark_deadline_breaches(integer, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.mark_deadline_breaches(p_limit integer DEFAULT 1000, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.deadline_breach
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Marks each event whose deadline has passed, once: a note (an audit row that keeps the status) by
-- the principal running it, as the system, the time of the breach on the event, and one NOTIFY on
-- agentledger_escalations with the counts per deadline and type. Rows others hold are skipped
-- (a later pass takes them), so several sessions may run it at once.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_marked api.deadline_breach[];
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Mark 1 to 10000 breaches per call.';
    END IF;
    WITH late_decisions AS (
        SELECT e.customer_id, e.id, e.event_type, 'decide'::text AS deadline, e.created_at + t.decide_within AS due_at
          FROM ledger.events e JOIN ledger.event_types t ON t.name = e.event_type
         WHERE e.status IN ('queued', 'processing') AND e.decide_breached_at IS NULL
           AND e.created_at + t.decide_within <= v_now
         ORDER BY e.created_at, e.id
         LIMIT p_limit
           FOR UPDATE OF e SKIP LOCKED
    ), late_reviews AS (
        SELECT e.customer_id, e.id, e.event_type, 'review'::text AS deadline, e.review_started_at + t.review_within AS due_at
          FROM ledger.events e JOIN ledger.event_types t ON t.name = e.event_type
         WHERE e.status = 'in_review' AND e.review_breached_at IS NULL
           AND e.review_started_at + t.review_within <= v_now
         ORDER BY e.review_started_at, e.id
         LIMIT p_limit
           FOR UPDATE OF e SKIP LOCKED
    ), late AS (
        SELECT * FROM late_decisions UNION ALL SELECT * FROM late_reviews
    ), noted AS (
        UPDATE ledger.events e
           SET version = e.version + 1, changed_by = v_acting.principal, changed_by_kind = 'system',
               changed_by_key = v_acting.api_key,
               change_reason = format('%s deadline passed at %s', l.deadline, l.due_at),
               change_details = jsonb_build_object('deadline', l.deadline, 'due_at', l.due_at),
               updated_at = v_now,
               decide_breached_at = CASE WHEN l.deadline = 'decide' THEN v_now ELSE e.decide_breached_at END,
               review_breached_at = CASE WHEN l.deadline = 'review' THEN v_now ELSE e.review_breached_at END
          FROM late l
         WHERE e.customer_id = l.customer_id AND e.id = l.id
        RETURNING e.id, e.event_type, l.deadline, l.due_at
    )
    SELECT array_agg(ROW(n.id, n.event_type, n.deadline, n.due_at)::api.deadline_breach ORDER BY n.due_at, n.id)
      INTO v_marked FROM noted n;
    IF v_marked IS NOT NULL THEN
        -- Ids or counts only, never customer data; one notification per call.
        PERFORM pg_notify('agentledger_escalations', (
            SELECT jsonb_object_agg(d.deadline, d.by_type)::text
              FROM (SELECT c.deadline, jsonb_object_agg(c.event_type, c.n) AS by_type
                      FROM (SELECT m.deadline, m.event_type, count(*) AS n FROM unnest(v_marked) m
                             GROUP BY m.deadline, m.event_type) c
                     GROUP BY c.deadline) d));
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_marked);
END
$$;


ALTER FUNCTION api.mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text) IS 'Marks, once each, the events whose deadline of their type has passed: not decided within
decide_within of submission (queued or processing), or not reviewed within review_within of going
to review. Each gets an audit row of its own (a note, by the principal of the worker key p_key or of the login, kind system) and the time of the
breach; one NOTIFY agentledger_escalations carries the counts {"decide": {"<type>": n}, "review": ...}.
Returns the breaches marked now. Workers run it with the lease rescue; it may also be scheduled.';


--
-- Name: _checked_now(timestamp with time zone); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_now(p_now timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- "Now" for a function call. Only the owner (and superusers, who are members of every role) may
-- move the clock, which tests do; clients could otherwise back-date what they write.
BEGIN
    IF p_now IS NULL OR p_now NOT BETWEEN now() - interval '200 years' AND now() + interval '200 years' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('p_now must be a time within 200 years of now, not %s', coalesce(p_now::text, 'NULL')),
            DETAIL = 'p_now is the current time as the function sees it; leases and back-offs are added to it.',
            HINT = 'Leave it out: it defaults to now().';
    ELSIF p_now <> now() AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'only the owner may pass a p_now other than now()',
            DETAIL = format('p_now was %s; the transaction started at %s.', p_now, now()),
            HINT = 'Leave p_now out.';
    END IF;
    RETURN p_now;
END
$$;


ALTER FUNCTION ledger._checked_now(p_now timestamp with time zone) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_now(p_now timestamp with time zone); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_now(p_now timestamp with time zone) IS 'The time a call acts at: p_now, which must lie within 200 years of now() and, except for the owner, equal it (AL019 out of range, 42501 from a client).';


--
-- Name: events; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.events (
    id bigint NOT NULL,
    customer_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status ledger.event_status DEFAULT 'queued'::ledger.event_status NOT NULL,
    priority smallint DEFAULT 0 NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 5 NOT NULL,
    run_after timestamp with time zone DEFAULT now() NOT NULL,
    lease_owner text,
    lease_token uuid,
    lease_expires_at timestamp with time zone,
    idempotency_key text,
    result jsonb,
    last_error text,
    last_error_type text,
    correlation_id uuid,
    caused_by_event_id bigint,
    version integer DEFAULT 1 NOT NULL,
    changed_by text DEFAULT SESSION_USER NOT NULL,
    changed_by_kind ledger.actor_kind DEFAULT 'human'::ledger.actor_kind NOT NULL,
    change_reason text,
    change_details jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_fenced boolean DEFAULT false NOT NULL,
    last_lease_token uuid,
    last_report text,
    last_report_digest bytea,
    proposed_status ledger.event_status,
    proposed_by text,
    approvals_required smallint,
    approved_by text[],
    review_started_at timestamp with time zone,
    decide_breached_at timestamp with time zone,
    review_breached_at timestamp with time zone,
    ordered boolean,
    order_released_at timestamp with time zone,
    first_in_line boolean DEFAULT false,
    releases integer DEFAULT 0,
    submitted_by text,
    changed_by_key text,
    CONSTRAINT events_actor_named CHECK ((changed_by <> ''::text)),
    CONSTRAINT events_attempts_valid CHECK ((((max_attempts >= 1) AND (max_attempts <= 100)) AND ((attempts >= 0) AND (attempts <= max_attempts)))),
    CONSTRAINT events_customer_id_valid CHECK (ledger._is_customer_id(customer_id)),
    CONSTRAINT events_fenced_lease_exists CHECK (((lease_token IS NOT NULL) OR (NOT lease_fenced))),
    CONSTRAINT events_idempotency_key_valid CHECK (ledger._is_idempotency_key(idempotency_key)),
    CONSTRAINT events_last_report_known CHECK ((((last_report IS NULL) = (last_lease_token IS NULL)) AND (last_report = ANY (ARRAY['decide'::text, 'complete'::text, 'fail'::text, 'release'::text, 'transition'::text])))),
    CONSTRAINT events_lease_matches_status CHECK ((((lease_token IS NULL) = (lease_owner IS NULL)) AND ((lease_token IS NULL) = (lease_expires_at IS NULL)) AND
CASE status
    WHEN 'processing'::ledger.event_status THEN (lease_token IS NOT NULL)
    WHEN 'approved'::ledger.event_status THEN true
    WHEN 'rejected'::ledger.event_status THEN true
    ELSE (lease_token IS NULL)
END)),
    CONSTRAINT events_payload_is_object CHECK ((jsonb_typeof(payload) = 'object'::text)),
    CONSTRAINT events_releases_counted CHECK ((releases >= 0)),
    CONSTRAINT events_result_is_object CHECK (((result IS NULL) OR (jsonb_typeof(result) = 'object'::text))),
    CONSTRAINT events_review_state CHECK (((status <> 'in_review'::ledger.event_status) OR ((proposed_status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])) AND (proposed_by IS NOT NULL) AND ((approvals_required >= 1) AND (approvals_required <= 5)) AND (approved_by IS NOT NULL) AND (cardinality(approved_by) < approvals_required) AND (review_started_at IS NOT NULL)))),
    CONSTRAINT events_run_after_finite CHECK (isfinite(run_after)),
    CONSTRAINT events_version_positive CHECK ((version >= 1))
);


ALTER TABLE ledger.events OWNER TO agentledger_owner;

--
-- Name: TABLE events; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.events IS 'Work for agents: one row per event. Status changes follow ledger.transitions and each leaves one row in ledger.audit_log.';


--
-- Name: COLUMN events.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.id IS 'Event id, assigned by the database.';


--
-- Name: COLUMN events.customer_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.customer_id IS 'The bank customer the event concerns: 1-64 characters, no control characters. The sharding key.';


--
-- Name: COLUMN events.event_type; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.event_type IS 'A registered type (ledger.event_types).';


--
-- Name: COLUMN events.payload; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.payload IS 'The work itself: a JSON object, at most ledger.settings.max_payload_bytes as JSON text. Write-once.';


--
-- Name: COLUMN events.status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.status IS 'Lifecycle status (see type ledger.event_status).';


--
-- Name: COLUMN events.priority; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.priority IS 'Claim order: higher runs first; ties go to the older event.';


--
-- Name: COLUMN events.attempts; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.attempts IS 'How many times the event has been claimed.';


--
-- Name: COLUMN events.max_attempts; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.max_attempts IS 'Claims allowed before the event fails for good (from its type at submit).';


--
-- Name: COLUMN events.run_after; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.run_after IS 'Not claimable before this time: a schedule or a retry back-off.';


--
-- Name: COLUMN events.lease_owner; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.lease_owner IS 'The principal holding the lease, while one does; it acts under the lease with its token.';


--
-- Name: COLUMN events.lease_token; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.lease_token IS 'Secret of the current lease: the holder presents it to act on the event. Never shown to other clients.';


--
-- Name: COLUMN events.lease_expires_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.lease_expires_at IS 'When the lease lapses unless renewed; the event may then be rescued.';


--
-- Name: COLUMN events.idempotency_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.idempotency_key IS 'Client key making a submit safe to retry; unique per customer.';


--
-- Name: COLUMN events.result; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.result IS 'The decision result (a JSON object) recorded with approve or reject.';


--
-- Name: COLUMN events.last_error; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.last_error IS 'Text of the last failure.';


--
-- Name: COLUMN events.last_error_type; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.last_error_type IS 'Kind of the last failure (e.g. an exception class).';


--
-- Name: COLUMN events.correlation_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.correlation_id IS 'Groups a chain of events caused by one another; inherited from the causing event.';


--
-- Name: COLUMN events.caused_by_event_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.caused_by_event_id IS 'The event whose handling submitted this one.';


--
-- Name: COLUMN events.version; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.version IS 'Counts status changes: 1 at submit, +1 per change. A writer that does not advance it is recorded as session_user.';


--
-- Name: COLUMN events.changed_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.changed_by IS 'Who made the latest status change (copied into the audit row).';


--
-- Name: COLUMN events.changed_by_kind; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.changed_by_kind IS 'Whether that was an agent, a human or the system.';


--
-- Name: COLUMN events.change_reason; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.change_reason IS 'Why the latest status change was made.';


--
-- Name: COLUMN events.change_details; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.change_details IS 'Evidence for the latest change (model, version, confidence, ...), copied into the audit row.';


--
-- Name: COLUMN events.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.created_at IS 'When the event was submitted.';


--
-- Name: COLUMN events.updated_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.updated_at IS 'When the row last changed.';


--
-- Name: COLUMN events.lease_fenced; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.lease_fenced IS 'True when the lease was taken through the worker protocol: only its token acts under it. A lease taken by api.transition_event also lets its named owner act without the token.';


--
-- Name: COLUMN events.last_lease_token; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.last_lease_token IS 'Token presented with the latest report (decide, complete, fail, release, or a transition given a token). The same report sent again is answered already_done. Cleared when a lease is rescued or taken over.';


--
-- Name: COLUMN events.last_report; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.last_report IS 'The step of the latest report made with last_lease_token: decide, complete, fail, release or transition.';


--
-- Name: COLUMN events.last_report_digest; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.last_report_digest IS 'sha256 of what the latest report said (decision, error, details ...), so only the same report sent again is answered already_done.';


--
-- Name: COLUMN events.proposed_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.proposed_status IS 'The decision an agent proposed when the event went to review (approved or rejected).';


--
-- Name: COLUMN events.proposed_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.proposed_by IS 'Who proposed it: that actor may not review it.';


--
-- Name: COLUMN events.approvals_required; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.approvals_required IS 'How many distinct reviewers must approve, fixed when the review started.';


--
-- Name: COLUMN events.approved_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.approved_by IS 'The reviewers who have approved in this review so far.';


--
-- Name: COLUMN events.review_started_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.review_started_at IS 'When the event went to review (the queue is oldest first).';


--
-- Name: COLUMN events.decide_breached_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.decide_breached_at IS 'When the event was found undecided past its type''s decide_within (escalated once).';


--
-- Name: COLUMN events.review_breached_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.review_breached_at IS 'When the event was found still in review past its type''s review_within (escalated once per review).';


--
-- Name: COLUMN events.ordered; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.ordered IS 'Of a type ordered per customer when submitted (set by a trigger; NULL before ordering existed, read as false): claimed only when no earlier ordered event of its customer is unfinished.';


--
-- Name: COLUMN events.order_released_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.order_released_at IS 'When an operator cancelled this event (or accepted its failure): it no longer holds back the customer''s later ordered events.';


--
-- Name: COLUMN events.first_in_line; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.first_in_line IS 'Of an ordered event: true when it is its customer''s earliest open ordered event, the only one claims may take; false while it waits behind it; NULL while a re-queued event re-joins the line. Kept by triggers.';


--
-- Name: COLUMN events.releases; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.releases IS 'How often a worker gave the event back unworked (api.release_events; NULL: never, from before the count); past ledger.settings.free_releases a release counts as an attempt.';


--
-- Name: COLUMN events.submitted_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.submitted_by IS 'The principal that submitted the event; idempotency keys are per submitter and customer.';


--
-- Name: COLUMN events.changed_by_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.events.changed_by_key IS 'The API key used for the latest change; NULL when a database login acted directly.';


--
-- Name: queue_stats(timestamp with time zone); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.queue_stats(p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT jsonb_build_object('counts', COALESCE(( SELECT jsonb_agg(jsonb_build_object('event_type', c.event_type, 'status', c.status, 'events', c.n) ORDER BY c.event_type, c.status) AS jsonb_agg
            FROM ( SELECT e.event_type,
                     e.status,
                     count(*) AS n
                    FROM ledger.events e
                   GROUP BY e.event_type, e.status) c), '[]'::jsonb), 'oldest_runnable_since', q.oldest, 'oldest_queued_age_seconds', COALESCE(round(EXTRACT(epoch FROM (ledger._checked_now(queue_stats.p_now) - q.oldest)), 3), (0)::numeric), 'decided_awaiting_action', ( SELECT count(*) AS count
            FROM ledger.events e
           WHERE ((e.status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])) AND (e.lease_token IS NULL))), 'leases_expired', ( SELECT count(*) AS count
            FROM ledger.events e
           WHERE ((e.lease_token IS NOT NULL) AND (e.lease_expires_at <= ledger._checked_now(queue_stats.p_now)))), 'deadline_breaches', COALESCE(( SELECT jsonb_agg(jsonb_build_object('event_type', b.event_type, 'deadline', b.deadline, 'events', b.n, 'open', b.open) ORDER BY b.event_type, b.deadline) AS jsonb_agg
            FROM ( SELECT e.event_type,
                     d.deadline,
                     count(*) AS n,
                     count(*) FILTER (WHERE d.open) AS open
                    FROM (ledger.events e
                      CROSS JOIN LATERAL ( VALUES ('decide'::text,e.decide_breached_at,(e.status = ANY (ARRAY['queued'::ledger.event_status, 'processing'::ledger.event_status]))), ('review'::text,e.review_breached_at,(e.status = 'in_review'::ledger.event_status))) d(deadline, breached_at, open))
                   WHERE (d.breached_at IS NOT NULL)
                   GROUP BY e.event_type, d.deadline) b), '[]'::jsonb), 'ordered_blocked', COALESCE(( SELECT jsonb_agg(jsonb_build_object('event_type', b.event_type, 'events', b.n) ORDER BY b.event_type) AS jsonb_agg
            FROM ( SELECT e.event_type,
                     count(*) AS n
                    FROM ledger.events e
                   WHERE (e.ordered AND (e.status = 'queued'::ledger.event_status) AND (EXISTS ( SELECT 1
                            FROM ledger.events f
                           WHERE ((f.customer_id = e.customer_id) AND f.ordered AND (f.id < e.id) AND (f.status = 'failed'::ledger.event_status) AND (f.order_released_at IS NULL)))))
                   GROUP BY e.event_type) b), '[]'::jsonb), 'notification_queue_usage', pg_notification_queue_usage()) AS jsonb_build_object
    FROM ( SELECT min(e.run_after) AS oldest
            FROM ledger.events e
           WHERE ((e.status = 'queued'::ledger.event_status) AND (e.run_after <= ledger._checked_now(queue_stats.p_now)))) q;
END;


ALTER FUNCTION api.queue_stats(p_now timestamp with time zone) OWNER TO agentledger_owner;

--
-- Name: FUNCTION queue_stats(p_now timestamp with time zone); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.queue_stats(p_now timestamp with time zone) IS 'Queue statistics as JSON: counts per event type and status, how long the longest-waiting runnable event has waited (0 when none), decided events whose follow-up action is pending, leases that expired and wait for the rescue, deadline breaches per type and deadline (all, and those still open), ordered events held back by a failed one, and pg_notification_queue_usage().';


--
-- Name: readable_events(bigint[], text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.readable_events(p_event_ids bigint[], p_key text) RETURNS SETOF bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- For a stream that is shared by many readers and filtered per reader: the database, not the
-- API, decides what each key may see.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'stream', NULL,
                                             jsonb_build_object('events', cardinality(p_event_ids)));
BEGIN
    IF cardinality(p_event_ids) > 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('%s event ids are more than the limit of 10000', cardinality(p_event_ids)),
            HINT = 'Ask about at most 10000 events at a time.';
    END IF;
    RETURN QUERY
    SELECT e.id FROM ledger.events e
     WHERE e.id = ANY (p_event_ids) AND ledger._may_read(v_reader, e)
     ORDER BY e.id;
END
$$;


ALTER FUNCTION api.readable_events(p_event_ids bigint[], p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION readable_events(p_event_ids bigint[], p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.readable_events(p_event_ids bigint[], p_key text) IS 'The events among p_event_ids that the API key p_key may read (ledger._may_read): the API filters its shared stream of changes with it, per subscriber. An auditor''s read is recorded.';


--
-- Name: release_events(bigint[], uuid[], text, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_done bigint[];
    v_queued jsonb;
    v_actions jsonb;
    v_digest bytea := ledger._report_digest(jsonb_build_array(p_reason));
    v_free integer;
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    PERFORM ledger._refuse_bad_outcome_inputs(ARRAY[p_reason], NULL, NULL, 'reason');
    SELECT s.free_releases INTO v_free FROM ledger.settings s;
    -- Given back unworked: the attempt the claim counted is returned and the event is runnable now,
    -- for the first ledger.settings.free_releases releases of an event. After those a release keeps
    -- the attempt, and one that leaves no attempt fails the event, as the lease rescue does: a
    -- claim-and-release loop ends. The events are locked by ledger._checked_report. Planned for this
    -- batch at each call, as in api.decide_events. $1 event ids, $2 tokens, $3 reason, $4 now,
    -- $5 digest, $6 free releases, $7 the acting principal, which must hold the lease with the token,
    -- $8 its kind, $9 its API key.
    EXECUTE $sql$
    WITH given_back AS (
        SELECT e.id, i.token, e.status = 'processing' AS unworked,
               coalesce(e.releases, 0) >= $6 AND e.attempts >= e.max_attempts AS exhausted,
               coalesce(e.releases, 0) >= $6 AS counted
          FROM ledger.events e
          JOIN unnest($1::bigint[], $2::uuid[]) AS i (id, token) ON e.id = i.id
         WHERE e.id = ANY ($1) AND (e.lease_token = i.token AND e.lease_owner = $7) IS TRUE  -- by id only: see decide_events
    ), released AS (
        UPDATE ledger.events e
           SET status = CASE WHEN g.exhausted THEN 'failed' WHEN g.unworked THEN 'queued' ELSE e.status END,
               version = e.version + CASE WHEN g.exhausted OR g.unworked THEN 1 ELSE 0 END,
               changed_by = CASE WHEN g.exhausted OR g.unworked THEN $7 ELSE e.changed_by END,
               changed_by_kind = CASE WHEN g.exhausted OR g.unworked THEN $8 ELSE e.changed_by_kind END,
               changed_by_key = CASE WHEN g.exhausted OR g.unworked THEN $9 ELSE e.changed_by_key END,
               change_reason = CASE WHEN g.exhausted
                                    THEN format('released %s times; all %s attempts used', coalesce(e.releases, 0) + 1,
                                                e.max_attempts)
                                    WHEN g.unworked THEN coalesce($3, 'released')
                                    ELSE e.change_reason END,
               change_details = CASE WHEN g.exhausted OR g.unworked THEN NULL ELSE e.change_details END,
               updated_at = $4,
               run_after = CASE WHEN g.exhausted THEN e.run_after ELSE $4 END,
               attempts = CASE WHEN g.counted THEN e.attempts ELSE greatest(e.attempts - 1, 0) END,
               releases = coalesce(e.releases, 0) + 1,
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = g.token, last_report = 'release', last_report_digest = $5
          FROM given_back g
         WHERE e.id = ANY ($1) AND e.id = g.id
        RETURNING e.id, e.event_type, e.status
    )
    SELECT array_agg(r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status IN ('approved', 'rejected')))
      FROM released r
    $sql$
      INTO v_done, v_queued, v_actions
      USING p_event_ids, p_lease_tokens, p_reason, v_now, v_digest, v_free, v_acting.principal, v_acting.kind,
            v_acting.api_key;
    PERFORM ledger._wake_workers(v_queued);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, array_fill(v_digest, ARRAY[cardinality(p_event_ids)]), v_done, 'release',
                                                       'leased', v_acting.principal);
END
$_$;


ALTER FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text) IS 'Gives leased events back unworked (e.g. on shutdown), named by (event id, lease token): an event in
processing goes back to queued (one audit row, p_reason or "released"), a decided one back to the
action queue; the attempt its claim counted is returned and it is runnable at once (workers are
woken). Past ledger.settings.free_releases releases of one event, a release keeps the attempt, and
one that leaves none fails the event. Answers per event (api.report); the same report sent again answers already_done.';


--
-- Name: requeue_event(bigint, text, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_acting ledger.acting := ledger._acting(p_key, '{reviewer}');
    v_event api.event;
BEGIN
    PERFORM ledger._require_status(p_event_id, 'failed', 're-queued');
    v_event := ledger._transition_event(p_event_id, 'queued', v_acting, p_reason, NULL, NULL,
                                        p_now, 'requeue');
    -- Back in the queue, an ordered event takes its place in its customer's order again.
    UPDATE ledger.events e SET order_released_at = NULL
     WHERE e.id = p_event_id AND e.order_released_at IS NOT NULL;
    RETURN v_event;
END
$$;


ALTER FUNCTION api.requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) IS 'Operator re-queue of a failed event, with a reason (AL008 without one), by the principal of the API key p_key (a reviewer key) or of the login: back to queued with its attempts reset, and workers are woken.';


--
-- Name: rescue_expired_leases(integer, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.rescue_expired_leases(p_limit integer DEFAULT 1000, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    -- The principal that runs the rescue is the actor; the change is the system's rule (kind system).
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_reports api.report[];
    v_queued jsonb;
    v_actions jsonb;
BEGIN
    PERFORM ledger._checked_claim(p_limit, NULL);
    -- One guarded UPDATE. FOR UPDATE re-checks the expiry on the newest version of each row it
    -- locks (and keeps the lock), so a heartbeat, completion or release that committed meanwhile is
    -- never undone; SKIP LOCKED lets several rescuers (and reports in flight) pass each other
    -- without waiting. The UPDATE joins on what was locked only: repeating the expiry test there
    -- would let the planner drive it from the expiry index, quadratic when many leases expire.
    WITH expired AS (
        SELECT e.customer_id, e.id FROM ledger.events e
         WHERE e.lease_token IS NOT NULL AND e.lease_expires_at <= v_now
         ORDER BY e.lease_expires_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), rescued AS (
        UPDATE ledger.events e
           SET status = CASE WHEN e.attempts >= e.max_attempts THEN 'failed'
                             WHEN e.status = 'processing' THEN 'queued'
                             ELSE e.status END,
               version = e.version + CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                          THEN 1 ELSE 0 END,
               changed_by = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                 THEN v_acting.principal ELSE e.changed_by END,
               changed_by_kind = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                      THEN 'system' ELSE e.changed_by_kind END,
               changed_by_key = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                     THEN v_acting.api_key ELSE e.changed_by_key END,
               change_reason = CASE WHEN e.attempts >= e.max_attempts
                                    THEN format('lease of %s expired at %s; all %s attempts used',
                                                e.lease_owner, e.lease_expires_at, e.max_attempts)
                                    WHEN e.status = 'processing'
                                    THEN format('lease of %s expired at %s', e.lease_owner, e.lease_expires_at)
                                    ELSE e.change_reason END,
               change_details = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                     THEN jsonb_build_object('lease_owner', e.lease_owner,
                                                             'lease_expired_at', e.lease_expires_at)
                                     ELSE e.change_details END,
               updated_at = v_now,
               run_after = CASE WHEN e.attempts < e.max_attempts THEN v_now ELSE e.run_after END,
               last_error = format('lease of %s expired at %s', e.lease_owner, e.lease_expires_at),
               last_error_type = 'LeaseExpired',
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               -- The expired holder's reports are refused from now on, not taken for retries.
               last_lease_token = NULL, last_report = NULL, last_report_digest = NULL
          FROM expired x
         WHERE e.customer_id = x.customer_id AND e.id = x.id
        RETURNING e.id, e.event_type, e.status, e.run_after
    )
    SELECT array_agg(ROW(r.id, 'done', r.status, NULL,
                         CASE r.status WHEN 'failed' THEN 'lease expired; attempts exhausted'
                                       WHEN 'queued' THEN 'lease expired; queued again'
                                       ELSE 'lease expired; action offered again' END,
                         NULL, CASE WHEN r.status <> 'failed' THEN r.run_after END)::api.report
                     ORDER BY r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status IN ('approved', 'rejected')))
      INTO v_reports, v_queued, v_actions
      FROM rescued r;
    PERFORM ledger._wake_workers(v_queued);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM unnest(v_reports);
END
$$;


ALTER FUNCTION api.rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text) IS 'Frees up to p_limit events whose lease has expired: an event in processing goes back to queued
(runnable now; the attempt stays counted) or to failed when its attempts are used up; a decided event
loses the lease so its action is offered again (or fails when its attempts are used up). One audit
row per status change, by the principal of the worker key p_key or of the login (kind system). Safe to run from several sessions at once and
from a scheduled job; returns one api.report per event freed.';


--
-- Name: review_event(bigint, text, text, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- A person's verdict on an event in review. One rejection decides it rejected; it is approved once
-- approvals_required distinct people have approved; an approval short of that is an audited note.
-- The reviewer is a principal the database found from a credential (ledger._acting), so four-eyes
-- compares people, not the names or keys a client chose.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{reviewer}');
    v_reviewer text := v_acting.principal;
    v_event ledger.events;
    v_approvals text[];
    v_to ledger.event_status;
BEGIN
    IF p_verdict IS NULL OR p_verdict NOT IN ('approved', 'rejected') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown verdict %s', coalesce(quote_literal(p_verdict), 'NULL')),
            DETAIL = 'A reviewer approves or rejects the event.',
            HINT = 'Use approved or rejected.';
    END IF;
    PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
    IF v_acting.kind <> 'human' THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('%s is not a person: only a human principal may review', v_reviewer),
            DETAIL = format('Its kind is %s.', CASE v_acting.kind WHEN 'system' THEN 'service' ELSE v_acting.kind::text END),
            HINT = 'A person reviews with a reviewer key of their own, or through a login mapped to them.';
    END IF;
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    PERFORM ledger._refuse_out_of_scope(v_acting, v_event.customer_id, v_event.event_type);
    IF v_event.status <> 'in_review' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is %s; only an event in review can be reviewed', p_event_id, v_event.status),
            DETAIL = 'Events go to review when their type''s review policy holds for the decision.',
            HINT = 'api.list_reviews shows the events waiting for review.';
    ELSIF v_reviewer = v_event.proposed_by THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL017',
            MESSAGE = format('event %s: %s proposed this decision and cannot review it', p_event_id, v_reviewer),
            DETAIL = 'A review is made by principals other than the one that proposed.',
            HINT = 'Another reviewer must decide.';
    ELSIF v_reviewer = ANY (v_event.approved_by) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL018',
            MESSAGE = format('event %s: %s has already approved it', p_event_id, v_reviewer),
            DETAIL = format('It needs %s approvals from distinct reviewers; it has %s.',
                            v_event.approvals_required, cardinality(v_event.approved_by)),
            HINT = 'Another reviewer must approve.';
    END IF;

    v_approvals := CASE WHEN p_verdict = 'approved' THEN v_event.approved_by || v_reviewer ELSE v_event.approved_by END;
    v_to := CASE WHEN p_verdict = 'rejected' THEN 'rejected'
                 WHEN cardinality(v_approvals) >= v_event.approvals_required THEN 'approved'
                 ELSE 'in_review' END;  -- the same status: a note
    UPDATE ledger.events e
       SET status = v_to, version = e.version + 1, changed_by = v_reviewer, changed_by_kind = 'human',
           changed_by_key = v_acting.api_key,
           change_reason = p_reason, updated_at = v_now, run_after = v_now,
           change_details = jsonb_build_object('verdict', p_verdict, 'proposal', e.proposed_status,
                                               'proposed_by', e.proposed_by, 'approved_by', to_jsonb(v_approvals),
                                               'approvals_required', e.approvals_required),
           approved_by = v_approvals
     WHERE e.customer_id = v_event.customer_id AND e.id = p_event_id
    RETURNING * INTO v_event;
    IF v_to <> 'in_review' THEN
        -- Decided: the follow-up action may be claimed now.
        PERFORM ledger._wake_action_workers(jsonb_build_object(v_event.event_type, 1));
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;


ALTER FUNCTION api.review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text) IS 'A reviewer''s verdict (approved or rejected, with a reason: AL008 without one) on an event in review
(AL003 otherwise), by the principal of the API key p_key (a reviewer key) or of the login, which must
be human (42501). The proposing principal may not review (AL017), nor may one principal approve
twice, whatever key it uses (AL018).
One rejection decides the event rejected; it is approved once approvals_required distinct reviewers
have approved, and an approval short of that is recorded as an audit row of its own. Once decided,
the follow-up action is offered to workers.';


--
-- Name: revoke_api_key(text, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.revoke_api_key(p_name text, p_reason text) RETURNS api.key
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_key ledger.api_keys;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'revoking an API key needs a reason',
            DETAIL = 'The reason is kept with the key.',
            HINT = 'e.g. "leaked in a log file" or "service retired".';
    END IF;
    UPDATE ledger.api_keys k
       SET revoked_at = now(), revoked_by = session_user, revoke_reason = p_reason
     WHERE k.name = p_name AND k.revoked_at IS NULL
    RETURNING * INTO v_key;
    IF NOT FOUND THEN
        SELECT * INTO v_key FROM ledger.api_keys k WHERE k.name = p_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL016',
                MESSAGE = format('no API key is named %s', coalesce(quote_literal(p_name), 'NULL')),
                DETAIL = 'Nothing was revoked.',
                HINT = 'List the keys with api.list_api_keys().';
        END IF;
    END IF;
    RETURN ledger._as_api_key(v_key);
END
$$;


ALTER FUNCTION api.revoke_api_key(p_name text, p_reason text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION revoke_api_key(p_name text, p_reason text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.revoke_api_key(p_name text, p_reason text) IS 'Revokes the API key named p_name, with a reason (AL008 without one); it stops working at once in the database and within the API''s key cache time. Revoking a revoked key changes nothing. AL016 for an unknown name. For administrators only.';


--
-- Name: seal_audit(text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.seal_audit(p_actor text DEFAULT NULL::text) RETURNS api.seal
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Asks for a seal of everything written so far, then seals every request whose writers have all
-- ended (at once when no other transaction was writing). Writers never wait for a seal.
DECLARE
    v_actor text := ledger._checked_actor(p_actor);
    v_up_to bigint;
    v_request ledger.seal_requests;
    v_last ledger.audit_seals;
BEGIN
    -- Each step below must see what committed before it: only READ COMMITTED takes a new snapshot
    -- per statement.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL014',
            MESSAGE = format('api.seal_audit must run at READ COMMITTED, not %s',
                             upper(current_setting('transaction_isolation'))),
            DETAIL = 'At a stricter isolation level the seal would not see rows committed during the transaction.',
            HINT = 'Call it in a READ COMMITTED transaction (the default).';
    END IF;
    -- One sealer at a time; when another is at work, answer with the latest seal, never wait.
    BEGIN
        LOCK TABLE ledger.seal_requests IN SHARE ROW EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN (SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1);
    END;

    -- Read the sequence first, then list the transactions holding a write lock on the audit table:
    -- a writer takes that lock before it draws a seq and keeps it until it ends, so every writer
    -- that drew a seq up to v_up_to and is still running is on the list. This transaction's own
    -- rows need no wait: it sees them.
    SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO v_up_to FROM ledger.audit_log_seq_seq q;
    INSERT INTO ledger.seal_requests (up_to_seq, writers, requested_by)
    SELECT v_up_to, coalesce(array_agg(DISTINCT l.virtualtransaction), '{}'), v_actor
      FROM pg_locks l
     WHERE l.locktype = 'relation' AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND l.relation = 'ledger.audit_log'::regclass AND l.mode = 'RowExclusiveLock'
       AND l.pid IS DISTINCT FROM pg_backend_pid();  -- NULL: a prepared transaction

    FOR v_request IN SELECT * FROM ledger.seal_requests r ORDER BY r.id LOOP
        -- A transaction leaves the list of running ones before it lets go of its locks, so once
        -- none of the writers holds any lock, every statement after this one sees their rows.
        EXIT WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.virtualtransaction = ANY (v_request.writers));
        SELECT * INTO v_last FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
        INSERT INTO ledger.audit_seals (first_seq, last_seq, row_count, prev_digest, digest, sealed_by)
        SELECT min(a.seq), max(a.seq), count(*), v_last.digest,
               sha256(coalesce(v_last.digest, ''::bytea) || string_agg(a.hash, ''::bytea ORDER BY a.seq)),
               v_actor
          FROM ledger.audit_log a
         WHERE a.seq > coalesce(v_last.last_seq, 0) AND a.seq <= v_request.up_to_seq
        HAVING count(*) > 0;
        DELETE FROM ledger.seal_requests r WHERE r.id = v_request.id;
    END LOOP;
    RETURN (SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1);
END
$$;


ALTER FUNCTION api.seal_audit(p_actor text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION seal_audit(p_actor text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.seal_audit(p_actor text) IS 'Seals the audit trail written so far (sha256 over the row hashes, chained to the previous seal) once the transactions still writing have finished; returns the latest seal (NULL before any). Call it regularly: a call also completes the seals asked for by earlier calls.';


--
-- Name: submit_event(text, text, jsonb, integer, timestamp with time zone, text, uuid, bigint, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer DEFAULT 0, p_run_after timestamp with time zone DEFAULT NULL::timestamp with time zone, p_idempotency_key text DEFAULT NULL::text, p_correlation_id uuid DEFAULT NULL::uuid, p_caused_by_event_id bigint DEFAULT NULL::bigint, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS api.receipt
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The single-event path: the same checks as api.submit_events (ledger._submission_problem), with
-- plain values instead of a JSON batch, because single submits are the hot path. The submitter is
-- the principal of p_key or of the login (ledger._acting).
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{submitter,worker}');
    v_max_attempts integer;
    v_correlation_id uuid := p_correlation_id;
    v_problem text;
    v_event ledger.events;
BEGIN
    PERFORM ledger._refuse_out_of_scope(v_acting, p_customer_id, p_event_type);
    SELECT t.max_attempts INTO v_max_attempts FROM ledger.event_types t WHERE t.name = p_event_type;
    v_problem := ledger._submission_problem(p_customer_id, v_max_attempts IS NOT NULL, p_payload,
                                            p_priority, p_idempotency_key, p_run_after);
    IF v_problem IS NULL AND p_caused_by_event_id IS NOT NULL THEN
        SELECT coalesce(v_correlation_id, c.correlation_id) INTO v_correlation_id
          FROM ledger.events c WHERE c.id = p_caused_by_event_id;
        IF NOT FOUND THEN
            v_problem := 'caused_by_event_id';
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._refuse_submission(v_problem, 1, 1, p_customer_id, p_event_type, p_payload,
                                          p_priority, p_caused_by_event_id);
    END IF;

    INSERT INTO ledger.events (customer_id, event_type, payload, priority, run_after, max_attempts,
                               idempotency_key, correlation_id, caused_by_event_id, submitted_by,
                               changed_by, changed_by_kind, changed_by_key, created_at, updated_at)
    VALUES (p_customer_id, p_event_type, p_payload, coalesce(p_priority, 0),
            coalesce(p_run_after, v_now), v_max_attempts, p_idempotency_key,
            coalesce(v_correlation_id, gen_random_uuid()), p_caused_by_event_id, v_acting.principal,
            v_acting.principal, v_acting.kind, v_acting.api_key, v_now, v_now)
    ON CONFLICT (customer_id, submitted_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v_event;

    IF FOUND THEN
        IF v_event.run_after <= v_now THEN
            PERFORM ledger._wake_workers(jsonb_build_object(p_event_type, 1));
        END IF;
        RETURN ROW(true, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
                   v_event.priority, v_event.run_after, v_event.idempotency_key,
                   v_event.correlation_id, v_event.created_at)::api.receipt;
    END IF;

    -- This submitter used the idempotency key before: a repeat of the same submit answers with that
    -- event. (Keys are per submitter, so no one else can replay or block them.)
    SELECT * INTO v_event FROM ledger.events e
     WHERE e.customer_id = p_customer_id AND e.submitted_by = v_acting.principal
       AND e.idempotency_key = p_idempotency_key;
    IF (v_event.event_type, v_event.payload, v_event.priority)
       IS DISTINCT FROM (p_event_type, p_payload, coalesce(p_priority, 0)::smallint) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL004',
            MESSAGE = format('idempotency key %s was already used for event %s with a different body',
                             quote_literal(p_idempotency_key), v_event.id),
            DETAIL = 'Event 1 of 1 in the request; nothing was submitted.',
            HINT = 'Repeat a submit with exactly the same event_type, payload and priority, or use a new key.';
    END IF;
    RETURN ROW(false, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
               v_event.priority, v_event.run_after, v_event.idempotency_key, v_event.correlation_id,
               v_event.created_at)::api.receipt;
END
$$;


ALTER FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text) IS 'Submits one event (queued, one audit row, a wake-up NOTIFY unless throttled) as the principal of the API key p_key (a submitter or worker key) or of the login. With an idempotency key, repeating the same submit by the same principal returns the original event (created = false); the same key with another body is refused (AL004). 42501 outside the key''s scope.';


--
-- Name: submit_events(jsonb, timestamp with time zone, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone DEFAULT now(), p_key text DEFAULT NULL::text) RETURNS SETOF api.receipt
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{submitter,worker}');
    v_count integer;
    v_max_batch integer;
    v_items ledger.submission[];
    v_bad record;
    v_receipts api.receipt[];
    v_queued jsonb;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'events must be a JSON array of event objects',
            DETAIL = format('Got %s.', coalesce(jsonb_typeof(p_events), 'NULL')),
            HINT = 'Send [{"customer_id": ..., "event_type": ..., "payload": {...}}, ...].';
    END IF;
    v_count := jsonb_array_length(p_events);
    SELECT max_batch_size INTO v_max_batch FROM ledger.settings;
    IF v_count > v_max_batch THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL013',
            MESSAGE = format('a batch of %s events is larger than the limit of %s', v_count, v_max_batch),
            DETAIL = 'One batch is one transaction; very large ones hold locks for long.',
            HINT = 'Split it into batches of at most ledger.settings.max_batch_size events.';
    END IF;
    IF v_count = 0 THEN
        RETURN;
    END IF;

    -- Parse, giving each item its event id now so results can be matched to items by id.
    BEGIN
        -- customer_id and event_type are read as JSON so that only strings count: another JSON
        -- type becomes NULL and is refused below.
        SELECT array_agg(ROW(x.ord, nextval('ledger.events_id_seq'),
                             CASE WHEN jsonb_typeof(x.customer_id) = 'string' THEN x.customer_id #>> '{}' END,
                             CASE WHEN jsonb_typeof(x.event_type) = 'string' THEN x.event_type #>> '{}' END,
                             x.payload, x.priority, x.run_after, x.idempotency_key, x.correlation_id,
                             x.caused_by_event_id)::ledger.submission ORDER BY x.ord)
          INTO v_items
          FROM ROWS FROM (jsonb_to_recordset(p_events) AS (
                   customer_id jsonb, event_type jsonb, payload jsonb, priority integer,
                   run_after timestamptz, idempotency_key text, correlation_id uuid,
                   caused_by_event_id bigint))
               WITH ORDINALITY AS x(customer_id, event_type, payload, priority, run_after,
                                    idempotency_key, correlation_id, caused_by_event_id, ord);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('events could not be read: %s', SQLERRM),
            DETAIL = 'A field has the wrong type, or an item is not an object.',
            HINT = 'Each event is an object: customer_id (string), event_type (string), payload (object); optional priority (integer), run_after (timestamp), idempotency_key (string), correlation_id (uuid), caused_by_event_id (integer).';
    END;

    -- The first invalid item, in batch order.
    SELECT * INTO v_bad
      FROM (SELECT i.*,
                   coalesce(ledger._submission_problem(i.customer_id, t.name IS NOT NULL, i.payload,
                                                       i.priority, i.idempotency_key, i.run_after),
                            CASE WHEN i.caused_by_event_id IS NOT NULL AND NOT EXISTS (
                                          SELECT 1 FROM ledger.events c WHERE c.id = i.caused_by_event_id)
                                 THEN 'caused_by_event_id' END) AS problem
              FROM unnest(v_items) i
              LEFT JOIN ledger.event_types t ON t.name = i.event_type) b
     WHERE b.problem IS NOT NULL
     ORDER BY b.ord
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._refuse_submission(v_bad.problem, v_bad.ord, v_count, v_bad.customer_id,
                                          v_bad.event_type, v_bad.payload, v_bad.priority,
                                          v_bad.caused_by_event_id);
    END IF;
    IF v_acting.event_types IS NOT NULL OR v_acting.customers IS NOT NULL THEN
        SELECT i.customer_id, i.event_type INTO v_bad FROM unnest(v_items) i
         WHERE NOT ledger._in_scope(v_acting, i.customer_id, i.event_type) ORDER BY i.ord LIMIT 1;
        IF FOUND THEN
            PERFORM ledger._refuse_out_of_scope(v_acting, v_bad.customer_id, v_bad.event_type);
        END IF;
    END IF;

    WITH inserted AS (
        INSERT INTO ledger.events (id, customer_id, event_type, payload, priority, run_after,
                                   max_attempts, idempotency_key, correlation_id, caused_by_event_id,
                                   submitted_by, changed_by, changed_by_kind, changed_by_key, created_at,
                                   updated_at)
        OVERRIDING SYSTEM VALUE
        SELECT i.id, i.customer_id, i.event_type, i.payload, coalesce(i.priority, 0),
               coalesce(i.run_after, v_now), t.max_attempts, i.idempotency_key,
               coalesce(i.correlation_id,
                        CASE WHEN i.caused_by_event_id IS NOT NULL THEN
                            (SELECT c.correlation_id FROM ledger.events c WHERE c.id = i.caused_by_event_id)
                        END,
                        gen_random_uuid()),
               i.caused_by_event_id, v_acting.principal, v_acting.principal, v_acting.kind,
               v_acting.api_key, v_now, v_now
          FROM unnest(v_items) i
          JOIN ledger.event_types t ON t.name = i.event_type
         -- Key order, not request order: two batches repeating the same keys then take their
         -- index locks in the same order and cannot deadlock. Receipts follow request order anyway.
         ORDER BY i.customer_id, i.idempotency_key, i.ord
        ON CONFLICT (customer_id, submitted_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id, customer_id, event_type, status, priority, run_after, idempotency_key,
                  correlation_id, created_at
    )
    SELECT (SELECT array_agg(ROW(true, n.*)::api.receipt) FROM inserted n),
           (SELECT jsonb_object_agg(q.event_type, q.n)
              FROM (SELECT n.event_type, count(*) AS n FROM inserted n
                     WHERE n.run_after <= v_now GROUP BY n.event_type) q)
      INTO v_receipts, v_queued;

    PERFORM ledger._wake_workers(v_queued);
    IF coalesce(cardinality(v_receipts), 0) = v_count THEN
        RETURN QUERY SELECT r.* FROM unnest(v_receipts) r ORDER BY r.id;  -- ids follow request order
        RETURN;
    END IF;

    -- Some items repeated an idempotency key: each must repeat the earlier submit exactly, and
    -- answers with the earlier event. (LIMIT 1 keeps each lookup on the unique index.)
    SELECT i.ord, e.id, i.idempotency_key,
           EXISTS (SELECT 1 FROM unnest(v_items) j WHERE j.id = e.id) AS in_request INTO v_bad
      FROM unnest(v_items) i
     CROSS JOIN LATERAL (SELECT * FROM ledger.events e
                          WHERE e.customer_id = i.customer_id AND e.submitted_by = v_acting.principal
                            AND e.idempotency_key = i.idempotency_key AND e.id <> i.id
                          LIMIT 1) e
     WHERE e.event_type <> i.event_type OR e.payload <> i.payload OR e.priority <> coalesce(i.priority, 0)
     ORDER BY i.ord
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL004',
            MESSAGE = CASE WHEN v_bad.in_request
                THEN format('idempotency key %s appears twice in this request with different bodies',
                            quote_literal(v_bad.idempotency_key))
                ELSE format('idempotency key %s was already used for event %s with a different body',
                            quote_literal(v_bad.idempotency_key), v_bad.id)
            END,
            DETAIL = format('Event %s of %s in the request; nothing was submitted.', v_bad.ord, v_count),
            HINT = 'Repeat a submit with exactly the same event_type, payload and priority, or use a new key.';
    END IF;

    RETURN QUERY
    SELECT s.created, s.id, s.customer_id, s.event_type, s.status, s.priority, s.run_after,
           s.idempotency_key, s.correlation_id, s.created_at
      FROM (SELECT i.ord, r.*
              FROM unnest(v_items) i JOIN unnest(v_receipts) r ON r.id = i.id
            UNION ALL
            SELECT i.ord, false, e.id, e.customer_id, e.event_type, e.status, e.priority, e.run_after,
                   e.idempotency_key, e.correlation_id, e.created_at
              FROM unnest(v_items) i
             CROSS JOIN LATERAL (SELECT * FROM ledger.events e
                                  WHERE e.customer_id = i.customer_id AND e.submitted_by = v_acting.principal
                                    AND e.idempotency_key = i.idempotency_key AND e.id <> i.id
                                  LIMIT 1) e) s
     ORDER BY s.ord;
END
$$;


ALTER FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION submit_events(p_events jsonb, p_now timestamp with time zone, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone, p_key text) IS 'Submits a batch of events in one statement, with one audit row each and one wake-up NOTIFY.
p_events: [{"customer_id", "event_type", "payload", "priority"?, "run_after"?, "idempotency_key"?,
"correlation_id"?, "caused_by_event_id"?}, ...]. Returns one receipt per item, in order; created is
false when the item''s idempotency key matched an earlier identical submit by the same principal (the
one of the API key p_key, a submitter or worker key, or of the login). All or nothing; 42501 if an
item lies outside the key''s scope.';


--
-- Name: transition_event(bigint, text, text, jsonb, jsonb, timestamp with time zone, uuid, text); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text DEFAULT NULL::text, p_result jsonb DEFAULT NULL::jsonb, p_details jsonb DEFAULT NULL::jsonb, p_now timestamp with time zone DEFAULT now(), p_lease_token uuid DEFAULT NULL::uuid, p_key text DEFAULT NULL::text) RETURNS api.event
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- PL/pgSQL, not a SQL body: a SQL body would pin the signature of ledger._transition_event, which
-- then could not be reworked.
BEGIN
    RETURN ledger._transition_event(p_event_id, p_status, ledger._acting(p_key, '{worker}'), p_reason, p_result,
                                    p_details, p_now, NULL, p_lease_token);
END
$$;


ALTER FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text) IS 'Moves an event to p_status if ledger.transitions allows it (AL003 otherwise; AL001 if it does not
exist), as the principal of the API key p_key (a worker key: 42501 for others) or of the login,
recording reason and details in the audit trail. To processing (a claim, once run_after has passed):
the principal takes a lease. Out of processing, approved or rejected: only the principal holding the
lease may report (AL009), with its token when the lease was taken through the worker protocol. To
approved/rejected: p_result is the decision result. To failed: p_reason is the error. Re-queue and
cancel are operator steps: api.requeue_event and api.cancel_event. p_now may differ from now() only
for the owner (tests move the clock).';


--
-- Name: verify_audit(bigint); Type: FUNCTION; Schema: api; Owner: agentledger_owner
--

CREATE FUNCTION api.verify_audit(p_event_id bigint DEFAULT NULL::bigint) RETURNS api.audit_verdict
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Checks, in order: every row against its hash and the row before it in its event's chain; every
-- event against the head of its chain; and (for the whole trail) every seal against the rows it
-- covers. Returns the first problem found, naming the audit row, event or seal.
DECLARE
    v_rows bigint;
    v_seals bigint := 0;
    r record;
BEGIN
    SELECT count(*) INTO v_rows FROM ledger.audit_log a WHERE p_event_id IS NULL OR a.event_id = p_event_id;
    IF p_event_id IS NOT NULL AND v_rows = 0
       AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;

    -- 1. Rows: an edited row no longer matches its hash; a deleted row breaks the link after it.
    SELECT c.seq, c.event_id, c.problem INTO r
      FROM (SELECT a.seq, a.event_id,
                   CASE
                       WHEN a.hash IS DISTINCT FROM ledger._audit_hash(
                                a.prev_hash, a.seq, a.customer_id, a.event_id, a.version, a.from_status,
                                a.to_status, a.actor, a.actor_kind, a.db_user, a.reason, a.details,
                                a.attempt, a.recorded_at, a.api_key)
                           THEN format('audit row %s of event %s does not match its hash: it was changed after it was written',
                                       a.seq, a.event_id)
                       WHEN lag(a.seq) OVER w IS NULL AND a.version <> 1
                           THEN format('the audit trail of event %s starts at version %s: its earlier rows were deleted',
                                       a.event_id, a.version)
                       WHEN lag(a.seq) OVER w IS NOT NULL
                            AND (a.prev_hash IS DISTINCT FROM lag(a.hash) OVER w
                                 OR a.version <> lag(a.version) OVER w + 1)
                           THEN format('audit row %s of event %s does not follow the row before it (version %s): a row between them was deleted or changed',
                                       a.seq, a.event_id, lag(a.version) OVER w)
                   END AS problem
              FROM ledger.audit_log a
             WHERE p_event_id IS NULL OR a.event_id = p_event_id
            WINDOW w AS (PARTITION BY a.event_id ORDER BY a.seq)) c
     WHERE c.problem IS NOT NULL
     ORDER BY c.seq
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id, r.problem)::api.audit_verdict;
    END IF;

    -- 2. Events: the chain must end where the event is; deleted tail rows or a deleted chain show here.
    SELECT e.id, e.status, e.version, h.seq, h.to_status, h.version AS head_version INTO r
      FROM ledger.events e
      LEFT JOIN LATERAL (SELECT a.seq, a.to_status, a.version FROM ledger.audit_log a
                          WHERE a.event_id = e.id ORDER BY a.seq DESC LIMIT 1) h ON true
     WHERE (p_event_id IS NULL OR e.id = p_event_id)
       AND (h.seq IS NULL OR h.version <> e.version OR h.to_status <> e.status)
     ORDER BY e.id
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.id, CASE
            WHEN r.seq IS NULL THEN format('event %s has no audit trail: its rows were deleted', r.id)
            ELSE format('event %s is %s at version %s but its audit trail ends at %s, version %s (row %s): later rows were deleted or the event was changed without audit',
                        r.id, r.status, r.version, r.to_status, r.head_version, r.seq)
        END)::api.audit_verdict;
    END IF;

    -- ... and every chain must still have its event.
    SELECT a.event_id, min(a.seq) AS seq INTO r
      FROM ledger.audit_log a
     WHERE (p_event_id IS NULL OR a.event_id = p_event_id)
       AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = a.event_id)
     GROUP BY a.event_id
     ORDER BY 2
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id,
                   format('event %s has an audit trail but the event itself was deleted', r.event_id))::api.audit_verdict;
    END IF;

    IF p_event_id IS NOT NULL THEN
        RETURN ROW(true, v_rows, v_seals, NULL, NULL, NULL)::api.audit_verdict;
    END IF;

    -- 3. Seals. The first seal covers every row before it: an older row outside it came later.
    SELECT a.seq, a.event_id INTO r
      FROM ledger.audit_log a
     WHERE a.seq < (SELECT min(s.first_seq) FROM ledger.audit_seals s)
     ORDER BY a.seq
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id,
                   format('audit row %s is older than the first seal but not in it: it was added afterwards', r.seq))::api.audit_verdict;
    END IF;
    -- Recompute each seal's digest from the rows in its range, in one pass over the trail.
    FOR r IN
        WITH seals AS (
            SELECT s.*, row_number() OVER (ORDER BY s.id) AS n, lag(s.digest) OVER (ORDER BY s.id) AS expected_prev
              FROM ledger.audit_seals s),
        bounds AS (SELECT array_agg(first_seq ORDER BY id) AS firsts, max(last_seq) AS top FROM seals),
        found AS (
            SELECT width_bucket(a.seq, b.firsts) AS n, count(*) AS row_count,
                   string_agg(a.hash, ''::bytea ORDER BY a.seq) AS hashes
              FROM ledger.audit_log a, bounds b
             WHERE a.seq BETWEEN b.firsts[1] AND b.top
             GROUP BY 1)
        SELECT s.id, s.first_seq, s.last_seq, s.row_count AS sealed_rows, coalesce(f.row_count, 0) AS found_rows,
               s.prev_digest IS NOT DISTINCT FROM s.expected_prev AS linked,
               s.digest = sha256(coalesce(s.prev_digest, ''::bytea) || coalesce(f.hashes, ''::bytea)) AS matches
          FROM seals s LEFT JOIN found f ON f.n = s.n
         ORDER BY s.id
    LOOP
        v_seals := v_seals + 1;
        IF NOT r.linked THEN
            RETURN ROW(false, v_rows, v_seals, r.first_seq, NULL,
                       format('seal %s does not follow the seal before it: seals were changed or deleted', r.id))::api.audit_verdict;
        ELSIF NOT r.matches OR r.found_rows <> r.sealed_rows THEN
            RETURN ROW(false, v_rows, v_seals, r.first_seq, NULL,
                       format('seal %s covers audit rows %s to %s: it sealed %s rows, %s are there and their hashes no longer match: rows were deleted, added or changed',
                              r.id, r.first_seq, r.last_seq, r.sealed_rows, r.found_rows))::api.audit_verdict;
        END IF;
    END LOOP;
    RETURN ROW(true, v_rows, v_seals, NULL, NULL, NULL)::api.audit_verdict;
END
$$;


ALTER FUNCTION api.verify_audit(p_event_id bigint) OWNER TO agentledger_owner;

--
-- Name: FUNCTION verify_audit(p_event_id bigint); Type: COMMENT; Schema: api; Owner: agentledger_owner
--

COMMENT ON FUNCTION api.verify_audit(p_event_id bigint) IS 'Verifies the audit trail (of one event, or all of it with its seals). ok = false names the first broken audit row, event or seal and says what is wrong: an edited row, a deleted middle row, deleted tail rows, a deleted chain.';


--
-- Name: _acting(text, text[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._acting(p_key text, p_key_roles text[]) RETURNS ledger.acting
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Who is acting in this call, from a credential the database checks itself: the API key passed
-- (ledger._valid_key, and its role one of p_key_roles), else the session's login, which PostgreSQL
-- authenticated (ledger.principal_logins). No name a client passes is believed, so a process can
-- act only as the principals whose credentials it holds.
DECLARE
    v_key ledger.api_keys;
    v_principal ledger.principals;
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT * INTO v_key FROM ledger._valid_key(p_key);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = '28000',
                MESSAGE = 'the API key is not valid',
                DETAIL = 'It is malformed, unknown or revoked, or its principal was deactivated.',
                HINT = 'An administrator creates keys with agentledger keys create.';
        END IF;
        SELECT * INTO v_principal FROM ledger.principals p WHERE p.id = v_key.principal_id;
        IF NOT v_key.role = ANY (p_key_roles) THEN
            RAISE EXCEPTION USING
                ERRCODE = '42501',
                MESSAGE = format('a %s key may not do this', v_key.role),
                DETAIL = format('Key %s of %s has role %s.', v_key.name, v_principal.name, v_key.role),
                HINT = format('Use a key with role %s.', array_to_string(p_key_roles, ' or '));
        END IF;
    ELSE
        SELECT p.* INTO v_principal
          FROM ledger.principal_logins l
          JOIN ledger.principals p ON p.id = l.principal_id
         WHERE l.login = session_user AND p.active;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = '28000',
                MESSAGE = format('database login %s acts for no principal', session_user),
                DETAIL = 'Every change is made by a principal: through an API key, or through a login mapped to it.',
                HINT = format('An administrator maps it: agentledger principals add NAME --kind KIND --login %s.', session_user);
        END IF;
    END IF;
    -- A service acts as the system in the audit trail's actor kinds.
    RETURN ROW(v_principal.name,
               CASE v_principal.kind WHEN 'service' THEN 'system' ELSE v_principal.kind END::ledger.actor_kind,
               v_key.name, v_key.role, v_key.event_types, v_key.customers)::ledger.acting;
END
$$;


ALTER FUNCTION ledger._acting(p_key text, p_key_roles text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _acting(p_key text, p_key_roles text[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._acting(p_key text, p_key_roles text[]) IS 'The principal acting in a call: the one of the API key p_key (28000 if it is not a valid key of an active principal, 42501 if its role is not in p_key_roles), else the one the session''s login is mapped to (28000 if none).';


--
-- Name: _add_wakeups(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._add_wakeups() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO ledger.wakeups (event_type) SELECT name FROM new_types;
    RETURN NULL;
END
$$;


ALTER FUNCTION ledger._add_wakeups() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _add_wakeups(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._add_wakeups() IS 'Gives every newly registered event type its wake-up throttle row.';


--
-- Name: _as_api_event(ledger.events); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._as_api_event(e ledger.events) RETURNS api.event
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ROW((e).id, (e).customer_id, (e).event_type, (e).status, (e).payload, (e).priority, (e).attempts, (e).max_attempts, (e).run_after, (e).lease_owner, (e).lease_expires_at, (e).idempotency_key, (e).result, (e).last_error, (e).last_error_type, (e).correlation_id, (e).caused_by_event_id, (e).version, (e).changed_by, (e).changed_by_kind, (e).change_reason, (e).created_at, (e).updated_at)::api.event;


ALTER FUNCTION ledger._as_api_event(e ledger.events) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _as_api_event(e ledger.events); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._as_api_event(e ledger.events) IS 'An events row as clients see it (api.event): without the lease token.';


--
-- Name: _audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status, ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamp with time zone, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN sha256((COALESCE(p_prev_hash, '\x'::bytea) || convert_to(((jsonb_build_array(p_seq, p_customer_id, p_event_id, p_version, p_from_status, p_to_status, p_actor, p_actor_kind, p_db_user, p_reason, p_details, p_attempt, (p_recorded_at AT TIME ZONE 'UTC'::text)) || CASE WHEN (p_api_key IS NULL) THEN '[]'::jsonb ELSE jsonb_build_array(p_api_key) END))::text, 'UTF8'::name)));


ALTER FUNCTION ledger._audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text) IS 'The hash of one audit row: sha256 of the previous row''s hash and this row''s content (with its API key, when one was used).';


--
-- Name: _audit_status_changes(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._audit_status_changes() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: checks the status changes the row trigger left to it, then
-- writes one audit row per event whose version moved (a status change, or a note that keeps the
-- status), chained to the previous row of that event. The event row is locked by the UPDATE, so its
-- chain head is stable. (Notes are checked by the row trigger, which sees every same-status write.)
DECLARE
    v_bad record;
BEGIN
    -- A statement that changed no status and no version (a heartbeat, a claim that found nothing)
    -- must not touch the audit table at all: its write lock would make seals and live readers wait
    -- for this transaction to end.
    IF NOT EXISTS (SELECT 1 FROM new_events n JOIN old_events o ON o.id = n.id
                    WHERE n.status <> o.status OR n.version <> o.version) THEN
        RETURN NULL;
    END IF;
    -- The rules of ledger._check_status_change for writes made as the owner (the api functions)
    -- that change the status and set updated_at: the row trigger skips those rows (its WHEN
    -- clause), and they are checked here, once per statement instead of once per row. Rows the
    -- row trigger saw pass again. Any refusal undoes the whole statement.
    SELECT c.* INTO v_bad
      FROM (SELECT n.id, o.status AS from_status, n.status AS to_status, o.version AS old_version,
                   n.version AS new_version, t.name,
                   ledger._status_change_problem(t.from_status IS NOT NULL, t.reason_required, o.version,
                                                 n.version, n.change_reason) AS problem
              FROM new_events n
              JOIN old_events o ON o.id = n.id
              LEFT JOIN ledger.transitions t ON t.from_status = o.status AND t.to_status = n.status
             WHERE n.status <> o.status) c
     WHERE c.problem IS NOT NULL
     ORDER BY c.id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._refuse_status_change(v_bad.problem, v_bad.id, v_bad.from_status, v_bad.to_status,
                                             v_bad.old_version, v_bad.new_version, v_bad.name);
    END IF;
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at, api_key,
                                  prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT c.seq, c.customer_id, c.id, c.version, c.from_status, c.status, c.changed_by,
           c.changed_by_kind, session_user, c.change_reason, c.change_details, c.attempts,
           c.recorded_at, c.changed_by_key, c.prev_hash,
           ledger._audit_hash(c.prev_hash, c.seq, c.customer_id, c.id, c.version, c.from_status,
                              c.status, c.changed_by, c.changed_by_kind, session_user,
                              c.change_reason, c.change_details, c.attempts, c.recorded_at,
                              c.changed_by_key)
      FROM (SELECT n.*, o.status AS from_status, nextval('ledger.audit_log_seq_seq') AS seq,
                   now() AS recorded_at,
                   (SELECT a.hash FROM ledger.audit_log a
                     WHERE a.event_id = n.id ORDER BY a.seq DESC LIMIT 1) AS prev_hash
              FROM new_events n JOIN old_events o ON o.id = n.id
             WHERE n.version <> o.version) c;
    RETURN NULL;
END
$$;


ALTER FUNCTION ledger._audit_status_changes() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _audit_status_changes(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._audit_status_changes() IS 'Trigger: refuses the status changes of owner writes by the rules of ledger._status_change_problem (AL003, AL012, AL008), then writes one hash-chained audit row per event whose status an UPDATE changed (or that it noted: same status, version + 1), whoever wrote it.';


--
-- Name: _audit_submits(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._audit_submits() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- AFTER INSERT ... FOR EACH STATEMENT: one set-based pass per statement, so a batch of 1,000
-- costs one audit INSERT, not 1,000 trigger calls.
DECLARE
    v_bad record;
    v_trusted boolean := current_user = 'agentledger_owner';
BEGIN
    SELECT n.id, n.customer_id, n.status, n.event_type, t.name IS NULL AS unknown_type,
           octet_length(n.payload::text) AS bytes, s.max_payload_bytes
      INTO v_bad
      FROM new_events n
     CROSS JOIN ledger.settings s
      LEFT JOIN ledger.event_types t ON t.name = n.event_type
     WHERE n.status <> 'queued' OR t.name IS NULL OR octet_length(n.payload::text) > s.max_payload_bytes
     LIMIT 1;
    IF FOUND AND v_bad.status <> 'queued' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot start as %s', v_bad.id, v_bad.status),
            DETAIL = 'Every event enters the lifecycle as queued.',
            HINT = 'Insert it as queued; later changes follow ledger.transitions.';
    ELSIF FOUND AND v_bad.unknown_type THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', quote_literal(v_bad.event_type)),
            DETAIL = 'Events must be of a type registered in ledger.event_types.',
            HINT = 'A DBA adds one with INSERT INTO ledger.event_types (name, description).';
    ELSIF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('payload of %s bytes for customer %s is larger than the limit of %s bytes',
                             v_bad.bytes, v_bad.customer_id, v_bad.max_payload_bytes),
            DETAIL = 'The size is measured as JSON text.',
            HINT = 'Store large documents elsewhere and put a reference in the payload, or raise ledger.settings.max_payload_bytes.';
    END IF;

    -- Through the api functions (running as the owner) the row names its actor; a raw INSERT by
    -- anyone else is attributed to the database user, whatever the row claims.
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at,
                                  api_key, prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT r.seq, r.customer_id, r.id, r.version, NULL, r.status, r.actor, r.kind, session_user,
           r.change_reason, r.change_details, r.attempts, r.recorded_at, r.api_key, NULL,
           ledger._audit_hash(NULL, r.seq, r.customer_id, r.id, r.version, NULL, r.status,
                              r.actor, r.kind, session_user, r.change_reason, r.change_details,
                              r.attempts, r.recorded_at, r.api_key)
      FROM (SELECT n.*, nextval('ledger.audit_log_seq_seq') AS seq, now() AS recorded_at,
                   CASE WHEN v_trusted THEN n.changed_by ELSE session_user END AS actor,
                   CASE WHEN v_trusted THEN n.changed_by_kind ELSE 'human' END AS kind,
                   CASE WHEN v_trusted THEN n.changed_by_key END AS api_key
              FROM new_events n) r;
    RETURN NULL;
END
$$;


ALTER FUNCTION ledger._audit_submits() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _audit_submits(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._audit_submits() IS 'Trigger: writes the first audit row (the submit) of each new event, and refuses events of unregistered types (AL002), oversized payloads (AL005) and events not starting as queued (AL003).';


--
-- Name: _check_line_change(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._check_line_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- BEFORE UPDATE of what decides an event's place in its customer's line, whoever writes it: the
-- line can only move the ways the api functions move it, so a raw UPDATE cannot stall it or let
-- two events of one customer be held at once.
BEGIN
    IF NEW.ordered IS DISTINCT FROM OLD.ordered THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: whether it is ordered per customer is fixed when it is submitted', OLD.id),
            DETAIL = 'ordered comes from ledger.event_types.ordered_per_customer at submit.',
            HINT = 'Change the event type''s ordered_per_customer for events submitted from now on.';
    END IF;
    IF NEW.first_in_line IS DISTINCT FROM OLD.first_in_line AND current_user <> 'agentledger_owner' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: first_in_line is kept by the database', OLD.id),
            DETAIL = 'It marks the customer''s earliest open ordered event and moves when that one completes or is released.',
            HINT = 'To let the line go on, cancel the failed event that holds it (api.cancel_event); to put it back, re-queue it (api.requeue_event).';
    END IF;
    IF NEW.ordered AND NEW.order_released_at IS NOT NULL AND NEW.status <> 'failed' THEN
        IF OLD.order_released_at IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL003',
                MESSAGE = format('event %s is %s; only a failed ordered event can give up its place in line', OLD.id, NEW.status),
                HINT = 'Cancel a queued event (api.cancel_event): it fails and gives up its place.';
        END IF;
        NEW.order_released_at := NULL;  -- a released event leaving failed (re-queued) is back in line
    END IF;
    IF NEW.ordered AND OLD.order_released_at IS NOT NULL AND NEW.order_released_at IS NULL THEN
        -- Back in line, not first yet: the statement's ledger._settle_lines_after_write decides.
        NEW.first_in_line := NULL;
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION ledger._check_line_change() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _check_line_change(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._check_line_change() IS 'Trigger: ordered is write-once (AL012); only the database moves first_in_line (AL012); only a failed ordered event gives up its place (AL003); a released event that is re-queued re-joins its line unsettled (first_in_line NULL).';


--
-- Name: _check_status_change(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._check_status_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- BEFORE UPDATE OF status, for every writer (functions, raw UPDATEs, the owner in psql), except
-- writes made as the owner that change the status and set updated_at: the trigger's WHEN clause
-- leaves those rows to ledger._audit_status_changes, which checks them once per statement.
DECLARE
    v_rule ledger.transitions;
    v_allowed boolean;
    v_problem text;
BEGIN
    IF NEW.status = OLD.status AND (NEW.version = OLD.version OR current_user <> 'agentledger_owner') THEN
        -- Not a status change (e.g. a lease renewal): the record of the latest change stays as it is.
        -- (A note, an audited change that keeps the status, is made only by the api functions.)
        IF (NEW.version, NEW.changed_by, NEW.changed_by_kind, NEW.changed_by_key, NEW.change_reason,
            NEW.change_details)
           IS DISTINCT FROM
           (OLD.version, OLD.changed_by, OLD.changed_by_kind, OLD.changed_by_key, OLD.change_reason,
            OLD.change_details) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL012',
                MESSAGE = format('event %s: version and the record of its latest change move only with a status change', OLD.id),
                DETAIL = 'version, changed_by, changed_by_kind, changed_by_key, change_reason and change_details describe the latest status change.',
                HINT = 'Change them together with status; the audit trail keeps every earlier change.';
        END IF;
        RETURN NEW;
    END IF;
    -- A status change, or a note (same status, version + 1): allowed if ledger.transitions lists it.
    SELECT * INTO v_rule FROM ledger.transitions t
     WHERE t.from_status = OLD.status AND t.to_status = NEW.status;
    v_allowed := FOUND;
    IF v_allowed AND current_user <> 'agentledger_owner' THEN
        -- A raw UPDATE, not one of the api functions (which run as the owner): whatever the row
        -- claims, the change is the database user's; a reason counts only if this UPDATE gave it.
        NEW.version := OLD.version + 1;
        NEW.changed_by := session_user;
        NEW.changed_by_kind := 'human';
        NEW.changed_by_key := NULL;
        IF NEW.change_reason IS NOT DISTINCT FROM OLD.change_reason THEN
            NEW.change_reason := NULL;
        END IF;
        IF NEW.change_details IS NOT DISTINCT FROM OLD.change_details THEN
            NEW.change_details := NULL;
        END IF;
        -- Attempts as the api functions count them, so a raw change cannot strand an event: given
        -- back to the queue, the attempt is returned (else at the last attempt it could never be
        -- claimed again); decided, its follow-up action starts its own count.
        IF OLD.status = 'processing' AND NEW.status = 'queued' THEN
            NEW.attempts := greatest(OLD.attempts - 1, 0);
        ELSIF NEW.status IN ('approved', 'rejected') THEN
            NEW.attempts := 0;
        END IF;
    END IF;
    v_problem := ledger._status_change_problem(v_allowed, v_rule.reason_required, OLD.version, NEW.version,
                                               NEW.change_reason);
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._refuse_status_change(v_problem, OLD.id, OLD.status, NEW.status, OLD.version,
                                             NEW.version, v_rule.name);
    END IF;
    IF NEW.updated_at = OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION ledger._check_status_change() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _check_status_change(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._check_status_change() IS 'Trigger: refuses a status change or note by the rules of ledger._status_change_problem (AL003, AL012, AL008), and attributes raw updates (not made through the api functions) to session_user. Owner writes that change the status and set updated_at are checked by ledger._audit_status_changes instead.';


--
-- Name: _checked_actor(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_actor(p_actor text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Who acts: the name given (an agent, a person, an API key name), else the database user.
-- The domain ledger.actor_name refuses an unreadable name (23514).
DECLARE
    v_actor ledger.actor_name := coalesce(nullif(btrim(p_actor), ''), session_user);
BEGIN
    RETURN v_actor;
END
$$;


ALTER FUNCTION ledger._checked_actor(p_actor text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_actor(p_actor text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_actor(p_actor text) IS 'The actor of a change: the given name trimmed, or session_user when none; refuses names the domain ledger.actor_name does not allow (23514).';


--
-- Name: _checked_actor_kind(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_actor_kind(p_actor_kind text) RETURNS ledger.actor_kind
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF p_actor_kind IS NULL OR p_actor_kind NOT IN ('agent', 'human', 'system') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown actor kind %s', coalesce(quote_literal(p_actor_kind), 'NULL')),
            DETAIL = 'Every change records whether an agent, a human or the system made it.',
            HINT = 'Use one of: agent, human, system.';
    END IF;
    RETURN p_actor_kind::ledger.actor_kind;
END
$$;


ALTER FUNCTION ledger._checked_actor_kind(p_actor_kind text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_actor_kind(p_actor_kind text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_actor_kind(p_actor_kind text) IS 'Turns text into an actor kind, refusing unknown ones (AL020).';


--
-- Name: _checked_claim(integer, text[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The arguments every claim shares: how many events, and which types (NULL: any).
DECLARE
    v_max integer;
BEGIN
    SELECT s.max_batch_size INTO v_max FROM ledger.settings s;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > v_max THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('a claim takes 1 to %s events, not %s', v_max, coalesce(p_limit::text, 'NULL')),
            DETAIL = 'The upper limit is ledger.settings.max_batch_size.',
            HINT = 'Claim as many events as the worker has free capacity for.';
    ELSIF cardinality(p_event_types) = 0 OR array_ndims(p_event_types) > 1
          OR array_position(p_event_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event types to claim must be NULL (any type) or a list of type names',
            DETAIL = format('The list given was %s.', p_event_types),
            HINT = 'Pass the types the worker has handlers for, or NULL for any.';
    END IF;
END
$$;


ALTER FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_claim(p_limit integer, p_event_types text[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) IS 'Refuses a claim size outside 1..max_batch_size and an empty or NULL-holding type list (AL019) and an empty or NULL-holding type list (AL021).';


--
-- Name: _checked_report(bigint[], uuid[], integer[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The common start of every report (heartbeat, decide, complete, fail, release): the arrays line
-- up, and the named events are locked in id order, so two reports naming the same events cannot
-- deadlock and what the report then reads is what it updates. p_other_lengths: the lengths of the
-- report's other arrays (NULL for one left out, which means "none for any event").
DECLARE
    v_count integer := cardinality(p_event_ids);
    v_max integer;
BEGIN
    SELECT s.max_batch_size INTO v_max FROM ledger.settings s;
    IF array_ndims(p_event_ids) > 1 OR array_ndims(p_lease_tokens) > 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event ids and lease tokens must be one-dimensional arrays',
            DETAIL = format('They have %s and %s dimensions.', array_ndims(p_event_ids), array_ndims(p_lease_tokens)),
            HINT = 'Pass a flat list: ARRAY[id1, id2, ...].';
    ELSIF p_event_ids IS NULL OR p_lease_tokens IS NULL
       OR array_position(p_event_ids, NULL) IS NOT NULL OR array_position(p_lease_tokens, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event ids and lease tokens must be arrays without NULLs',
            DETAIL = 'Each event of a report is named by its id and the token of the lease it was claimed with.',
            HINT = 'Pass the id and lease_token of each claim you report on.';
    ELSIF v_count > v_max THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL013',
            MESSAGE = format('a report of %s events is more than the %s allowed', v_count, v_max),
            DETAIL = 'The limit is ledger.settings.max_batch_size.',
            HINT = 'Report in several calls.';
    ELSIF cardinality(p_lease_tokens) <> v_count
          OR EXISTS (SELECT 1 FROM unnest(p_other_lengths) l WHERE l IS NOT NULL AND l <> v_count) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('the arrays of a report must all have one element per event (%s)', v_count),
            DETAIL = format('Lengths: %s event ids, %s lease tokens, others %s.', v_count,
                            cardinality(p_lease_tokens), p_other_lengths),
            HINT = 'Give every array the same length, or leave an optional one out.';
    ELSIF (SELECT count(DISTINCT i) FROM unnest(p_event_ids) i) <> v_count THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'an event id appears more than once in the report',
            DETAIL = format('Event ids: %s.', p_event_ids),
            HINT = 'Report each event once.';
    END IF;
    PERFORM 1 FROM ledger.events e WHERE e.id = ANY (p_event_ids) ORDER BY e.id FOR UPDATE;
END
$$;


ALTER FUNCTION ledger._checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]) IS 'Checks the arrays of a report (AL021, AL013) and locks its events in id order.';


--
-- Name: _checked_status(text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._checked_status(p_status text) RETURNS ledger.event_status
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The labels are read from the type, so a status added later (in_review) is known here too.
BEGIN
    IF p_status IS NULL OR NOT p_status = ANY (enum_range(NULL::ledger.event_status)::text[]) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown status %s', coalesce(quote_literal(p_status), 'NULL')),
            DETAIL = 'An event status is one of the labels of type ledger.event_status.',
            HINT = format('Use one of: %s.', array_to_string(enum_range(NULL::ledger.event_status), ', '));
    END IF;
    RETURN p_status::ledger.event_status;
END
$$;


ALTER FUNCTION ledger._checked_status(p_status text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _checked_status(p_status text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._checked_status(p_status text) IS 'Turns text into an event status, refusing unknown ones (AL020).';


--
-- Name: _claimable_types(ledger.acting, text[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._claimable_types(p_acting ledger.acting, p_event_types text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The types a claim reads: those asked for (NULL: any), within the key's types. A key limited to
-- types that asks for none claims its own; asking for one outside them is refused.
BEGIN
    IF p_acting.event_types IS NULL THEN
        RETURN p_event_types;
    ELSIF p_event_types IS NULL THEN
        RETURN p_acting.event_types;
    ELSIF NOT p_event_types <@ p_acting.event_types THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('key %s may not claim events of types %s', p_acting.api_key,
                             array_to_string(ARRAY(SELECT unnest(p_event_types) EXCEPT SELECT unnest(p_acting.event_types)), ', ')),
            DETAIL = format('It may claim %s.', array_to_string(p_acting.event_types, ', ')),
            HINT = 'Ask for types within the key''s scope, or for none to claim any of them.';
    END IF;
    RETURN p_event_types;
END
$$;


ALTER FUNCTION ledger._claimable_types(p_acting ledger.acting, p_event_types text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _claimable_types(p_acting ledger.acting, p_event_types text[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._claimable_types(p_acting ledger.acting, p_event_types text[]) IS 'The event types a claim by the acting principal reads: p_event_types (NULL: any) within its key''s types; 42501 for a type outside them.';


--
-- Name: _count_by_type(text[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._count_by_type(p_event_types text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN (SELECT jsonb_object_agg(t.event_type, t.n) AS jsonb_object_agg FROM (SELECT u.event_type, count(*) AS n FROM unnest(_count_by_type.p_event_types) u(event_type) GROUP BY u.event_type) t);


ALTER FUNCTION ledger._count_by_type(p_event_types text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _count_by_type(p_event_types text[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._count_by_type(p_event_types text[]) IS 'How many of each event type a list holds, as {"<type>": <count>} (NULL for none): what ledger._wake_workers and ledger._wake_action_workers announce.';


--
-- Name: _flat_length(anyarray); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._flat_length(p_values anyarray) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The number of elements of a one-dimensional array (NULL for NULL); refuses a nested one (AL021).
BEGIN
    IF array_ndims(p_values) > 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('an array of a report has %s dimensions; each must be a flat list', array_ndims(p_values)),
            DETAIL = 'Reports take one element per event in every array.',
            HINT = 'Pass a flat list: ARRAY[value1, value2, ...].';
    END IF;
    RETURN cardinality(p_values);
END
$$;


ALTER FUNCTION ledger._flat_length(p_values anyarray) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _flat_length(p_values anyarray); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._flat_length(p_values anyarray) IS 'cardinality() of a one-dimensional array; refuses nested arrays (AL021).';


--
-- Name: _in_scope(ledger.acting, text, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ((((p_acting).event_types IS NULL) OR (p_event_type = ANY ((p_acting).event_types))) AND (((p_acting).customers IS NULL) OR (p_customer_id ~~ (p_acting).customers)));


ALTER FUNCTION ledger._in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) IS 'Whether an event of p_event_type for p_customer_id lies within the scope of the acting key (types and a LIKE pattern of customers; NULL: no limit).';


--
-- Name: _may_read(ledger.acting, ledger.events); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._may_read(p_reader ledger.acting, p_event ledger.events) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN ((p_reader IS NULL) OR ((p_reader).principal IS NULL) OR ((p_reader).key_role = 'auditor'::text) OR (ledger._in_scope(p_reader, (p_event).customer_id, (p_event).event_type) AND (((p_reader).key_role <> 'submitter'::text) OR ((p_event).submitted_by = (p_reader).principal))));


ALTER FUNCTION ledger._may_read(p_reader ledger.acting, p_event ledger.events) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _may_read(p_reader ledger.acting, p_event ledger.events); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._may_read(p_reader ledger.acting, p_event ledger.events) IS 'Whether the reader (ledger._reader: NULL for a login) may read the event: auditors all, other keys within their scope, submitters only their principal''s submissions.';


--
-- Name: _pick_for_claim(text, text[], integer, timestamp with time zone); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone) RETURNS bigint[]
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
-- The ids a claim takes from p_queue ('events': queued and claimable; 'actions': decided, action
-- pending), at most p_limit, in claim order (highest priority, then oldest), locked FOR UPDATE SKIP
-- LOCKED so concurrent claims take different ones. Given types, each type's queue is read on its
-- own, through its by-type index, and the results merged: no other type's backlog is read. Each
-- read is planned for its own type (EXECUTE), so the plan follows that type's statistics; a plan
-- made for "some type" may walk the whole queue filtering by type. With several types, up to
-- p_limit events of each are locked; those not taken are free again when the claim commits.
DECLARE
    v_claimable text := CASE p_queue
        WHEN 'events' THEN $c$e.status = 'queued' AND (e.ordered IS NOT TRUE OR e.first_in_line)$c$
        WHEN 'actions' THEN $c$e.status IN ('approved', 'rejected') AND e.lease_token IS NULL$c$ END;
    v_pick text := format($q$SELECT ARRAY(SELECT e.id FROM ledger.events e
                              WHERE %s AND e.run_after <= $1 AND e.attempts < e.max_attempts %s
                              ORDER BY e.priority DESC, e.id LIMIT $2 FOR UPDATE SKIP LOCKED)$q$,
                          v_claimable, CASE WHEN p_event_types IS NOT NULL THEN 'AND e.event_type = $3' ELSE '' END);
    v_types text[] := ARRAY(SELECT DISTINCT u.t FROM unnest(p_event_types) u (t));
    v_type text;
    v_ids bigint[];
    v_found bigint[] := '{}';
BEGIN
    IF p_event_types IS NULL THEN
        EXECUTE v_pick INTO v_found USING p_now, p_limit;
        RETURN v_found;
    END IF;
    FOREACH v_type IN ARRAY v_types LOOP
        EXECUTE v_pick INTO v_ids USING p_now, p_limit, v_type;
        v_found := v_found || v_ids;
    END LOOP;
    IF cardinality(v_types) = 1 THEN
        RETURN v_found;
    END IF;
    RETURN ARRAY(SELECT e.id FROM ledger.events e WHERE e.id = ANY (v_found)
                  ORDER BY e.priority DESC, e.id LIMIT p_limit);
END
$_$;


ALTER FUNCTION ledger._pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone) IS 'The ids of the events a claim takes (p_queue events or actions), in claim order, locked FOR UPDATE SKIP LOCKED; each named type''s queue read on its own through its by-type index.';


--
-- Name: _reader(text, text, bigint, jsonb); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._reader(p_key text, p_action text, p_event_id bigint, p_details jsonb) RETURNS ledger.acting
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Who reads, for the read functions: the principal of p_key (any role), or NULL for a login reading
-- directly, whose grants already decide what it may read. A read by an auditor (an auditor key, or
-- a login in agentledger_auditor) is recorded in ledger.access_log.
DECLARE
    v_reader ledger.acting;
BEGIN
    IF p_key IS NOT NULL THEN
        v_reader := ledger._acting(p_key, '{submitter,worker,reviewer,auditor}');
    END IF;
    IF v_reader.key_role = 'auditor'
       OR p_key IS NULL AND pg_has_role(session_user, 'agentledger_auditor', 'MEMBER')
                        AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        INSERT INTO ledger.access_log (principal, api_key, action, event_id, details)
        VALUES (coalesce(v_reader.principal,
                         (SELECT p.name FROM ledger.principal_logins l JOIN ledger.principals p ON p.id = l.principal_id
                           WHERE l.login = session_user)),
                v_reader.api_key, p_action, p_event_id, p_details);
    END IF;
    RETURN v_reader;
END
$$;


ALTER FUNCTION ledger._reader(p_key text, p_action text, p_event_id bigint, p_details jsonb) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _reader(p_key text, p_action text, p_event_id bigint, p_details jsonb); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._reader(p_key text, p_action text, p_event_id bigint, p_details jsonb) IS 'The principal of the API key p_key reading (28000 for an invalid key), NULL for a login; records the read in ledger.access_log when an auditor reads.';


--
-- Name: _refuse_audit_change(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_audit_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL011',
        MESSAGE = format('%s on %s refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME),
        DETAIL = 'Audit rows and seals are never updated, deleted or truncated, by any role.',
        HINT = 'Record a correction as a new status change; it gets its own audit row.';
END
$$;


ALTER FUNCTION ledger._refuse_audit_change() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_audit_change(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_audit_change() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE on the audit trail and its seals (SQLSTATE AL011).';


--
-- Name: _refuse_bad_outcome_inputs(text[], jsonb[], integer, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The same limits api.transition_event applies to one event, for the arrays of a report.
BEGIN
    PERFORM p_reasons::ledger.reason[];  -- the domain refuses one that is too long (23514)
    IF EXISTS (SELECT 1 FROM unnest(p_objects) o WHERE jsonb_typeof(o) <> 'object') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('each %s must be a JSON object or NULL', p_what),
            DETAIL = format('One is a %s.', (SELECT jsonb_typeof(o) FROM unnest(p_objects) o
                                              WHERE jsonb_typeof(o) <> 'object' LIMIT 1)),
            HINT = 'e.g. {"score": 0.93}.';
    ELSIF EXISTS (SELECT 1 FROM unnest(p_objects) o WHERE octet_length(o::text) > p_max_bytes) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('a %s larger than the limit of %s bytes', p_what, p_max_bytes),
            DETAIL = 'It is kept forever in the audit trail; the limit is ledger.settings.max_payload_bytes.',
            HINT = 'Store large evidence elsewhere and put a reference in it.';
    END IF;
END
$$;


ALTER FUNCTION ledger._refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text) IS 'Refuses reasons the domain ledger.reason does not allow (23514), results or details that are not objects (AL021) or over max_payload_bytes (AL005).';


--
-- Name: _refuse_event_delete(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_event_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL012',
        MESSAGE = format('%s on ledger.events refused: events are never removed', TG_OP),
        DETAIL = 'An event and its audit trail are kept together; a missing event would hide its decisions.',
        HINT = 'Cancel a queued event (api.cancel_event) or fail a held one instead.';
END
$$;


ALTER FUNCTION ledger._refuse_event_delete() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_event_delete(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_event_delete() IS 'Trigger: refuses DELETE and TRUNCATE on ledger.events (SQLSTATE AL012).';


--
-- Name: _refuse_foreign_lease(ledger.events, uuid, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The fence of api.transition_event, the rule the worker protocol's reports follow too: only the
-- principal holding an event's lease reports on it, and a lease taken through the worker protocol
-- (fenced) also needs its token: a restarted worker of the same principal must not act under the
-- lease of its previous life. An event in processing, or decided with its action pending, that
-- holds no lease must be claimed first.
BEGIN
    IF p_lease_token IS NOT NULL AND p_lease_token IS DISTINCT FROM p_event.lease_token THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s: the lease token presented is not its current lease', p_event.id),
            DETAIL = CASE WHEN p_event.lease_token IS NULL THEN 'The event holds no lease now.'
                          ELSE format('It is held by %s until %s.', p_event.lease_owner, p_event.lease_expires_at) END,
            HINT = 'The lease ended (it expired and was rescued, or was reported); read the event again before acting.';
    ELSIF p_event.status NOT IN ('processing', 'approved', 'rejected') THEN
        RETURN;  -- a claim or an operator step: no lease to hold
    ELSIF p_event.lease_token IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s holds no lease: claim it before reporting on it', p_event.id),
            DETAIL = 'Only the principal holding an event''s lease reports its outcome.',
            HINT = 'Claim its action (api.claim_actions, POST /actions/claim), then report with the lease token.';
    ELSIF p_event.lease_owner IS DISTINCT FROM p_principal THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s is held by %s until %s', p_event.id, p_event.lease_owner, p_event.lease_expires_at),
            DETAIL = format('%s does not hold its lease; only the holder reports on it.', p_principal),
            HINT = 'Act once the lease has ended (api.rescue_expired_leases frees expired leases) and you have claimed it.';
    ELSIF p_lease_token IS NULL AND p_event.lease_fenced THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL009',
            MESSAGE = format('event %s: its lease was taken through the worker protocol; pass its lease token', p_event.id),
            DETAIL = format('It is held by %s until %s.', p_event.lease_owner, p_event.lease_expires_at),
            HINT = 'Pass the token of the lease you hold; read the event again if the lease may have ended.';
    END IF;
END
$$;


ALTER FUNCTION ledger._refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text) IS 'Refuses (AL009) a presented token that is not the event''s current lease, and a transition of an event in processing, approved or rejected unless p_principal holds its lease, with its token when the lease is fenced.';


--
-- Name: _refuse_out_of_scope(ledger.acting, text, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- A key limited to event types or to customers acts only inside them (ledger.api_keys).
BEGIN
    IF NOT ledger._in_scope(p_acting, p_customer_id, p_event_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('key %s may not act on %s events of customer %s', p_acting.api_key,
                             p_event_type, p_customer_id),
            DETAIL = format('Its scope: event types %s, customers %s.',
                            coalesce(array_to_string(p_acting.event_types, ', '), 'all'),
                            coalesce(p_acting.customers, 'all')),
            HINT = 'Use a key whose scope covers it.';
    END IF;
END
$$;


ALTER FUNCTION ledger._refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) IS 'Refuses (42501) an event of a type or customer outside the scope of the acting key.';


--
-- Name: _refuse_status_change(text, bigint, ledger.event_status, ledger.event_status, integer, integer, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The one refusal of both status triggers, for a problem named by ledger._status_change_problem.
BEGIN
    CASE p_problem
    WHEN 'transition' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot go from %s to %s', p_event_id, p_from, p_to),
            DETAIL = 'The allowed status changes are the rows of ledger.transitions.',
            HINT = ledger._transition_hint(p_event_id, p_from);
    WHEN 'version' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: version must go from %s to %s with this status change',
                             p_event_id, p_old_version, p_old_version + 1),
            DETAIL = format('The UPDATE set version to %s.', p_new_version),
            HINT = 'Set version = version + 1 with each status change.';
    WHEN 'reason' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = format('event %s: moving from %s to %s (%s) needs a reason', p_event_id, p_from, p_to, p_step),
            DETAIL = 'No reason was given, or it was blank.',
            HINT = 'Pass a reason saying why; it is kept in the audit trail.';
    END CASE;
END
$$;


ALTER FUNCTION ledger._refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text) IS 'Raises the refusal of a status change for a problem of ledger._status_change_problem: AL003 (transition), AL012 (version), AL008 (reason).';


--
-- Name: _refuse_submission(text, bigint, integer, text, text, jsonb, integer, bigint); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Raises the error for the first invalid item of a submit; p_problem names the field at fault.
DECLARE
    v_where text := format('Event %s of %s in the request; nothing was submitted.', p_ord, p_count);
BEGIN
    CASE p_problem
    WHEN 'customer_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL006',
            MESSAGE = format('customer_id %s is not valid', coalesce(quote_literal(left(p_customer_id, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = 'customer_id must be 1 to 64 characters without control characters.';
    WHEN 'event_type' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', coalesce(quote_literal(left(p_event_type, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = (SELECT 'Registered types: ' || string_agg(name, ', ' ORDER BY name)
                           || '. A DBA adds one with INSERT INTO ledger.event_types.'
                      FROM ledger.event_types);
    WHEN 'payload' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL007',
            MESSAGE = format('payload must be a JSON object, not %s', coalesce(jsonb_typeof(p_payload), 'missing')),
            DETAIL = v_where,
            HINT = 'Wrap the value in an object, e.g. {"text": ...}.';
    WHEN 'priority' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('priority %s is out of range', p_priority),
            DETAIL = v_where,
            HINT = 'priority is an integer from -32768 to 32767; higher runs first.';
    WHEN 'idempotency_key' THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'idempotency_key_valid',
            MESSAGE = 'idempotency_key must be 1 to 255 characters without control characters',
            DETAIL = v_where,
            HINT = 'Use a UUID or another unique string chosen by the client.';
    WHEN 'run_after' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = 'run_after must be a finite time',
            DETAIL = v_where,
            HINT = 'Leave run_after out to run at once, or give a date and time.';
    WHEN 'caused_by_event_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL001',
            MESSAGE = format('caused_by_event_id %s names no event', p_caused_by_event_id),
            DETAIL = v_where,
            HINT = 'Point caused_by_event_id at the event whose handling submitted this one, or leave it out.';
    END CASE;
END
$$;


ALTER FUNCTION ledger._refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint) IS 'Raises the SQLSTATE and message for an invalid submit item (AL001, AL002, AL006, AL007, AL019, 23514).';


--
-- Name: _refuse_type_removal(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_type_removal() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;  -- description and max_attempts may change
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'AL012',
        MESSAGE = format('%s of a registered event type refused: types are never removed or renamed', TG_OP),
        DETAIL = 'Existing events and their audit trails name their type.',
        HINT = 'Register a new type with INSERT INTO ledger.event_types and stop submitting the old one.';
END
$$;


ALTER FUNCTION ledger._refuse_type_removal() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_type_removal(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_type_removal() IS 'Trigger: refuses deleting, truncating or renaming a registered event type (SQLSTATE AL012).';


--
-- Name: _refuse_unknown_event(bigint); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_unknown_event(p_event_id bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL001',
        MESSAGE = format('event %s does not exist', coalesce(p_event_id::text, 'NULL')),
        DETAIL = 'No event has this id.',
        HINT = 'Check the id; api.list_events shows existing events.';
END
$$;


ALTER FUNCTION ledger._refuse_unknown_event(p_event_id bigint) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_unknown_event(p_event_id bigint); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_unknown_event(p_event_id bigint) IS 'Raises AL001: no event has this id.';


--
-- Name: _refuse_unreadable_event(ledger.acting, bigint); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- A key reads an event's trail only if it may read the event; one it may not read answers as one
-- that does not exist (AL001). Logins read by their grants.
BEGIN
    IF p_reader.principal IS NOT NULL AND p_reader.key_role <> 'auditor'
       AND NOT coalesce((SELECT ledger._may_read(p_reader, e) FROM ledger.events e WHERE e.id = p_event_id), true) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;


ALTER FUNCTION ledger._refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint) IS 'Raises AL001 when the reading key may not read the event (ledger._may_read), as if it did not exist.';


--
-- Name: _refuse_write_once_change(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._refuse_write_once_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF (NEW.id, NEW.customer_id, NEW.event_type, NEW.idempotency_key, NEW.correlation_id,
        NEW.caused_by_event_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.customer_id, OLD.event_type, OLD.idempotency_key, OLD.correlation_id,
        OLD.caused_by_event_id, OLD.created_at)
       OR NEW.payload IS DISTINCT FROM OLD.payload THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: what was submitted cannot be changed', OLD.id),
            DETAIL = 'id, customer_id, event_type, payload, idempotency_key, correlation_id, caused_by_event_id and created_at are write-once.',
            HINT = 'Submit a new event (caused_by_event_id can point to this one) instead.';
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION ledger._refuse_write_once_change() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _refuse_write_once_change(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._refuse_write_once_change() IS 'Trigger: refuses changes to what was submitted (AL012); fires only when an UPDATE names one of those columns.';


--
-- Name: _report_digest(jsonb); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._report_digest(p_content jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN sha256(convert_to((p_content)::text, 'UTF8'::name));


ALTER FUNCTION ledger._report_digest(p_content jsonb) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _report_digest(p_content jsonb); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._report_digest(p_content jsonb) IS 'sha256 of what a report says about one event (its decision, error, details ...): a repeat of the same report has the same digest.';


--
-- Name: _report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text) RETURNS SETOF api.report
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    BEGIN ATOMIC
 SELECT o.id,
         CASE
             WHEN o.done THEN 'done'::text
             WHEN o.repeat THEN 'already_done'::text
             ELSE 'refused'::text
         END AS "case",
     o.status,
         CASE
             WHEN (o.done OR o.repeat) THEN NULL::text
             WHEN o.missing THEN 'AL001'::text
             WHEN o."foreign" THEN 'AL009'::text
             WHEN (o.same_report_step OR o.holder) THEN 'AL003'::text
             ELSE 'AL009'::text
         END AS "case",
         CASE
             WHEN (o.done OR o.repeat) THEN NULL::text
             WHEN o.missing THEN format('no event has id %s'::text, o.id)
             WHEN o."foreign" THEN format('event %s: this lease is held by %s, not by %s'::text, o.id, o.lease_owner, _report_outcomes.p_principal)
             WHEN o.same_report_step THEN format('event %s: another %s was already reported with this lease token; it is %s'::text, o.id, _report_outcomes.p_step, o.status)
             WHEN o.holder THEN format('event %s is %s; %s applies to %s events'::text, o.id, o.status, _report_outcomes.p_step, _report_outcomes.p_from)
             WHEN (o.lease_token IS NULL) THEN format('event %s: this lease has ended; the event holds no lease now'::text, o.id)
             ELSE format('event %s: this lease has ended; it is held under another lease until %s'::text, o.id, o.lease_expires_at)
         END AS format,
         CASE
             WHEN o.holder THEN o.lease_expires_at
             ELSE NULL::timestamp with time zone
         END AS "case",
         CASE
             WHEN ((o.status = 'queued'::ledger.event_status) OR ((o.status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])) AND (o.lease_token IS NULL))) THEN o.run_after
             ELSE NULL::timestamp with time zone
         END AS "case"
    FROM ( SELECT i.id,
             i.n,
             e.status,
             e.lease_token,
             e.lease_expires_at,
             e.run_after,
             e.lease_owner,
             (d.id IS NOT NULL) AS done,
             (e.id IS NULL) AS missing,
             COALESCE(((e.lease_token = i.token) AND (e.lease_owner IS DISTINCT FROM _report_outcomes.p_principal)), false) AS "foreign",
             COALESCE((e.lease_token = i.token), false) AS holder,
             COALESCE(((e.last_lease_token = i.token) AND (e.last_report = _report_outcomes.p_step) AND ((e.lease_token IS NULL) OR (e.lease_token = i.token))), false) AS same_report_step,
             COALESCE(((e.last_lease_token = i.token) AND (e.last_report = _report_outcomes.p_step) AND ((e.lease_token IS NULL) OR (e.lease_token = i.token)) AND (e.last_report_digest = i.digest)), false) AS repeat
            FROM ((UNNEST(_report_outcomes.p_event_ids, _report_outcomes.p_lease_tokens, _report_outcomes.p_digests) WITH ORDINALITY i(id, token, digest, n)
              LEFT JOIN ledger.events e ON (((e.id = i.id) AND (e.id = ANY (_report_outcomes.p_event_ids)))))
              LEFT JOIN ( SELECT DISTINCT x.id
                    FROM unnest(_report_outcomes.p_done) x(id)) d ON ((d.id = i.id)))) o
   ORDER BY o.n;
END;


ALTER FUNCTION ledger._report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text) IS 'The answer of a report by principal p_principal, one api.report per event named: done, already_done (the same report, by step, token and content, applied before, and no lease taken since), or refused with AL001, AL003 or AL009 (also for a token held by another principal).';


--
-- Name: _require_status(bigint, ledger.event_status, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Locks the event and refuses unless it is in p_status: for steps that are one transition only.
DECLARE
    v_status ledger.event_status;
BEGIN
    SELECT e.status INTO v_status FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    ELSIF v_status <> p_status THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is %s; only %s events can be %s', p_event_id, v_status, p_status, p_verb),
            DETAIL = 'This step is a single transition of the lifecycle.',
            HINT = ledger._transition_hint(p_event_id, v_status);
    END IF;
END
$$;


ALTER FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _require_status(p_event_id bigint, p_status ledger.event_status, p_verb text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text) IS 'Locks an event and refuses (AL001, AL003) unless it has the given status.';


--
-- Name: settings; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.settings (
    singleton boolean DEFAULT true NOT NULL,
    max_payload_bytes integer DEFAULT 1048576 NOT NULL,
    max_batch_size integer DEFAULT 1000 NOT NULL,
    lease_duration interval DEFAULT '00:00:30'::interval NOT NULL,
    notify_throttle interval DEFAULT '00:00:00.05'::interval NOT NULL,
    retry_base_delay interval DEFAULT '00:00:02'::interval NOT NULL,
    retry_max_delay interval DEFAULT '01:00:00'::interval NOT NULL,
    free_releases integer DEFAULT 3 NOT NULL,
    CONSTRAINT settings_free_releases_range CHECK (((free_releases >= 0) AND (free_releases <= 1000))),
    CONSTRAINT settings_lease_duration_positive CHECK ((lease_duration > '00:00:00'::interval)),
    CONSTRAINT settings_max_batch_size_range CHECK (((max_batch_size >= 1) AND (max_batch_size <= 100000))),
    CONSTRAINT settings_max_payload_bytes_range CHECK (((max_payload_bytes >= 2) AND (max_payload_bytes <= 268435456))),
    CONSTRAINT settings_notify_throttle_range CHECK (((notify_throttle >= '00:00:00'::interval) AND (notify_throttle <= '00:01:00'::interval))),
    CONSTRAINT settings_retry_base_delay_range CHECK (((retry_base_delay >= '00:00:00'::interval) AND (retry_base_delay <= '1 day'::interval))),
    CONSTRAINT settings_retry_max_delay_range CHECK (((retry_max_delay >= '00:00:00'::interval) AND (retry_max_delay <= '30 days'::interval))),
    CONSTRAINT settings_single_row CHECK (singleton)
);


ALTER TABLE ledger.settings OWNER TO agentledger_owner;

--
-- Name: TABLE settings; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.settings IS 'agentledger settings: exactly one row; change a value with UPDATE ledger.settings SET ...';


--
-- Name: COLUMN settings.singleton; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.singleton IS 'Always true: keeps the table at one row.';


--
-- Name: COLUMN settings.max_payload_bytes; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.max_payload_bytes IS 'Largest payload accepted, measured as its JSON text in bytes (default 1 MiB).';


--
-- Name: COLUMN settings.max_batch_size; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.max_batch_size IS 'Most events one batch submit may carry (default 1,000).';


--
-- Name: COLUMN settings.lease_duration; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.lease_duration IS 'How long a claim holds an event before it may be rescued, unless renewed (default 30 s).';


--
-- Name: COLUMN settings.notify_throttle; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.notify_throttle IS 'At most one wake-up NOTIFY per event type in this interval (default 50 ms); 0 notifies on every submit. Workers also poll, so a skipped NOTIFY only delays.';


--
-- Name: COLUMN settings.retry_base_delay; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.retry_base_delay IS 'Back-off before the first retry of a failed attempt (default 2 s); each further attempt doubles it.';


--
-- Name: COLUMN settings.retry_max_delay; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.retry_max_delay IS 'Longest back-off between retries (default 1 hour).';


--
-- Name: COLUMN settings.free_releases; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.settings.free_releases IS 'How many releases of one event give its attempt back; each release after these counts as an attempt.';


--
-- Name: _retry_delay(integer); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._retry_delay(p_attempts integer) RETURNS interval
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN (SELECT make_interval(secs => (LEAST((EXTRACT(epoch FROM s.retry_base_delay) * power((2)::numeric, (LEAST(GREATEST((_retry_delay.p_attempts - 1), 0), 60))::numeric)), EXTRACT(epoch FROM s.retry_max_delay)))::double precision) AS make_interval FROM ledger.settings s);


ALTER FUNCTION ledger._retry_delay(p_attempts integer) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _retry_delay(p_attempts integer); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._retry_delay(p_attempts integer) IS 'Back-off before the next try after attempt p_attempts failed: retry_base_delay * 2^(p_attempts - 1), at most retry_max_delay.';


--
-- Name: _route_to_review(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._route_to_review() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- BEFORE UPDATE OF status, for a decision (processing -> approved/rejected), whoever makes it: when
-- the event's review policy holds, the decision becomes a proposal and the event waits for people
-- (in_review), without a lease. Fires before _100_check_status_change, which then checks the move
-- processing -> in_review like any other.
DECLARE
    v_policy ledger.review_policies;
    v_confidence numeric;
    v_value numeric;
    v_why text;
BEGIN
    SELECT * INTO v_policy FROM ledger.review_policies p WHERE p.event_type = NEW.event_type;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF jsonb_typeof(NEW.result -> 'confidence') = 'number' THEN
        v_confidence := (NEW.result ->> 'confidence')::numeric;
    END IF;
    IF jsonb_typeof(NEW.payload -> v_policy.payload_field) = 'number' THEN
        v_value := (NEW.payload ->> v_policy.payload_field)::numeric;
    END IF;
    v_why := CASE
        WHEN v_policy.always_review THEN 'every decision of this type is reviewed'
        WHEN v_value > v_policy.payload_above THEN
            format('%s %s is above %s', v_policy.payload_field, v_value, v_policy.payload_above)
        -- Fail closed: a threshold that cannot be read (a missing field, a string) is reviewed.
        WHEN v_policy.payload_field IS NOT NULL AND v_value IS NULL THEN
            format('%s is %s, not a number; above %s is reviewed', v_policy.payload_field,
                   coalesce(jsonb_typeof(NEW.payload -> v_policy.payload_field), 'missing'), v_policy.payload_above)
        WHEN v_policy.confidence_below IS NOT NULL AND v_confidence IS NULL THEN
            format('no confidence given; below %s is reviewed', v_policy.confidence_below)
        WHEN v_confidence < v_policy.confidence_below THEN
            format('confidence %s is below %s', v_confidence, v_policy.confidence_below)
    END;
    IF v_why IS NULL THEN
        RETURN NEW;
    END IF;
    NEW.proposed_status := NEW.status;
    -- The proposer as the audit trail will name them: a raw UPDATE is its database user's.
    NEW.proposed_by := CASE WHEN current_user = 'agentledger_owner' THEN NEW.changed_by ELSE session_user END;
    NEW.status := 'in_review';
    NEW.approvals_required := v_policy.approvals_required;
    NEW.approved_by := '{}';
    NEW.review_started_at := NEW.updated_at;
    NEW.review_breached_at := NULL;  -- a new review has its own deadline
    -- People hold no lease; the follow-up action starts its own count once reviewers decide.
    NEW.lease_owner := NULL;
    NEW.lease_token := NULL;
    NEW.lease_expires_at := NULL;
    NEW.lease_fenced := false;
    NEW.attempts := 0;
    NEW.change_details := coalesce(NEW.change_details, '{}'::jsonb)
        || jsonb_build_object('proposal', NEW.proposed_status, 'review_because', v_why,
                              'approvals_required', v_policy.approvals_required);
    RETURN NEW;
END
$$;


ALTER FUNCTION ledger._route_to_review() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _route_to_review(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._route_to_review() IS 'Trigger: a decision whose event type''s review policy holds (or whose threshold field is missing or not a number) becomes a proposal: the event goes to in_review (no lease) with the proposal, its proposer and the approvals it needs.';


--
-- Name: _set_ordered(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._set_ordered() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- BEFORE INSERT: an event of a type ordered per customer is ordered for good, whatever the row says.
BEGIN
    NEW.ordered := coalesce((SELECT t.ordered_per_customer FROM ledger.event_types t WHERE t.name = NEW.event_type), false);
    NEW.order_released_at := NULL;
    RETURN NEW;
END
$$;


ALTER FUNCTION ledger._set_ordered() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _set_ordered(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._set_ordered() IS 'Trigger: marks an event ordered when its type is ordered per customer (ledger.event_types.ordered_per_customer).';


--
-- Name: _settle_lines(text[]); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._settle_lines(p_customers text[]) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- Gives each of these customers' lines a first event when it has none: the earliest open ordered
-- event (not completed, not released) becomes first_in_line, the only one of its customer that
-- claims may take. Returns how many of those are runnable now, by type ({"<type>": n}), for the
-- wake-up.
DECLARE
    v_woken jsonb := '{}'::jsonb;
    v_round jsonb;
    v_skipped bigint;
BEGIN
    -- Lines are taken in one sorted pass, so two transactions settling lines never wait for each
    -- other in a cycle. Each one's version moves, so a transaction whose snapshot is older than the
    -- last settlement (REPEATABLE READ) fails to serialize instead of settling from a stale view.
    INSERT INTO ledger.order_lines AS l (customer_id)
    SELECT c FROM unnest(p_customers) c ORDER BY c
    ON CONFLICT (customer_id) DO UPDATE SET version = l.version + 1, settled_at = now();
    -- Every statement below sees what the line's earlier holders committed. An event picked as first
    -- may be changed by another transaction before this one takes it (an operator cancels it): the
    -- UPDATE then skips it, and the next round picks again. Lines that have a first event, the
    -- common case, cost one probe of the unique index each; the rest one more, of the open events.
    LOOP
        WITH headless AS (
            SELECT c.customer_id FROM unnest(p_customers) c (customer_id)
             WHERE NOT EXISTS (
                   SELECT 1 FROM ledger.events h
                    WHERE h.customer_id = c.customer_id AND h.first_in_line AND h.status <> 'completed'
                      AND h.order_released_at IS NULL)
        ), first AS (
            SELECT f.customer_id, f.id
              FROM headless c
             CROSS JOIN LATERAL (
                   SELECT o.customer_id, o.id FROM ledger.events o
                    WHERE o.customer_id = c.customer_id AND o.ordered AND o.status <> 'completed'
                      AND o.order_released_at IS NULL
                    ORDER BY o.id LIMIT 1) f
        ), promoted AS (
            UPDATE ledger.events e SET first_in_line = true
              FROM first f
             WHERE e.customer_id = f.customer_id AND e.id = f.id
               AND e.status <> 'completed' AND e.order_released_at IS NULL
            RETURNING e.event_type, e.status, e.run_after
        )
        SELECT (SELECT count(*) FROM first) - (SELECT count(*) FROM promoted),
               (SELECT jsonb_object_agg(q.event_type, q.n)
                  FROM (SELECT p.event_type, count(*) AS n FROM promoted p
                         WHERE p.status = 'queued' AND p.run_after <= now() GROUP BY p.event_type) q)
          INTO v_skipped, v_round;
        v_woken := v_woken || coalesce(v_round, '{}'::jsonb);
        EXIT WHEN v_skipped = 0;
    END LOOP;
    RETURN v_woken;
END
$$;


ALTER FUNCTION ledger._settle_lines(p_customers text[]) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _settle_lines(p_customers text[]); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._settle_lines(p_customers text[]) IS 'Takes the order lines of these customers (sorted) and makes the earliest open ordered event of each line without one first_in_line; returns the runnable ones by type.';


--
-- Name: _settle_lines_after_write(); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._settle_lines_after_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- AFTER INSERT or UPDATE ... FOR EACH STATEMENT. The lines to settle: after an INSERT, those of the
-- new ordered events; after an UPDATE, those whose first event left (completed, or released by an
-- operator) and those an event re-joined (first_in_line NULL, set by ledger._check_line_change). Every
-- other write, the common case, costs one pass over the statement's rows.
DECLARE
    v_customers text[];
    v_woken jsonb;
BEGIN
    SELECT array_agg(DISTINCT n.customer_id ORDER BY n.customer_id) INTO v_customers
      FROM new_events n
     WHERE n.ordered
       AND (TG_OP = 'INSERT' OR n.first_in_line IS NULL
            OR n.first_in_line AND (n.status = 'completed' OR n.order_released_at IS NOT NULL));
    IF v_customers IS NULL THEN
        RETURN NULL;
    END IF;
    v_woken := ledger._settle_lines(v_customers);
    IF TG_OP = 'UPDATE' THEN
        -- Re-joined events that did not become first wait like the others.
        UPDATE ledger.events e SET first_in_line = false
          FROM new_events n
         WHERE n.ordered AND n.first_in_line IS NULL
           AND e.customer_id = n.customer_id AND e.id = n.id AND e.first_in_line IS NULL;
        -- A customer's next event may be claimed now. (New events are announced by their submit.)
        PERFORM ledger._wake_workers(v_woken);
    END IF;
    RETURN NULL;
END
$$;


ALTER FUNCTION ledger._settle_lines_after_write() OWNER TO agentledger_owner;

--
-- Name: FUNCTION _settle_lines_after_write(); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._settle_lines_after_write() IS 'Trigger: after a statement that adds ordered events, finishes a customer''s first one or re-queues a released one, settles those customers'' order lines (ledger._settle_lines).';


--
-- Name: _status_change_problem(boolean, boolean, integer, integer, text); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN CASE WHEN (NOT p_allowed) THEN 'transition'::text WHEN (p_new_version IS DISTINCT FROM (p_old_version + 1)) THEN 'version'::text WHEN (p_reason_required AND (COALESCE(btrim(p_reason), ''::text) = ''::text)) THEN 'reason'::text ELSE NULL::text END;


ALTER FUNCTION ledger._status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text) IS 'What is wrong with a status change: transition (not in ledger.transitions), version (not moved by one), reason (required and missing), or NULL.';


--
-- Name: _submission_problem(text, boolean, jsonb, integer, text, timestamp with time zone); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN CASE WHEN (NOT COALESCE(ledger._is_customer_id(p_customer_id), false)) THEN 'customer_id'::text WHEN (NOT p_type_known) THEN 'event_type'::text WHEN ((p_payload IS NULL) OR (jsonb_typeof(p_payload) <> 'object'::text)) THEN 'payload'::text WHEN ((p_priority IS NOT NULL) AND ((p_priority < '-32768'::integer) OR (p_priority > 32767))) THEN 'priority'::text WHEN (NOT ledger._is_idempotency_key(p_idempotency_key)) THEN 'idempotency_key'::text WHEN (NOT isfinite(p_run_after)) THEN 'run_after'::text ELSE NULL::text END;


ALTER FUNCTION ledger._submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone) IS 'Which field of a submitted event is invalid (customer_id, event_type, payload, priority, idempotency_key, run_after), or NULL.';


--
-- Name: _transition_event(bigint, text, ledger.acting, text, jsonb, jsonb, timestamp with time zone, text, uuid); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid DEFAULT NULL::uuid) RETURNS api.event
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- The one implementation of a status change by a principal (p_acting, as ledger._acting found it;
-- it must hold the lease of an event it reports on). p_operator_step names the operator step
-- the caller is ('requeue', 'cancel'), or is NULL: those two moves are only made through the
-- operator functions. p_lease_token, when given, must be the event's current lease token.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_to ledger.event_status := ledger._checked_status(p_status);
    v_event ledger.events;
    v_details jsonb := p_details;
    v_lease_token uuid;
    v_lease_owner text;
    v_lease_expires_at timestamptz;
    v_step text;
    v_max_bytes integer;
BEGIN
    IF p_details IS NOT NULL OR p_result IS NOT NULL THEN
        SELECT s.max_payload_bytes INTO v_max_bytes FROM ledger.settings s;
    END IF;
    PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
    IF octet_length(p_details::text) > v_max_bytes OR octet_length(p_result::text) > v_max_bytes THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('result or details larger than the limit of %s bytes', v_max_bytes),
            DETAIL = 'They are kept forever in the audit trail; the limit is ledger.settings.max_payload_bytes.',
            HINT = 'Store large evidence elsewhere and put a reference in details.';
    END IF;
    IF p_details IS NOT NULL AND jsonb_typeof(p_details) <> 'object'
       OR p_result IS NOT NULL AND jsonb_typeof(p_result) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'result and details must be JSON objects',
            DETAIL = format('result is %s, details is %s.', coalesce(jsonb_typeof(p_result), 'absent'),
                            coalesce(jsonb_typeof(p_details), 'absent')),
            HINT = 'e.g. result {"score": 0.93}, details {"model": "risk-v4", "confidence": 0.93}.';
    END IF;

    -- Lock first, so "no such event" and "wrong status" are told apart and the update cannot race.
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    PERFORM ledger._refuse_out_of_scope(p_acting, v_event.customer_id, v_event.event_type);
    IF v_event.status = v_to THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is already %s', p_event_id, v_to),
            DETAIL = 'A transition must change the status.',
            HINT = ledger._transition_hint(p_event_id, v_event.status);
    END IF;
    SELECT t.name INTO v_step FROM ledger.transitions t
     WHERE t.from_status = v_event.status AND t.to_status = v_to;
    IF v_step IN ('requeue', 'cancel') AND v_step IS DISTINCT FROM p_operator_step THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s: %s to %s is an operator step (%s)', p_event_id, v_event.status, v_to, v_step),
            DETAIL = 'Re-queueing a failed event and cancelling a queued one are decisions for operators.',
            HINT = format('Use api.%s_event, which the API role may call.', v_step);
    ELSIF v_step IN ('propose', 'review') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s: %s to %s is a review step', p_event_id, v_event.status, v_to),
            DETAIL = 'A decision goes to review by its type''s review policy, and leaves it by reviewers'' verdicts.',
            HINT = CASE WHEN v_step = 'propose' THEN 'Decide approved or rejected; the policy decides whether people review it.'
                        ELSE 'Use api.review_event (POST /events/{id}/reviews).' END;
    END IF;
    IF v_step IS NOT NULL THEN
        -- A move the lifecycle allows; whether this caller may make it depends on who holds the lease.
        PERFORM ledger._refuse_foreign_lease(v_event, p_lease_token, p_acting.principal);
    END IF;
    IF v_to = 'processing' AND v_event.run_after > v_now THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s may not be claimed before %s', p_event_id, v_event.run_after),
            DETAIL = 'Its run_after (a schedule or a retry back-off) has not passed.',
            HINT = 'Claim it after run_after.';
    END IF;
    IF v_to = 'processing' AND v_event.ordered IS TRUE AND v_event.first_in_line IS NOT TRUE THEN
        -- The claim functions take only the first of a customer's ordered events; so does this.
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s waits behind an earlier ordered event of customer %s', p_event_id,
                             v_event.customer_id),
            DETAIL = format('Events of type %s are claimed one at a time per customer, in submission order.',
                            v_event.event_type),
            HINT = 'Claim it once the events before it are completed, or an operator has released the line.';
    END IF;

    IF v_to = 'processing' AND v_event.attempts >= v_event.max_attempts THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s has used all %s of its attempts', p_event_id, v_event.max_attempts),
            DETAIL = 'A claim counts as an attempt.',
            HINT = format('An operator may cancel it (api.cancel_event(%s, reason)), or re-queue it with fresh attempts once it has failed.', p_event_id);
    END IF;
    IF v_to = 'processing' THEN
        -- A claim: the principal takes a lease. Volatile values are computed before the UPDATE.
        v_lease_token := gen_random_uuid();
        v_lease_owner := p_acting.principal;
        v_lease_expires_at := v_now + (SELECT s.lease_duration FROM ledger.settings s);
    END IF;
    IF p_details ? 'result' THEN
        -- The audit row's "result" must be the event's result, so only p_result may set it.
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'details may not carry a "result" key',
            DETAIL = 'The decision result is recorded from p_result, in the event and in its audit row.',
            HINT = 'Pass the decision result as p_result.';
    END IF;
    IF p_result IS NOT NULL THEN
        v_details := coalesce(v_details, '{}'::jsonb) || jsonb_build_object('result', p_result);
    END IF;

    -- Compare-and-set on the status read under the lock; the trigger checks the move is allowed.
    UPDATE ledger.events e
       SET status = v_to,
           version = e.version + 1,
           changed_by = p_acting.principal,
           changed_by_kind = p_acting.kind,
           changed_by_key = p_acting.api_key,
           change_reason = p_reason,
           change_details = v_details,
           updated_at = v_now,
           attempts = CASE
                          WHEN v_to = 'processing' THEN e.attempts + 1
                          -- An operator re-queue starts afresh; a decision starts the count of
                          -- attempts at its follow-up action (the lease is dropped here).
                          WHEN e.status = 'failed' OR v_to IN ('approved', 'rejected') THEN 0
                          -- Given back to the queue: the attempt is returned, so an event
                          -- released at its last attempt can still be claimed.
                          WHEN e.status = 'processing' AND v_to = 'queued' THEN greatest(e.attempts - 1, 0)
                          ELSE e.attempts
                      END,
           lease_owner = v_lease_owner,
           lease_token = v_lease_token,
           lease_expires_at = v_lease_expires_at,
           lease_fenced = false,  -- a lease taken here lets its principal act without the token
           last_lease_token = p_lease_token,
           last_report = CASE WHEN p_lease_token IS NOT NULL THEN 'transition' END,
           last_report_digest = NULL,
           run_after = CASE WHEN v_to = 'queued' THEN v_now ELSE e.run_after END,
           result = CASE WHEN v_to IN ('approved', 'rejected') THEN p_result ELSE e.result END,
           last_error = CASE WHEN v_to = 'failed' THEN p_reason ELSE e.last_error END,
           last_error_type = CASE WHEN v_to = 'failed' THEN p_details ->> 'error_type'
                                  ELSE e.last_error_type END
     WHERE e.customer_id = v_event.customer_id
       AND e.id = v_event.id
       AND e.status = v_event.status
    RETURNING * INTO v_event;

    IF v_to = 'queued' THEN
        PERFORM ledger._wake_workers(jsonb_build_object(v_event.event_type, 1));
    ELSIF v_to IN ('approved', 'rejected') THEN
        PERFORM ledger._wake_action_workers(jsonb_build_object(v_event.event_type, 1));
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;


ALTER FUNCTION ledger._transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid) IS 'The implementation of api.transition_event, api.requeue_event and api.cancel_event.';


--
-- Name: transitions; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.transitions (
    from_status ledger.event_status NOT NULL,
    to_status ledger.event_status NOT NULL,
    name text NOT NULL,
    reason_required boolean DEFAULT false NOT NULL,
    description text NOT NULL,
    CONSTRAINT transitions_same_status_is_a_note CHECK (((from_status <> to_status) OR (name = 'note'::text)))
);


ALTER TABLE ledger.transitions OWNER TO agentledger_owner;

--
-- Name: TABLE transitions; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.transitions IS 'Every allowed status change of an event. Anything not listed is refused with SQLSTATE AL003.';


--
-- Name: COLUMN transitions.from_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.transitions.from_status IS 'Status before the change.';


--
-- Name: COLUMN transitions.to_status; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.transitions.to_status IS 'Status after the change.';


--
-- Name: COLUMN transitions.name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.transitions.name IS 'The lifecycle step this move is (claim, decide, propose, review, complete, fail, release, requeue, cancel), or note: an audited change that keeps the status.';


--
-- Name: COLUMN transitions.reason_required; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.transitions.reason_required IS 'Whether the change must carry a non-empty reason.';


--
-- Name: COLUMN transitions.description; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.transitions.description IS 'When this move happens.';


--
-- Name: _transition_hint(bigint, ledger.event_status); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    RETURN (SELECT CASE WHEN (count(*) = 0) THEN format('event %s is %s; %s is terminal'::text, _transition_hint.p_event_id, _transition_hint.p_status, _transition_hint.p_status) ELSE format('event %s is %s; from %s it may go to %s'::text, _transition_hint.p_event_id, _transition_hint.p_status, _transition_hint.p_status, string_agg((t.to_status)::text, ', '::text ORDER BY t.to_status)) END AS format FROM ledger.transitions t WHERE ((t.from_status = _transition_hint.p_status) AND (t.to_status <> _transition_hint.p_status)));


ALTER FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _transition_hint(p_event_id bigint, p_status ledger.event_status); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) IS 'The HINT of a refused transition: where the event may go from its status, read from ledger.transitions.';


--
-- Name: _wake_action_workers(jsonb); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._wake_action_workers(p_pending jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- p_pending: {"<event_type>": <count>, ...} of decided events whose follow-up action just became
-- claimable (handed off, released, or its lease rescued). Rarer than new work, so not throttled.
BEGIN
    IF p_pending IS NOT NULL AND p_pending <> '{}'::jsonb THEN
        PERFORM pg_notify('agentledger_work', CASE WHEN octet_length(p_pending::text) > 7000
                                                   THEN '{"actions": null}'
                                                   ELSE jsonb_build_object('actions', p_pending)::text END);
    END IF;
END
$$;


ALTER FUNCTION ledger._wake_action_workers(p_pending jsonb) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _wake_action_workers(p_pending jsonb); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._wake_action_workers(p_pending jsonb) IS 'Announces decided events whose follow-up action may be claimed, on channel agentledger_work with payload {"actions": {"<type>": <count>}}.';


--
-- Name: _wake_workers(jsonb); Type: FUNCTION; Schema: ledger; Owner: agentledger_owner
--

CREATE FUNCTION ledger._wake_workers(p_queued jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
-- p_queued: {"<event_type>": <count>, ...} of events that just became runnable.
-- PostgreSQL serialises the commits of notifying transactions, so each event type sends at most one
-- NOTIFY per ledger.settings.notify_throttle. Workers poll as well: a skipped NOTIFY delays, never loses.
DECLARE
    v_now timestamptz := clock_timestamp();
    v_throttle interval;
    v_any_due boolean;
    v_due jsonb;
    v_message text;
BEGIN
    IF p_queued IS NULL OR p_queued = '{}'::jsonb THEN
        RETURN;
    END IF;
    -- One read answers the common case under load: every type announced moments ago, nothing to do.
    SELECT s.notify_throttle, bool_or(w.last_notified_at <= v_now - s.notify_throttle)
      INTO v_throttle, v_any_due
      FROM ledger.settings s
      LEFT JOIN ledger.wakeups w ON w.event_type IN (SELECT jsonb_object_keys(p_queued))
     GROUP BY s.notify_throttle;
    IF v_throttle = '0'::interval THEN
        v_due := p_queued;  -- no throttle: no throttle row to lock either
    ELSIF NOT coalesce(v_any_due, false) THEN
        RETURN;
    ELSE
        -- SKIP LOCKED: a row locked by another submitter means that one is about to notify, so
        -- this submit never waits for another transaction to finish.
        WITH due AS (
            UPDATE ledger.wakeups w
               SET last_notified_at = v_now
             WHERE w.event_type IN (
                       SELECT d.event_type FROM ledger.wakeups d
                        WHERE d.event_type IN (SELECT jsonb_object_keys(p_queued))
                          AND d.last_notified_at <= v_now - v_throttle
                        ORDER BY d.event_type
                          FOR UPDATE SKIP LOCKED)
            RETURNING w.event_type
        )
        SELECT jsonb_object_agg(d.event_type, p_queued -> d.event_type) INTO v_due FROM due d;
    END IF;
    IF v_due IS NOT NULL THEN
        v_message := jsonb_build_object('queued', v_due)::text;
        IF octet_length(v_message) > 7000 THEN
            v_message := '{"queued": null}';  -- too many types to list: "some work, of any type"
        END IF;
        PERFORM pg_notify('agentledger_work', v_message);
    END IF;
END
$$;


ALTER FUNCTION ledger._wake_workers(p_queued jsonb) OWNER TO agentledger_owner;

--
-- Name: FUNCTION _wake_workers(p_queued jsonb); Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON FUNCTION ledger._wake_workers(p_queued jsonb) IS 'Announces runnable work on channel agentledger_work with payload {"queued": {"<type>": <count>}}, at most once per type per notify_throttle. One call per statement.';


--
-- Name: access_log; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.access_log (
    id bigint NOT NULL,
    principal text,
    api_key text,
    db_user text DEFAULT SESSION_USER NOT NULL,
    action text NOT NULL,
    event_id bigint,
    details jsonb,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE ledger.access_log OWNER TO agentledger_owner;

--
-- Name: TABLE access_log; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.access_log IS 'One row per read of events or of the audit trail by an auditor (an auditor key, or a login in agentledger_auditor): who, with which key or login, what (the api function, the event or the filters) and when. Append-only.';


--
-- Name: COLUMN access_log.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.id IS 'Surrogate key, in insert order.';


--
-- Name: COLUMN access_log.principal; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.principal IS 'The principal reading; NULL for an auditor login mapped to none.';


--
-- Name: COLUMN access_log.api_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.api_key IS 'The API key used; NULL when the login read directly (db_user).';


--
-- Name: COLUMN access_log.db_user; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.db_user IS 'The database login that read (session_user).';


--
-- Name: COLUMN access_log.action; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.action IS 'The api function that read: get_event, list_events, event_history, event_history_page or list_reviews.';


--
-- Name: COLUMN access_log.event_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.event_id IS 'The event read, for reads of one event.';


--
-- Name: COLUMN access_log.details; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.details IS 'The filters of a list.';


--
-- Name: COLUMN access_log.recorded_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.access_log.recorded_at IS 'When the read happened (the transaction time).';


--
-- Name: access_log_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.access_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.access_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: api_keys_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.api_keys ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.api_keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: audit_seals_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.audit_seals ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.audit_seals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: event_types; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.event_types (
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    max_attempts integer DEFAULT 5 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    decide_within interval,
    review_within interval,
    ordered_per_customer boolean DEFAULT false NOT NULL,
    CONSTRAINT event_types_decide_within_positive CHECK ((decide_within > '00:00:00'::interval)),
    CONSTRAINT event_types_max_attempts_range CHECK (((max_attempts >= 1) AND (max_attempts <= 100))),
    CONSTRAINT event_types_name_format CHECK (ledger._is_type_name(name)),
    CONSTRAINT event_types_review_within_positive CHECK ((review_within > '00:00:00'::interval))
);


ALTER TABLE ledger.event_types OWNER TO agentledger_owner;

--
-- Name: TABLE event_types; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.event_types IS 'Registered event types. Add one with INSERT INTO ledger.event_types (name, description) VALUES (...); events of unknown types are refused.';


--
-- Name: COLUMN event_types.name; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.name IS 'Type name: lower case letters, digits, _ . -; starts with a letter; at most 50 characters.';


--
-- Name: COLUMN event_types.description; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.description IS 'What events of this type are for.';


--
-- Name: COLUMN event_types.max_attempts; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.max_attempts IS 'How many claims an event of this type gets before it fails for good.';


--
-- Name: COLUMN event_types.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.created_at IS 'When the type was registered.';


--
-- Name: COLUMN event_types.decide_within; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.decide_within IS 'An event of this type must be decided within this long of its submission, or it is escalated (NULL: no deadline).';


--
-- Name: COLUMN event_types.review_within; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.review_within IS 'An event of this type in review must be decided by reviewers within this long, or it is escalated (NULL: no deadline).';


--
-- Name: COLUMN event_types.ordered_per_customer; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.event_types.ordered_per_customer IS 'Events of this type are handled one at a time per customer, in submission order, across all ordered types; applies to events submitted after it is set.';


--
-- Name: events_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: order_lines; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.order_lines (
    customer_id text NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    settled_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE ledger.order_lines OWNER TO agentledger_owner;

--
-- Name: TABLE order_lines; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.order_lines IS 'One row per customer that has had ordered events: the lock taken, in customer order, while the customer''s first_in_line mark is moved. Rows are added as needed and never need removing.';


--
-- Name: COLUMN order_lines.customer_id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.order_lines.customer_id IS 'The customer whose ordered events this line orders.';


--
-- Name: COLUMN order_lines.version; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.order_lines.version IS 'Moves with every settlement, so a transaction with an older snapshot fails to serialize instead of settling from a stale view.';


--
-- Name: COLUMN order_lines.settled_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.order_lines.settled_at IS 'When the line was last settled.';


--
-- Name: principals_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.principals ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.principals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: review_policies; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.review_policies (
    event_type text NOT NULL,
    always_review boolean DEFAULT false NOT NULL,
    payload_field text,
    payload_above numeric,
    confidence_below numeric,
    approvals_required smallint DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT review_policies_approvals_range CHECK (((approvals_required >= 1) AND (approvals_required <= 5))),
    CONSTRAINT review_policies_confidence_range CHECK (((confidence_below > (0)::numeric) AND (confidence_below <= (1)::numeric))),
    CONSTRAINT review_policies_payload_field_format CHECK ((payload_field ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'::text)),
    CONSTRAINT review_policies_threshold_complete CHECK (((payload_field IS NULL) = (payload_above IS NULL)))
);


ALTER TABLE ledger.review_policies OWNER TO agentledger_owner;

--
-- Name: TABLE review_policies; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.review_policies IS 'When an agent''s decision of an event of this type waits for people instead of taking effect: always,
when a number in the payload is above a threshold, or when the agent''s confidence is below one (any
rule that holds sends it to review). A type without a row is never reviewed. DBAs manage the rows
with SQL; a change applies to decisions made after it.';


--
-- Name: COLUMN review_policies.event_type; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.event_type IS 'The event type the policy is for.';


--
-- Name: COLUMN review_policies.always_review; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.always_review IS 'Every decision of this type is reviewed.';


--
-- Name: COLUMN review_policies.payload_field; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.payload_field IS 'A top-level field of the payload holding a number, e.g. amount; with payload_above.';


--
-- Name: COLUMN review_policies.payload_above; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.payload_above IS 'Review when payload_field is a number above this (e.g. amount > 10000).';


--
-- Name: COLUMN review_policies.confidence_below; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.confidence_below IS 'Review when the decision''s result has no number "confidence", or one below this (0 to 1).';


--
-- Name: COLUMN review_policies.approvals_required; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.approvals_required IS 'How many distinct people must approve (2 for four-eyes); one rejection is enough to reject.';


--
-- Name: COLUMN review_policies.created_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.created_at IS 'When the policy was created.';


--
-- Name: COLUMN review_policies.updated_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.review_policies.updated_at IS 'When the policy last changed (kept by the UPDATE that changes it).';


--
-- Name: seal_requests; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.seal_requests (
    id bigint NOT NULL,
    up_to_seq bigint NOT NULL,
    writers text[] NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE ledger.seal_requests OWNER TO agentledger_owner;

--
-- Name: TABLE seal_requests; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.seal_requests IS 'Pending seals: every audit row up to up_to_seq is sealed once the transactions in writers have ended.';


--
-- Name: COLUMN seal_requests.id; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.seal_requests.id IS 'Request number.';


--
-- Name: COLUMN seal_requests.up_to_seq; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.seal_requests.up_to_seq IS 'The audit seq reached when the seal was asked for.';


--
-- Name: COLUMN seal_requests.writers; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.seal_requests.writers IS 'Virtual transaction ids then holding a write lock on ledger.audit_log: the only ones that may still commit rows up to up_to_seq.';


--
-- Name: COLUMN seal_requests.requested_by; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.seal_requests.requested_by IS 'Who asked.';


--
-- Name: COLUMN seal_requests.requested_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.seal_requests.requested_at IS 'When.';


--
-- Name: seal_requests_id_seq; Type: SEQUENCE; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ledger.seal_requests ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger.seal_requests_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: wakeups; Type: TABLE; Schema: ledger; Owner: agentledger_owner
--

CREATE TABLE ledger.wakeups (
    event_type text NOT NULL,
    last_notified_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL
);


ALTER TABLE ledger.wakeups OWNER TO agentledger_owner;

--
-- Name: TABLE wakeups; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON TABLE ledger.wakeups IS 'When each event type last sent a wake-up NOTIFY; one row per registered type, kept by a trigger on ledger.event_types.';


--
-- Name: COLUMN wakeups.event_type; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.wakeups.event_type IS 'The event type.';


--
-- Name: COLUMN wakeups.last_notified_at; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON COLUMN ledger.wakeups.last_notified_at IS 'Wall-clock time of its last wake-up NOTIFY.';


--
-- Name: access_log access_log_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.access_log
    ADD CONSTRAINT access_log_pkey PRIMARY KEY (id);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (customer_id, seq);


--
-- Name: audit_seals audit_seals_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.audit_seals
    ADD CONSTRAINT audit_seals_pkey PRIMARY KEY (id);


--
-- Name: event_types event_types_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.event_types
    ADD CONSTRAINT event_types_pkey PRIMARY KEY (name);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (customer_id, id);


--
-- Name: order_lines order_lines_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.order_lines
    ADD CONSTRAINT order_lines_pkey PRIMARY KEY (customer_id);


--
-- Name: principal_logins principal_logins_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.principal_logins
    ADD CONSTRAINT principal_logins_pkey PRIMARY KEY (login);


--
-- Name: principals principals_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.principals
    ADD CONSTRAINT principals_pkey PRIMARY KEY (id);


--
-- Name: review_policies review_policies_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.review_policies
    ADD CONSTRAINT review_policies_pkey PRIMARY KEY (event_type);


--
-- Name: seal_requests seal_requests_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.seal_requests
    ADD CONSTRAINT seal_requests_pkey PRIMARY KEY (id);


--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (singleton);


--
-- Name: transitions transitions_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.transitions
    ADD CONSTRAINT transitions_pkey PRIMARY KEY (from_status, to_status);


--
-- Name: wakeups wakeups_pkey; Type: CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.wakeups
    ADD CONSTRAINT wakeups_pkey PRIMARY KEY (event_type);


--
-- Name: access_log_by_principal; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX access_log_by_principal ON ledger.access_log USING btree (principal, recorded_at);


--
-- Name: api_keys_lookup_prefix_key; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX api_keys_lookup_prefix_key ON ledger.api_keys USING btree (lookup_prefix);


--
-- Name: api_keys_name_key; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX api_keys_name_key ON ledger.api_keys USING btree (name);


--
-- Name: audit_log_event_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX audit_log_event_idx ON ledger.audit_log USING btree (event_id, seq);


--
-- Name: audit_log_seq_brin; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX audit_log_seq_brin ON ledger.audit_log USING brin (seq);


--
-- Name: events_action_by_type_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_action_by_type_idx ON ledger.events USING btree (event_type, priority DESC, id) WHERE ((status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])) AND (lease_token IS NULL));


--
-- Name: INDEX events_action_by_type_idx; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON INDEX ledger.events_action_by_type_idx IS 'Claim order of pending follow-up actions within an event type: claims that name types read only their own.';


--
-- Name: events_action_order_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_action_order_idx ON ledger.events USING btree (priority DESC, id) WHERE ((status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])) AND (lease_token IS NULL));


--
-- Name: INDEX events_action_order_idx; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON INDEX ledger.events_action_order_idx IS 'Claim order of decided events whose follow-up action is pending: highest priority first, then oldest.';


--
-- Name: events_claim_by_type_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_claim_by_type_idx ON ledger.events USING btree (event_type, priority DESC, id) WHERE ((status = 'queued'::ledger.event_status) AND ((ordered IS NOT TRUE) OR first_in_line));


--
-- Name: INDEX events_claim_by_type_idx; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON INDEX ledger.events_claim_by_type_idx IS 'Claim order within an event type: claims that name types read only their own claimable queued events.';


--
-- Name: events_claim_order_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_claim_order_idx ON ledger.events USING btree (priority DESC, id) WHERE ((status = 'queued'::ledger.event_status) AND ((ordered IS NOT TRUE) OR first_in_line));


--
-- Name: INDEX events_claim_order_idx; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON INDEX ledger.events_claim_order_idx IS 'Claim order of claimable queued events: highest priority first, then oldest; ordered events only when first in line.';


--
-- Name: events_first_in_line_key; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX events_first_in_line_key ON ledger.events USING btree (customer_id) WHERE (first_in_line AND (status <> 'completed'::ledger.event_status) AND (order_released_at IS NULL));


--
-- Name: INDEX events_first_in_line_key; Type: COMMENT; Schema: ledger; Owner: agentledger_owner
--

COMMENT ON INDEX ledger.events_first_in_line_key IS 'At most one open ordered event per customer is first in line, so at most one is held at a time.';


--
-- Name: events_id_key; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX events_id_key ON ledger.events USING btree (id);


--
-- Name: events_idempotency_per_submitter; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX events_idempotency_per_submitter ON ledger.events USING btree (customer_id, submitted_by, idempotency_key) NULLS NOT DISTINCT WHERE (idempotency_key IS NOT NULL);


--
-- Name: events_lease_expiry_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_lease_expiry_idx ON ledger.events USING btree (lease_expires_at) WHERE (lease_token IS NOT NULL);


--
-- Name: events_ordered_open_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_ordered_open_idx ON ledger.events USING btree (customer_id, id) WHERE (ordered AND (status <> 'completed'::ledger.event_status) AND (order_released_at IS NULL));


--
-- Name: events_review_queue_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_review_queue_idx ON ledger.events USING btree (review_started_at, id) WHERE (status = 'in_review'::ledger.event_status);


--
-- Name: events_status_idx; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE INDEX events_status_idx ON ledger.events USING btree (status, id);


--
-- Name: principals_name_key; Type: INDEX; Schema: ledger; Owner: agentledger_owner
--

CREATE UNIQUE INDEX principals_name_key ON ledger.principals USING btree (name);


--
-- Name: events _040_set_ordered; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _040_set_ordered BEFORE INSERT ON ledger.events FOR EACH ROW EXECUTE FUNCTION ledger._set_ordered();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _040_set_ordered;


--
-- Name: events _045_check_line_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _045_check_line_change BEFORE UPDATE OF status, ordered, order_released_at, first_in_line ON ledger.events FOR EACH ROW WHEN (((new.ordered IS DISTINCT FROM old.ordered) OR (new.first_in_line IS DISTINCT FROM old.first_in_line) OR (new.order_released_at IS DISTINCT FROM old.order_released_at) OR ((new.order_released_at IS NOT NULL) AND (new.status <> 'failed'::ledger.event_status)))) EXECUTE FUNCTION ledger._check_line_change();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _045_check_line_change;


--
-- Name: events _050_refuse_delete; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _050_refuse_delete BEFORE DELETE ON ledger.events FOR EACH ROW EXECUTE FUNCTION ledger._refuse_event_delete();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_delete;


--
-- Name: events _050_refuse_truncate; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _050_refuse_truncate BEFORE TRUNCATE ON ledger.events FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_event_delete();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_truncate;


--
-- Name: events _050_refuse_write_once_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _050_refuse_write_once_change BEFORE UPDATE OF id, customer_id, event_type, payload, idempotency_key, correlation_id, caused_by_event_id, created_at ON ledger.events FOR EACH ROW EXECUTE FUNCTION ledger._refuse_write_once_change();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_write_once_change;


--
-- Name: events _080_route_to_review; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _080_route_to_review BEFORE UPDATE OF status ON ledger.events FOR EACH ROW WHEN (((old.status = 'processing'::ledger.event_status) AND (new.status = ANY (ARRAY['approved'::ledger.event_status, 'rejected'::ledger.event_status])))) EXECUTE FUNCTION ledger._route_to_review();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _080_route_to_review;


--
-- Name: events _100_check_status_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_check_status_change BEFORE UPDATE OF status, version, changed_by, changed_by_kind, changed_by_key, change_reason, change_details ON ledger.events FOR EACH ROW WHEN (((CURRENT_USER <> 'agentledger_owner'::name) OR (new.status = old.status) OR (new.updated_at = old.updated_at))) EXECUTE FUNCTION ledger._check_status_change();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _100_check_status_change;


--
-- Name: access_log _100_refuse_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_change BEFORE DELETE OR UPDATE ON ledger.access_log FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.access_log ENABLE ALWAYS TRIGGER _100_refuse_change;


--
-- Name: audit_log _100_refuse_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_change BEFORE DELETE OR UPDATE ON ledger.audit_log FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.audit_log ENABLE ALWAYS TRIGGER _100_refuse_change;


--
-- Name: audit_seals _100_refuse_change; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_change BEFORE DELETE OR UPDATE ON ledger.audit_seals FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.audit_seals ENABLE ALWAYS TRIGGER _100_refuse_change;


--
-- Name: event_types _100_refuse_removal; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_removal BEFORE DELETE OR UPDATE OF name ON ledger.event_types FOR EACH ROW EXECUTE FUNCTION ledger._refuse_type_removal();

ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _100_refuse_removal;


--
-- Name: access_log _100_refuse_truncate; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.access_log FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.access_log ENABLE ALWAYS TRIGGER _100_refuse_truncate;


--
-- Name: audit_log _100_refuse_truncate; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.audit_log FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.audit_log ENABLE ALWAYS TRIGGER _100_refuse_truncate;


--
-- Name: audit_seals _100_refuse_truncate; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.audit_seals FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();

ALTER TABLE ledger.audit_seals ENABLE ALWAYS TRIGGER _100_refuse_truncate;


--
-- Name: event_types _100_refuse_truncate; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.event_types FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_type_removal();

ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _100_refuse_truncate;


--
-- Name: event_types _500_add_wakeups; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _500_add_wakeups AFTER INSERT ON ledger.event_types REFERENCING NEW TABLE AS new_types FOR EACH STATEMENT EXECUTE FUNCTION ledger._add_wakeups();

ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _500_add_wakeups;


--
-- Name: events _500_audit_status_changes; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _500_audit_status_changes AFTER UPDATE ON ledger.events REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._audit_status_changes();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _500_audit_status_changes;


--
-- Name: events _500_audit_submits; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _500_audit_submits AFTER INSERT ON ledger.events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._audit_submits();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _500_audit_submits;


--
-- Name: events _600_settle_lines_after_insert; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _600_settle_lines_after_insert AFTER INSERT ON ledger.events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._settle_lines_after_write();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _600_settle_lines_after_insert;


--
-- Name: events _600_settle_lines_after_update; Type: TRIGGER; Schema: ledger; Owner: agentledger_owner
--

CREATE TRIGGER _600_settle_lines_after_update AFTER UPDATE ON ledger.events REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._settle_lines_after_write();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _600_settle_lines_after_update;


--
-- Name: api_keys api_keys_principal_id_fkey; Type: FK CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.api_keys
    ADD CONSTRAINT api_keys_principal_id_fkey FOREIGN KEY (principal_id) REFERENCES ledger.principals(id);


--
-- Name: principal_logins principal_logins_principal_id_fkey; Type: FK CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.principal_logins
    ADD CONSTRAINT principal_logins_principal_id_fkey FOREIGN KEY (principal_id) REFERENCES ledger.principals(id);


--
-- Name: review_policies review_policies_event_type_fkey; Type: FK CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.review_policies
    ADD CONSTRAINT review_policies_event_type_fkey FOREIGN KEY (event_type) REFERENCES ledger.event_types(name);


--
-- Name: wakeups wakeups_event_type_fkey; Type: FK CONSTRAINT; Schema: ledger; Owner: agentledger_owner
--

ALTER TABLE ONLY ledger.wakeups
    ADD CONSTRAINT wakeups_event_type_fkey FOREIGN KEY (event_type) REFERENCES ledger.event_types(name) ON DELETE CASCADE;


--
-- Name: SCHEMA api; Type: ACL; Schema: -; Owner: agentledger_owner
--

GRANT USAGE ON SCHEMA api TO agentledger_api;
GRANT USAGE ON SCHEMA api TO agentledger_worker;
GRANT USAGE ON SCHEMA api TO agentledger_auditor;


--
-- Name: SCHEMA ledger; Type: ACL; Schema: -; Owner: agentledger_owner
--

GRANT USAGE ON SCHEMA ledger TO agentledger_auditor;


--
-- Name: FUNCTION _is_customer_id(p_value text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._is_customer_id(p_value text) FROM PUBLIC;


--
-- Name: FUNCTION _is_idempotency_key(p_value text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._is_idempotency_key(p_value text) FROM PUBLIC;


--
-- Name: FUNCTION _is_key_name(p_value text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._is_key_name(p_value text) FROM PUBLIC;


--
-- Name: FUNCTION _is_type_name(p_value text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._is_type_name(p_value text) FROM PUBLIC;


--
-- Name: FUNCTION audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer) TO agentledger_api;
GRANT ALL ON FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer) TO agentledger_auditor;


--
-- Name: TABLE audit_log; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON TABLE ledger.audit_log FROM agentledger_owner;
GRANT SELECT,INSERT,REFERENCES,TRIGGER ON TABLE ledger.audit_log TO agentledger_owner;
GRANT SELECT ON TABLE ledger.audit_log TO agentledger_auditor;


--
-- Name: COLUMN audit_log.api_key; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(api_key) ON TABLE ledger.audit_log TO agentledger_auditor;


--
-- Name: FUNCTION audit_feed_position(p_waiting text[]); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.audit_feed_position(p_waiting text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION api.audit_feed_position(p_waiting text[]) TO agentledger_api;
GRANT ALL ON FUNCTION api.audit_feed_position(p_waiting text[]) TO agentledger_auditor;


--
-- Name: FUNCTION _as_api_key(k ledger.api_keys); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._as_api_key(k ledger.api_keys) FROM PUBLIC;


--
-- Name: FUNCTION _valid_key(p_key text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._valid_key(p_key text) FROM PUBLIC;


--
-- Name: FUNCTION authenticate_api_key(p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.authenticate_api_key(p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.authenticate_api_key(p_key text) TO agentledger_api;


--
-- Name: FUNCTION cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.cancel_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.claim_actions(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.claim_events(p_worker text, p_limit integer, p_event_types text[], p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.complete_events(p_event_ids bigint[], p_lease_tokens uuid[], p_details jsonb[], p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION create_api_key(p_principal text, p_role text, p_name text, p_event_types text[], p_customers text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.create_api_key(p_principal text, p_role text, p_name text, p_event_types text[], p_customers text) FROM PUBLIC;


--
-- Name: FUNCTION create_principal(p_name text, p_kind text, p_login text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.create_principal(p_name text, p_kind text, p_login text) FROM PUBLIC;


--
-- Name: FUNCTION deactivate_principal(p_name text, p_reason text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.deactivate_principal(p_name text, p_reason text) FROM PUBLIC;


--
-- Name: FUNCTION decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.decide_events(p_event_ids bigint[], p_lease_tokens uuid[], p_decisions text[], p_reasons text[], p_results jsonb[], p_keep_lease boolean, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION event_history(p_event_id bigint, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.event_history(p_event_id bigint, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.event_history(p_event_id bigint, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.event_history(p_event_id bigint, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.event_history(p_event_id bigint, p_key text) TO agentledger_auditor;


--
-- Name: FUNCTION event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer, p_key text) TO agentledger_auditor;


--
-- Name: FUNCTION fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.fail_events(p_event_ids bigint[], p_lease_tokens uuid[], p_errors text[], p_error_types text[], p_retryable boolean[], p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION get_event(p_event_id bigint, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.get_event(p_event_id bigint, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_event(p_event_id bigint, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.get_event(p_event_id bigint, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.get_event(p_event_id bigint, p_key text) TO agentledger_auditor;


--
-- Name: FUNCTION heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.heartbeat_events(p_event_ids bigint[], p_lease_tokens uuid[], p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: TABLE audit_seals; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON TABLE ledger.audit_seals FROM agentledger_owner;
GRANT SELECT,INSERT,REFERENCES,TRIGGER ON TABLE ledger.audit_seals TO agentledger_owner;
GRANT SELECT ON TABLE ledger.audit_seals TO agentledger_auditor;


--
-- Name: FUNCTION _as_api_seal(s ledger.audit_seals); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._as_api_seal(s ledger.audit_seals) FROM PUBLIC;


--
-- Name: FUNCTION latest_seal(); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.latest_seal() FROM PUBLIC;
GRANT ALL ON FUNCTION api.latest_seal() TO agentledger_api;
GRANT ALL ON FUNCTION api.latest_seal() TO agentledger_worker;
GRANT ALL ON FUNCTION api.latest_seal() TO agentledger_auditor;


--
-- Name: FUNCTION list_api_keys(); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_api_keys() FROM PUBLIC;


--
-- Name: FUNCTION list_blocked(p_limit integer); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_blocked(p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_blocked(p_limit integer) TO agentledger_api;
GRANT ALL ON FUNCTION api.list_blocked(p_limit integer) TO agentledger_auditor;


--
-- Name: FUNCTION list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.list_events(p_status text, p_customer_id text, p_event_type text, p_created_after timestamp with time zone, p_created_before timestamp with time zone, p_after_id bigint, p_limit integer, p_key text) TO agentledger_auditor;


--
-- Name: FUNCTION _as_api_principal(p ledger.principals); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._as_api_principal(p ledger.principals) FROM PUBLIC;


--
-- Name: FUNCTION list_principals(); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_principals() FROM PUBLIC;


--
-- Name: FUNCTION list_reviews(p_event_type text, p_limit integer, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_reviews(p_event_type text, p_limit integer, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_reviews(p_event_type text, p_limit integer, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.list_reviews(p_event_type text, p_limit integer, p_key text) TO agentledger_auditor;


--
-- Name: FUNCTION list_seals(p_after_id bigint, p_limit integer); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.list_seals(p_after_id bigint, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_seals(p_after_id bigint, p_limit integer) TO agentledger_worker;
GRANT ALL ON FUNCTION api.list_seals(p_after_id bigint, p_limit integer) TO agentledger_auditor;


--
-- Name: FUNCTION mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.mark_deadline_breaches(p_limit integer, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION _checked_now(p_now timestamp with time zone); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_now(p_now timestamp with time zone) FROM PUBLIC;


--
-- Name: TABLE events; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON TABLE ledger.events FROM agentledger_owner;
GRANT SELECT,INSERT,REFERENCES,TRIGGER,UPDATE ON TABLE ledger.events TO agentledger_owner;


--
-- Name: COLUMN events.id; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(id) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.customer_id; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(customer_id) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.event_type; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(event_type) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.payload; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(payload) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.status; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(status) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.priority; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(priority) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.attempts; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(attempts) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.max_attempts; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(max_attempts) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.run_after; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(run_after) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.lease_owner; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(lease_owner) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.lease_expires_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(lease_expires_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.idempotency_key; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(idempotency_key) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.result; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(result) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.last_error; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(last_error) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.last_error_type; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(last_error_type) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.correlation_id; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(correlation_id) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.caused_by_event_id; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(caused_by_event_id) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.version; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(version) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.changed_by; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(changed_by) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.changed_by_kind; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(changed_by_kind) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.change_reason; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(change_reason) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.change_details; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(change_details) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.created_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(created_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.updated_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(updated_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.lease_fenced; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(lease_fenced) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.last_report; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(last_report) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.last_report_digest; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(last_report_digest) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.proposed_status; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(proposed_status) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.proposed_by; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(proposed_by) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.approvals_required; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(approvals_required) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.approved_by; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(approved_by) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.review_started_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(review_started_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.decide_breached_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(decide_breached_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.review_breached_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(review_breached_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.ordered; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(ordered) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.order_released_at; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(order_released_at) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.first_in_line; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(first_in_line) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.releases; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(releases) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.submitted_by; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(submitted_by) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: COLUMN events.changed_by_key; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT(changed_by_key) ON TABLE ledger.events TO agentledger_auditor;


--
-- Name: FUNCTION queue_stats(p_now timestamp with time zone); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.queue_stats(p_now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.queue_stats(p_now timestamp with time zone) TO agentledger_api;
GRANT ALL ON FUNCTION api.queue_stats(p_now timestamp with time zone) TO agentledger_worker;
GRANT ALL ON FUNCTION api.queue_stats(p_now timestamp with time zone) TO agentledger_auditor;


--
-- Name: FUNCTION readable_events(p_event_ids bigint[], p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.readable_events(p_event_ids bigint[], p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.readable_events(p_event_ids bigint[], p_key text) TO agentledger_api;


--
-- Name: FUNCTION release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.release_events(p_event_ids bigint[], p_lease_tokens uuid[], p_reason text, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.requeue_event(p_event_id bigint, p_reason text, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.rescue_expired_leases(p_limit integer, p_now timestamp with time zone, p_key text) TO agentledger_worker;


--
-- Name: FUNCTION review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.review_event(p_event_id bigint, p_verdict text, p_reason text, p_now timestamp with time zone, p_key text) TO agentledger_api;


--
-- Name: FUNCTION revoke_api_key(p_name text, p_reason text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.revoke_api_key(p_name text, p_reason text) FROM PUBLIC;


--
-- Name: FUNCTION seal_audit(p_actor text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.seal_audit(p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.seal_audit(p_actor text) TO agentledger_worker;
GRANT ALL ON FUNCTION api.seal_audit(p_actor text) TO agentledger_auditor;


--
-- Name: FUNCTION submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.submit_event(p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_run_after timestamp with time zone, p_idempotency_key text, p_correlation_id uuid, p_caused_by_event_id bigint, p_now timestamp with time zone, p_key text) TO agentledger_worker;


--
-- Name: FUNCTION submit_events(p_events jsonb, p_now timestamp with time zone, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.submit_events(p_events jsonb, p_now timestamp with time zone, p_key text) TO agentledger_worker;


--
-- Name: FUNCTION transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text) TO agentledger_api;
GRANT ALL ON FUNCTION api.transition_event(p_event_id bigint, p_status text, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_lease_token uuid, p_key text) TO agentledger_worker;


--
-- Name: FUNCTION verify_audit(p_event_id bigint); Type: ACL; Schema: api; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION api.verify_audit(p_event_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.verify_audit(p_event_id bigint) TO agentledger_api;
GRANT ALL ON FUNCTION api.verify_audit(p_event_id bigint) TO agentledger_auditor;


--
-- Name: FUNCTION _acting(p_key text, p_key_roles text[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._acting(p_key text, p_key_roles text[]) FROM PUBLIC;


--
-- Name: FUNCTION _add_wakeups(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._add_wakeups() FROM PUBLIC;


--
-- Name: FUNCTION _as_api_event(e ledger.events); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._as_api_event(e ledger.events) FROM PUBLIC;


--
-- Name: FUNCTION _audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._audit_hash(p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer, p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text, p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer, p_recorded_at timestamp with time zone, p_api_key text) FROM PUBLIC;


--
-- Name: FUNCTION _audit_status_changes(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._audit_status_changes() FROM PUBLIC;


--
-- Name: FUNCTION _audit_submits(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._audit_submits() FROM PUBLIC;


--
-- Name: FUNCTION _check_line_change(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._check_line_change() FROM PUBLIC;


--
-- Name: FUNCTION _check_status_change(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._check_status_change() FROM PUBLIC;


--
-- Name: FUNCTION _checked_actor(p_actor text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_actor(p_actor text) FROM PUBLIC;


--
-- Name: FUNCTION _checked_actor_kind(p_actor_kind text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_actor_kind(p_actor_kind text) FROM PUBLIC;


--
-- Name: FUNCTION _checked_claim(p_limit integer, p_event_types text[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) FROM PUBLIC;


--
-- Name: FUNCTION _checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_report(p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[]) FROM PUBLIC;


--
-- Name: FUNCTION _checked_status(p_status text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._checked_status(p_status text) FROM PUBLIC;


--
-- Name: FUNCTION _claimable_types(p_acting ledger.acting, p_event_types text[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._claimable_types(p_acting ledger.acting, p_event_types text[]) FROM PUBLIC;


--
-- Name: FUNCTION _count_by_type(p_event_types text[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._count_by_type(p_event_types text[]) FROM PUBLIC;


--
-- Name: FUNCTION _flat_length(p_values anyarray); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._flat_length(p_values anyarray) FROM PUBLIC;


--
-- Name: FUNCTION _in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) FROM PUBLIC;


--
-- Name: FUNCTION _may_read(p_reader ledger.acting, p_event ledger.events); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._may_read(p_reader ledger.acting, p_event ledger.events) FROM PUBLIC;


--
-- Name: FUNCTION _pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._pick_for_claim(p_queue text, p_event_types text[], p_limit integer, p_now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION _reader(p_key text, p_action text, p_event_id bigint, p_details jsonb); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._reader(p_key text, p_action text, p_event_id bigint, p_details jsonb) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_audit_change(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_audit_change() FROM PUBLIC;


--
-- Name: FUNCTION _refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_bad_outcome_inputs(p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_event_delete(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_event_delete() FROM PUBLIC;


--
-- Name: FUNCTION _refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_foreign_lease(p_event ledger.events, p_lease_token uuid, p_principal text) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_status_change(p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status, p_old_version integer, p_new_version integer, p_step text) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_submission(p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text, p_payload jsonb, p_priority integer, p_caused_by_event_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_type_removal(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_type_removal() FROM PUBLIC;


--
-- Name: FUNCTION _refuse_unknown_event(p_event_id bigint); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_unknown_event(p_event_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint) FROM PUBLIC;


--
-- Name: FUNCTION _refuse_write_once_change(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._refuse_write_once_change() FROM PUBLIC;


--
-- Name: FUNCTION _report_digest(p_content jsonb); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._report_digest(p_content jsonb) FROM PUBLIC;


--
-- Name: FUNCTION _report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._report_outcomes(p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text, p_principal text) FROM PUBLIC;


--
-- Name: FUNCTION _require_status(p_event_id bigint, p_status ledger.event_status, p_verb text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text) FROM PUBLIC;


--
-- Name: FUNCTION _retry_delay(p_attempts integer); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._retry_delay(p_attempts integer) FROM PUBLIC;


--
-- Name: FUNCTION _route_to_review(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._route_to_review() FROM PUBLIC;


--
-- Name: FUNCTION _set_ordered(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._set_ordered() FROM PUBLIC;


--
-- Name: FUNCTION _settle_lines(p_customers text[]); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._settle_lines(p_customers text[]) FROM PUBLIC;


--
-- Name: FUNCTION _settle_lines_after_write(); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._settle_lines_after_write() FROM PUBLIC;


--
-- Name: FUNCTION _status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._status_change_problem(p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer, p_reason text) FROM PUBLIC;


--
-- Name: FUNCTION _submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._submission_problem(p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer, p_idempotency_key text, p_run_after timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION _transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._transition_event(p_event_id bigint, p_status text, p_acting ledger.acting, p_reason text, p_result jsonb, p_details jsonb, p_now timestamp with time zone, p_operator_step text, p_lease_token uuid) FROM PUBLIC;


--
-- Name: FUNCTION _transition_hint(p_event_id bigint, p_status ledger.event_status); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) FROM PUBLIC;


--
-- Name: FUNCTION _wake_action_workers(p_pending jsonb); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._wake_action_workers(p_pending jsonb) FROM PUBLIC;


--
-- Name: FUNCTION _wake_workers(p_queued jsonb); Type: ACL; Schema: ledger; Owner: agentledger_owner
--

REVOKE ALL ON FUNCTION ledger._wake_workers(p_queued jsonb) FROM PUBLIC;


--
-- Name: TABLE access_log; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT ON TABLE ledger.access_log TO agentledger_auditor;


--
-- Name: TABLE review_policies; Type: ACL; Schema: ledger; Owner: agentledger_owner
--

GRANT SELECT ON TABLE ledger.review_policies TO agentledger_auditor;


--
-- PostgreSQL database dump complete
--


