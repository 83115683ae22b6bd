-- Verify agentledger:tables/ordering on pg
SELECT ordered_per_customer FROM ledger.event_types WHERE false;
SELECT ordered, order_released_at FROM ledger.events WHERE false;
SELECT 'ledger._set_ordered()'::regprocedure, 'ledger.events_ordered_open_idx'::regclass;
