-- Named statements of the odbc connector, PostgreSQL dialect (psqlODBC).
-- Each statement starts with a "-- name: <name>" comment and runs up to the next one.
-- Parameters are always "?" placeholders, bound in the order documented above each statement;
-- values are never formatted into the SQL. Money and quantities are bound as decimal strings
-- (never floats), hence the CASTs here.
-- An integrator pointing the connector at an ERP's own tables rewrites these statements and
-- keeps the parameter order and the result columns.

-- name: on_connect
-- Optional; run once per new connection. params: query timeout in milliseconds (text).
-- psqlODBC does not take ODBC's connection timeout attribute, so the server applies it.
SELECT set_config('statement_timeout', ?, false)

-- name: insert_order
-- params: order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
--         placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
--         ship_detail, remark, total_amount
INSERT INTO jht_order_in (order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
                          placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
                          ship_detail, remark, total_amount)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS NUMERIC(14, 2)))

-- name: insert_order_line
-- params: order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit, unit_price, amount
INSERT INTO jht_order_line_in (order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit,
                               unit_price, amount)
VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS NUMERIC(14, 3)), ?, CAST(? AS NUMERIC(14, 2)), CAST(? AS NUMERIC(14, 2)))

-- name: select_erp_order_no
-- params: order_no. Result: one row (erp_order_no, NULL until the ERP fills it in) or none.
SELECT erp_order_no FROM jht_order_in WHERE order_no = ?

-- name: upsert_customer
-- params: customer_id, name, type, phone, contact, erp_code, updated_at
INSERT INTO jht_customer_in (customer_id, name, type, phone, contact, erp_code, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (customer_id) DO UPDATE SET
    name = EXCLUDED.name, type = EXCLUDED.type, phone = EXCLUDED.phone, contact = EXCLUDED.contact,
    erp_code = COALESCE(EXCLUDED.erp_code, jht_customer_in.erp_code), updated_at = EXCLUDED.updated_at,
    received_at = CURRENT_TIMESTAMP

-- name: insert_command
-- params: order_no, command, at. A repeated command is ignored (UNIQUE (order_no, command)).
INSERT INTO jht_command_in (order_no, command, at) VALUES (?, ?, ?)
ON CONFLICT (order_no, command) DO NOTHING

-- name: merge_customer
-- params: survivor_id, survivor_erp_code, absorbed_id, absorbed_erp_code, at. Optional (a file
-- without it makes every merge a dead letter, unless [connector.odbc] skip = ["customer.merge"]).
INSERT INTO jht_customer_merge_in (survivor_id, survivor_erp_code, absorbed_id, absorbed_erp_code, at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (survivor_id, absorbed_id) DO NOTHING

-- name: select_events
-- params: after_event_id, limit. Result columns, in this order:
-- event_id, kind, order_no, status, erp_ref, note, shipment_id, courier, tracking_no, shipped_at,
-- order_status, customer_id, erp_code
SELECT event_id, kind, order_no, status, erp_ref, note, shipment_id, courier, tracking_no, shipped_at,
       order_status, customer_id, erp_code
FROM jht_event_out WHERE event_id > ? ORDER BY event_id LIMIT ?

-- name: select_event_lines
-- params: first_event_id, last_event_id. Result: event_id, sku, quantity (shipment lines, stock items).
SELECT event_id, sku, quantity FROM jht_event_line_out
WHERE event_id BETWEEN ? AND ? ORDER BY event_id, line_no

-- name: select_stock
-- {skus} is replaced by as many "?" placeholders as there are skus in the call (at most 500 per
-- call; the connector splits longer lists): only placeholders are put into the SQL, the skus
-- themselves are bound. Result: sku, quantity.
SELECT sku, quantity FROM jht_stock WHERE sku IN ({skus})

-- name: check_tables
-- One query per line, each ending with ";": run one by one by `jht-bridge check`, each must succeed.
SELECT 1 FROM jht_order_in WHERE 1 = 0;
SELECT 1 FROM jht_order_line_in WHERE 1 = 0;
SELECT 1 FROM jht_customer_in WHERE 1 = 0;
SELECT 1 FROM jht_command_in WHERE 1 = 0;
SELECT 1 FROM jht_customer_merge_in WHERE 1 = 0;
SELECT 1 FROM jht_event_out WHERE 1 = 0;
SELECT 1 FROM jht_event_line_out WHERE 1 = 0;
SELECT 1 FROM jht_stock WHERE 1 = 0;
