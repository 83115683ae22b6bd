-- Deploy agentledger:functions/worker_helpers to pg
-- Private helpers of the worker protocol: argument checks, the per-event answer of a
-- report, the retry back-off and the wake-up for pending follow-up actions.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_retry_delay.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._retry_delay(p_attempts integer) RETURNS interval
LANGUAGE sql STABLE
-- Exponential back-off after the p_attempts-th attempt failed: base, 2 x base, 4 x base, ... capped.
-- Computed in seconds and capped before it becomes an interval, so no setting can overflow it.
RETURN (SELECT make_interval(secs => least(extract(epoch FROM s.retry_base_delay)
                                           * power(2::numeric, least(greatest(p_attempts - 1, 0), 60)),
                                           extract(epoch FROM s.retry_max_delay))::double precision)
          FROM ledger.settings s);
COMMENT ON FUNCTION ledger._retry_delay(integer) IS
    'Back-off before the next try after attempt p_attempts failed: retry_base_delay * 2^(p_attempts - 1), at most retry_max_delay.';
-- end db/functions/_retry_delay.sql

-- begin db/functions/_checked_claim.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) RETURNS void
LANGUAGE plpgsql STABLE AS $$
-- The arguments every claim shares: how many events, and which types (NULL: any).
DECLARE
    v_max integer;
BEGIN
    SELECT s.max_batch_size INTO v_max FROM ledger.settings s;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > v_max THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('a claim takes 1 to %s events, not %s', v_max, coalesce(p_limit::text, 'NULL')),
            DETAIL = 'The upper limit is ledger.settings.max_batch_size.',
            HINT = 'Claim as many events as the worker has free capacity for.';
    ELSIF cardinality(p_event_types) = 0 OR array_ndims(p_event_types) > 1
          OR array_position(p_event_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'event types to claim must be NULL (any type) or a list of type names',
            DETAIL = format('The list given was %s.', p_event_types),
            HINT = 'Pass the types the worker has handlers for, or NULL for any.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._checked_claim(integer, text[]) IS
    'Refuses a claim size outside 1..max_batch_size and an empty or NULL-holding type list (AL010).';
-- end db/functions/_checked_claim.sql

-- begin db/functions/_checked_report.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._flat_length(p_values anyarray) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
-- The number of elements of a one-dimensional array (NULL for NULL); refuses a nested one (AL010).
BEGIN
    IF array_ndims(p_values) > 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('an array of a report has %s dimensions; each must be a flat list', array_ndims(p_values)),
            DETAIL = 'Reports take one element per event in every array.',
            HINT = 'Pass a flat list: ARRAY[value1, value2, ...].';
    END IF;
    RETURN cardinality(p_values);
END
$$;
COMMENT ON FUNCTION ledger._flat_length(anyarray) IS
    'cardinality() of a one-dimensional array; refuses nested arrays (AL010).';

CREATE FUNCTION ledger._checked_report(
    p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[])
RETURNS void
LANGUAGE plpgsql AS $$
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
            ERRCODE = 'AL010',
            MESSAGE = 'event ids and lease tokens must be one-dimensional arrays',
            DETAIL = format('They have %s and %s dimensions.', array_ndims(p_event_ids), array_ndims(p_lease_tokens)),
            HINT = 'Pass a flat list: ARRAY[id1, id2, ...].';
    ELSIF p_event_ids IS NULL OR p_lease_tokens IS NULL
       OR array_position(p_event_ids, NULL) IS NOT NULL OR array_position(p_lease_tokens, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
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
            ERRCODE = 'AL010',
            MESSAGE = format('the arrays of a report must all have one element per event (%s)', v_count),
            DETAIL = format('Lengths: %s event ids, %s lease tokens, others %s.', v_count,
                            cardinality(p_lease_tokens), p_other_lengths),
            HINT = 'Give every array the same length, or leave an optional one out.';
    ELSIF (SELECT count(DISTINCT i) FROM unnest(p_event_ids) i) <> v_count THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'an event id appears more than once in the report',
            DETAIL = format('Event ids: %s.', p_event_ids),
            HINT = 'Report each event once.';
    END IF;
    PERFORM 1 FROM ledger.events e WHERE e.id = ANY (p_event_ids) ORDER BY e.id FOR UPDATE;
END
$$;
COMMENT ON FUNCTION ledger._checked_report(bigint[], uuid[], integer[]) IS
    'Checks the arrays of a report (AL010, AL013) and locks its events in id order.';
-- end db/functions/_checked_report.sql

-- begin db/functions/_refuse_bad_outcome_inputs.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_bad_outcome_inputs(
    p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
-- The same limits api.transition_event applies to one event, for the arrays of a report.
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_reasons) r WHERE char_length(r) > 4000) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'a reason or error longer than 4000 characters',
            DETAIL = 'It is a sentence for the audit trail, not a document.',
            HINT = 'Put long evidence in the result or details, or a reference to it.';
    ELSIF EXISTS (SELECT 1 FROM unnest(p_objects) o WHERE jsonb_typeof(o) <> 'object') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
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
COMMENT ON FUNCTION ledger._refuse_bad_outcome_inputs(text[], jsonb[], integer, text) IS
    'Refuses reasons over 4000 characters (AL010), results or details that are not objects (AL010) or over max_payload_bytes (AL005).';
-- end db/functions/_refuse_bad_outcome_inputs.sql

-- begin db/functions/_report_outcomes.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._report_digest(p_content jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sha256(convert_to(p_content::text, 'UTF8'));
COMMENT ON FUNCTION ledger._report_digest(jsonb) IS
    'sha256 of what a report says about one event (its decision, error, details ...): a repeat of the same report has the same digest.';

CREATE FUNCTION ledger._report_outcomes(
    p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text)
RETURNS SETOF api.report
LANGUAGE sql STABLE
-- Runs after the report's UPDATE, with its events still locked: p_done lists those it changed; the
-- others are told apart here, in the order they were named. A report that was applied before is
-- "already done" only when it is the same report (step, token and content) and no other lease has
-- been taken on the event since; the same token with other content is refused (AL003).
BEGIN ATOMIC
    SELECT o.id,
           CASE WHEN o.done THEN 'done' WHEN o.repeat THEN 'already_done' ELSE 'refused' END,
           o.status,
           CASE WHEN o.done OR o.repeat THEN NULL
                WHEN o.missing THEN 'AL001'
                WHEN o.same_report_step OR o.holder THEN 'AL003'
                ELSE 'AL009' END,
           CASE WHEN o.done OR o.repeat THEN NULL
                WHEN o.missing THEN format('no event has id %s', o.id)
                WHEN o.same_report_step THEN
                    format('event %s: another %s was already reported with this lease token; it is %s',
                           o.id, p_step, o.status)
                WHEN o.holder THEN format('event %s is %s; %s applies to %s events', o.id, o.status, p_step, p_from)
                WHEN o.lease_token IS NULL THEN
                    format('event %s: this lease has ended; the event holds no lease now', o.id)
                ELSE format('event %s: this lease has ended; it is held under another lease until %s',
                            o.id, o.lease_expires_at) END,
           CASE WHEN o.holder THEN o.lease_expires_at END,
           CASE WHEN o.status = 'queued' OR o.status IN ('approved', 'rejected') AND o.lease_token IS NULL
                THEN o.run_after END
      FROM (SELECT i.id, i.n, e.status, e.lease_token, e.lease_expires_at, e.run_after,
                   i.id = ANY (p_done) AS done,
                   e.id IS NULL AS missing,
                   coalesce(e.lease_token = i.token, false) AS holder,
                   coalesce(e.last_lease_token = i.token AND e.last_report = p_step
                            AND (e.lease_token IS NULL OR e.lease_token = i.token), false) AS same_report_step,
                   coalesce(e.last_lease_token = i.token AND e.last_report = p_step
                            AND (e.lease_token IS NULL OR e.lease_token = i.token)
                            AND e.last_report_digest = i.digest, false) AS repeat
              FROM unnest(p_event_ids, p_lease_tokens, p_digests) WITH ORDINALITY AS i (id, token, digest, n)
              LEFT JOIN ledger.events e ON e.id = i.id AND e.id = ANY (p_event_ids)) o
     ORDER BY o.n;
END;
COMMENT ON FUNCTION ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text) IS
    'The answer of a report, one api.report per event named: done, already_done (the same report, by step, token and content, applied before, and no lease taken since), or refused with AL001, AL003 or AL009.';
-- end db/functions/_report_outcomes.sql

-- begin db/functions/_count_by_type.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._count_by_type(p_event_types text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- The wake-up payload of a statement: {"<event_type>": <count>, ...}, NULL when there is none.
RETURN (SELECT jsonb_object_agg(t.event_type, t.n)
          FROM (SELECT u.event_type, count(*) AS n FROM unnest(p_event_types) u (event_type)
                 GROUP BY u.event_type) t);
COMMENT ON FUNCTION ledger._count_by_type(text[]) IS
    'How many of each event type a list holds, as {"<type>": <count>} (NULL for none): what ledger._wake_workers and ledger._wake_action_workers announce.';
-- end db/functions/_count_by_type.sql

-- begin db/functions/_wake_action_workers.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._wake_action_workers(p_pending jsonb) RETURNS void
LANGUAGE plpgsql AS $$
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
COMMENT ON FUNCTION ledger._wake_action_workers(jsonb) IS
    'Announces decided events whose follow-up action may be claimed, on channel agentledger_work with payload {"actions": {"<type>": <count>}}.';
-- end db/functions/_wake_action_workers.sql

COMMIT;
