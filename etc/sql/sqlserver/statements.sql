-- Named statements of the odbc connector, SQL Server (T-SQL) dialect (ODBC Driver 17/18, FreeTDS).
-- Same names, parameter order and result columns as etc/sql/postgresql/statements.sql.
-- Parsed by the test suite (sqlglot, T-SQL dialect) but not yet run on a SQL Server: none runs in CI.

-- name: insert_order
-- params: order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
--         placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
--         ship_detail, remark, total_amount
INSERT INTO jht_order_in (order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
                          placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
                          ship_detail, remark, total_amount)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DECIMAL(14, 2)))

-- name: insert_order_line
-- params: order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit, unit_price, amount
INSERT INTO jht_order_line_in (order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit,
                               unit_price, amount)
VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS DECIMAL(14, 3)), ?, CAST(? AS DECIMAL(14, 2)), CAST(? AS DECIMAL(14, 2)))

-- name: select_erp_order_no
-- params: order_no
SELECT erp_order_no FROM jht_order_in WHERE order_no = ?

-- name: upsert_customer
-- params: customer_id, name, type, phone, contact, erp_code, updated_at
MERGE jht_customer_in WITH (HOLDLOCK) AS t
USING (SELECT ? AS customer_id, ? AS name, ? AS type, ? AS phone, ? AS contact, ? AS erp_code, ? AS updated_at) AS s
ON t.customer_id = s.customer_id
WHEN MATCHED THEN UPDATE SET
    name = s.name, type = s.type, phone = s.phone, contact = s.contact,
    erp_code = COALESCE(s.erp_code, t.erp_code), updated_at = s.updated_at, received_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (customer_id, name, type, phone, contact, erp_code, updated_at)
    VALUES (s.customer_id, s.name, s.type, s.phone, s.contact, s.erp_code, s.updated_at);

-- name: insert_command
-- params: order_no, command, at. A repeat violates uq_jht_command_in (SQLSTATE 23000), which the
-- connector takes as "already there".
INSERT INTO jht_command_in (order_no, command, at) VALUES (?, ?, ?)

-- name: merge_customer
-- params: survivor_id, survivor_erp_code, absorbed_id, absorbed_erp_code, at. Optional (a file
-- without it makes every merge a dead letter, unless [connector.odbc] skip = ["customer.merge"]).
-- A repeat violates uq_jht_customer_merge_in (SQLSTATE 23000): taken as "already there".
INSERT INTO jht_customer_merge_in (survivor_id, survivor_erp_code, absorbed_id, absorbed_erp_code, at)
VALUES (?, ?, ?, ?, ?)

-- name: select_events
-- params: after_event_id, limit (OFFSET/FETCH keeps the parameter order of the other dialects;
-- TOP (?) would come first).
SELECT event_id, kind, order_no, status, erp_ref, note, shipment_id, courier, tracking_no, shipped_at,
       order_status, customer_id, erp_code
FROM jht_event_out WHERE event_id > ? ORDER BY event_id OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY

-- name: select_event_lines
-- params: first_event_id, last_event_id
SELECT event_id, sku, quantity FROM jht_event_line_out
WHERE event_id BETWEEN ? AND ? ORDER BY event_id, line_no

-- name: select_stock
-- {skus}: as many "?" as skus in the call (at most 500; SQL Server takes 2100 parameters).
SELECT sku, quantity FROM jht_stock WHERE sku IN ({skus})

-- name: check_tables
SELECT 1 FROM jht_order_in WHERE 1 = 0;
SELECT 1 FROM jht_order_line_in WHERE 1 = 0;
SELECT 1 FROM jht_customer_in WHERE 1 = 0;
SELECT 1 FROM jht_command_in WHERE 1 = 0;
SELECT 1 FROM jht_customer_merge_in WHERE 1 = 0;
SELECT 1 FROM jht_event_out WHERE 1 = 0;
SELECT 1 FROM jht_event_line_out WHERE 1 = 0;
SELECT 1 FROM jht_stock WHERE 1 = 0;
