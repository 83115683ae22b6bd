-- Verify agentledger:tables/order_lines on pg
SELECT customer_id, version, settled_at FROM ledger.order_lines WHERE false;
SELECT first_in_line FROM ledger.events WHERE false;
SELECT 'ledger._settle_lines(text[])'::regprocedure, 'ledger._settle_lines_after_write()'::regprocedure,
       'ledger._check_line_change()'::regprocedure, 'ledger.events_first_in_line_key'::regclass;
