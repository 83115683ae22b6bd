CREATE FUNCTION ledger._report_outcomes(
    p_event_ids bigint[], p_lease_tokens uuid[], p_done bigint[], p_step text, p_from text)
RETURNS SETOF api.report
LANGUAGE sql STABLE
-- Runs after the report's UPDATE, with its events still locked: p_done lists those it changed; the
-- others are told apart here, in the order they were named. "Already done" needs the same token and
-- the same step as the latest report, and no other lease on the event since.
BEGIN ATOMIC
    SELECT i.id,
           CASE WHEN i.id = ANY (p_done) THEN 'done'
                WHEN e.last_lease_token = i.token AND e.last_report = p_step
                     AND (e.lease_token IS NULL OR e.lease_token = i.token) THEN 'already_done'
                ELSE 'refused' END,
           e.status,
           CASE WHEN i.id = ANY (p_done) THEN NULL
                WHEN e.last_lease_token = i.token AND e.last_report = p_step
                     AND (e.lease_token IS NULL OR e.lease_token = i.token) THEN NULL
                WHEN e.id IS NULL THEN 'AL001'
                WHEN e.lease_token = i.token THEN 'AL003'
                ELSE 'AL009' END,
           CASE WHEN i.id = ANY (p_done) THEN NULL
                WHEN e.last_lease_token = i.token AND e.last_report = p_step
                     AND (e.lease_token IS NULL OR e.lease_token = i.token) THEN NULL
                WHEN e.id IS NULL THEN format('no event has id %s', i.id)
                WHEN e.lease_token = i.token THEN
                    format('event %s is %s; %s applies to %s events', i.id, e.status, p_step, p_from)
                WHEN e.lease_token IS NULL THEN
                    format('event %s: this lease has ended; the event holds no lease now', i.id)
                ELSE format('event %s: this lease has ended; it is held under another lease until %s',
                            i.id, e.lease_expires_at) END,
           CASE WHEN e.lease_token = i.token THEN e.lease_expires_at END,
           CASE WHEN e.status = 'queued' OR e.status IN ('approved', 'rejected') AND e.lease_token IS NULL
                THEN e.run_after END
      FROM unnest(p_event_ids, p_lease_tokens) WITH ORDINALITY AS i (id, token, n)
      LEFT JOIN ledger.events e ON e.id = i.id
     ORDER BY i.n;
END;
COMMENT ON FUNCTION ledger._report_outcomes(bigint[], uuid[], bigint[], text, text) IS
    'The answer of a report, one api.report per event named: done, already_done (the same step reported with the same token before, and no lease taken since), or refused with AL001, AL003 or AL009.';
