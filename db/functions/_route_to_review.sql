CREATE OR REPLACE FUNCTION ledger._route_to_review() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION ledger._route_to_review() IS
    'Trigger: a decision whose event type''s review policy holds (or whose threshold field is missing or not a number) becomes a proposal: the event goes to in_review (no lease) with the proposal, its proposer and the approvals it needs.';
