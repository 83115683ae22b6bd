-- Deploy agentledger:functions/review_event to pg
-- Written by `agentledger db functions` from db/functions/review_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.review_event(bigint, text, text, text, timestamptz);

-- begin db/functions/review_event.sql
CREATE OR REPLACE FUNCTION api.review_event(
    p_event_id bigint,
    p_verdict text,
    p_reason text,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION api.review_event(bigint, text, text, timestamptz, text) IS
$$A reviewer's verdict (approved or rejected, with a reason: AL008 without one) on an event in review
(AL003 otherwise), by the principal of the API key p_key (a reviewer key) or of the login, which must
be human (42501). The proposing principal may not review (AL017), nor may one principal approve
twice, whatever key it uses (AL018).
One rejection decides the event rejected; it is approved once approvals_required distinct reviewers
have approved, and an approval short of that is recorded as an audit row of its own. Once decided,
the follow-up action is offered to workers.$$;
GRANT EXECUTE ON FUNCTION api.review_event(bigint, text, text, timestamptz, text) TO agentledger_api;
-- end db/functions/review_event.sql

COMMIT;
