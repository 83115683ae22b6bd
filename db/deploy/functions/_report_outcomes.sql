-- Deploy agentledger:functions/_report_outcomes to pg
-- Written by `agentledger db functions` from db/functions/_report_outcomes.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text);

-- begin db/functions/_report_outcomes.sql
CREATE OR REPLACE FUNCTION ledger._report_outcomes(
    p_event_ids bigint[], p_lease_tokens uuid[], p_digests bytea[], p_done bigint[], p_step text, p_from text,
    p_principal text)
RETURNS SETOF api.report
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
-- Runs after the report's UPDATE, with its events still locked: p_done lists those it changed; the
-- others are told apart here, in the order they were named. A report that was applied before is
-- "already done" only when it is the same report (step, token and content) and no other lease has
-- been taken on the event since; the same token with other content is refused (AL003). A lease is
-- held by a principal and its token: the token in another principal's hands acts on nothing (AL009).
BEGIN ATOMIC
    SELECT o.id,
           CASE WHEN o.done THEN 'done' WHEN o.repeat THEN 'already_done' ELSE 'refused' END,
           o.status,
           CASE WHEN o.done OR o.repeat THEN NULL
                WHEN o.missing THEN 'AL001'
                WHEN o.foreign THEN 'AL009'
                WHEN o.same_report_step OR o.holder THEN 'AL003'
                ELSE 'AL009' END,
           CASE WHEN o.done OR o.repeat THEN NULL
                WHEN o.missing THEN format('no event has id %s', o.id)
                WHEN o.foreign THEN format('event %s: this lease is held by %s, not by %s', o.id,
                                           o.lease_owner, p_principal)
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
      FROM (SELECT i.id, i.n, e.status, e.lease_token, e.lease_expires_at, e.run_after, e.lease_owner,
                   d.id IS NOT NULL AS done,
                   e.id IS NULL AS missing,
                   coalesce(e.lease_token = i.token AND e.lease_owner IS DISTINCT FROM p_principal, false) AS foreign,
                   coalesce(e.lease_token = i.token, false) AS holder,
                   coalesce(e.last_lease_token = i.token AND e.last_report = p_step
                            AND (e.lease_token IS NULL OR e.lease_token = i.token), false) AS same_report_step,
                   coalesce(e.last_lease_token = i.token AND e.last_report = p_step
                            AND (e.lease_token IS NULL OR e.lease_token = i.token)
                            AND e.last_report_digest = i.digest, false) AS repeat
              FROM unnest(p_event_ids, p_lease_tokens, p_digests) WITH ORDINALITY AS i (id, token, digest, n)
              LEFT JOIN ledger.events e ON e.id = i.id AND e.id = ANY (p_event_ids)
              -- A join, not i.id = ANY (p_done) per event: that searched the array once for each.
              LEFT JOIN (SELECT DISTINCT x.id FROM unnest(p_done) x (id)) d ON d.id = i.id) o
     ORDER BY o.n;
END;
COMMENT ON FUNCTION ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text, text) IS
    'The answer of a report by principal p_principal, one api.report per event named: done, already_done (the same report, by step, token and content, applied before, and no lease taken since), or refused with AL001, AL003 or AL009 (also for a token held by another principal).';
-- end db/functions/_report_outcomes.sql

COMMIT;
