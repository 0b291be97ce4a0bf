-- The ERP without an events table of docs/sql-connector.md §6.6 (PostgreSQL): its rows are
-- read by their modification time ([connector.odbc] event_cursor = "modified_time") and its
-- items by the ERP's own item code. These statements replace select_events, select_event_lines
-- and select_stock of the worked example §6.3; the writing statements stay as they are there.

-- name: select_changes
-- params: since (the newest modification time read, less look_back_s), limit. One row per
-- changed row, each with its key, its modification time and the columns of its kind (§4.4).
-- Order headers are order.status events (FStatus, the ERP's word); delivery bills are
-- order.shipment events. The shop's orders only (f_jht_orderno set).
WITH p AS (SELECT CAST(? AS TIMESTAMP) AS since)
SELECT 'O' || o.fid AS row_key, o.fmodifydate AS modified_at, 'order.status' AS kind,
       o.f_jht_orderno AS order_no, o.fstatus AS status, o.fbillno AS erp_ref,
       NULL AS shipment_id, NULL AS courier, NULL AS tracking_no, NULL AS shipped_at
FROM sal_order o, p
WHERE o.f_jht_orderno IS NOT NULL AND o.fmodifydate >= p.since
UNION ALL
SELECT 'S' || s.fid, s.fmodifydate, 'order.shipment',
       o.f_jht_orderno, NULL, o.fbillno,
       s.fbillno, s.fcarrier, s.fcarriageno, to_char(s.fdate, 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'
FROM sal_outstock s JOIN sal_order o ON o.fid = s.forderid, p
WHERE o.f_jht_orderno IS NOT NULL AND s.fmodifydate >= p.since
ORDER BY modified_at, row_key
LIMIT ?

-- name: select_change_lines
-- {row_keys}: one "?" per row key select_changes returned. Result, by position: row_key, sku,
-- quantity, erp_item_code. This ERP has no column for the shop's sku: NULL, and the bridge
-- finds the sku from the ERP item code it keeps with each product.
SELECT 'S' || e.fid AS row_key, NULL AS sku, e.frealqty AS quantity, m.fnumber AS erp_item_code
FROM sal_outstock_entry e JOIN bd_material m ON m.fmaterialid = e.fmaterialid
WHERE 'S' || e.fid IN ({row_keys})
ORDER BY e.fid, e.fseq

-- name: select_stock
-- {erp_item_codes}: one "?" per ERP item code the bridge knows for the skus asked ({skus} would
-- give the skus themselves). Result: the code, quantity available over every warehouse.
SELECT m.fnumber AS code, COALESCE(SUM(i.fbaseqty - i.flockqty), 0) AS quantity
FROM bd_material m
LEFT JOIN stk_inventory i ON i.fmaterialid = m.fmaterialid
WHERE m.fnumber IN ({erp_item_codes})
GROUP BY m.fnumber
