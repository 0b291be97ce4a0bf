-- Named statements of the odbc connector for the worked example of docs/sql-connector.md: the
-- connector pointed at an ERP's own tables (erp-tables.sql + additions.sql), SQLite dialect.
-- Same names, parameters (in the same order) and result columns as etc/sql/sqlite/statements.sql.
--
-- Every statement binds all its parameters, once each and in the documented order, into a
-- one-row table "p" (SELECT ? AS name, …) and then uses them by name: a statement may ignore
-- some of them, and the SQL reads like the mapping it is.

-- name: insert_order
-- params: order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
--         placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
--         ship_detail, remark, total_amount
-- The customer is found by the shop's id (set by upsert_customer), else by the ERP code the
-- shop knows. Not found: FCustId stays NULL, its NOT NULL constraint refuses the order and the
-- bridge keeps it as a dead letter with the driver's message. FBillNo is left to the ERP.
INSERT INTO SAL_ORDER (F_JHT_OrderNo, FCustId, F_JHT_Released, FDate, FReceiver, FReceiverPhone,
                       FReceiveAddress, FNote, FAmount)
SELECT p.order_no,
       COALESCE((SELECT c.FCustId FROM BD_CUSTOMER c WHERE c.F_JHT_CustId = p.customer_id),
                (SELECT c.FCustId FROM BD_CUSTOMER c WHERE c.FNumber = p.customer_erp_code)),
       p.released, p.placed_at, p.ship_recipient, p.ship_phone,
       COALESCE(p.ship_province, '') || COALESCE(p.ship_city, '') || COALESCE(p.ship_district, '')
           || COALESCE(p.ship_detail, ''),
       p.remark, p.total_amount
FROM (SELECT ? AS order_no, ? AS customer_id, ? AS customer_erp_code, ? AS customer_name, ? AS customer_type,
             ? AS released, ? AS placed_at, ? AS ship_recipient, ? AS ship_phone, ? AS ship_province,
             ? AS ship_city, ? AS ship_district, ? AS ship_detail, ? AS remark, ? AS total_amount) AS p

-- name: insert_order_line
-- params: order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit, unit_price, amount
-- The header is found by the shop's order number (written just before, in the same
-- transaction); the item by the ERP item code, else by the shop's product code. An unknown
-- item leaves FMaterialId NULL: the NOT NULL constraint refuses the line and the whole order.
INSERT INTO SAL_ORDER_ENTRY (FId, FSeq, FMaterialId, FQty, FPrice, FAmount, FNote)
SELECT (SELECT o.FId FROM SAL_ORDER o WHERE o.F_JHT_OrderNo = p.order_no),
       p.line_no,
       COALESCE((SELECT m.FMaterialId FROM BD_MATERIAL m WHERE m.FNumber = p.erp_item_code),
                (SELECT m.FMaterialId FROM BD_MATERIAL m WHERE m.F_JHT_Sku = p.sku)),
       p.quantity, p.unit_price, p.amount,
       NULLIF(TRIM(COALESCE(p.spec, '') || ' ' || COALESCE(p.marking, '')), '')
FROM (SELECT ? AS order_no, ? AS line_no, ? AS sku, ? AS erp_item_code, ? AS name, ? AS spec, ? AS marking,
             ? AS quantity, ? AS unit, ? AS unit_price, ? AS amount) AS p

-- name: select_erp_order_no
-- params: order_no. Result: one row (FBillNo, NULL until the ERP audits the order) or none.
SELECT FBillNo FROM SAL_ORDER WHERE F_JHT_OrderNo = ?

-- name: upsert_customer
-- params: customer_id, name, type, phone, contact, erp_code, updated_at
-- A customer the shop links to an existing ERP customer (erp_code) links that one and leaves
-- its name, contact and phone to the ERP (its master data); a customer the ERP knows by the
-- shop's id only gets the shop's data; anyone else is a new ERP customer, whose FNumber the
-- ERP gives later.
INSERT INTO BD_CUSTOMER (F_JHT_CustId, FName, F_JHT_CustType, FPhone, FContact, FNumber, FModifyDate)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (FNumber) DO UPDATE SET
    F_JHT_CustId = excluded.F_JHT_CustId, F_JHT_CustType = excluded.F_JHT_CustType,
    FModifyDate = excluded.FModifyDate
ON CONFLICT (F_JHT_CustId) DO UPDATE SET
    FName = excluded.FName, F_JHT_CustType = excluded.F_JHT_CustType, FPhone = excluded.FPhone,
    FContact = excluded.FContact, FNumber = COALESCE(BD_CUSTOMER.FNumber, excluded.FNumber),
    FModifyDate = excluded.FModifyDate

-- name: insert_command
-- params: order_no, command, at. Each command sets a state on the order, so a repeat is harmless:
-- release (type 2: payment confirmed), cancel (作废), complete (the customer confirmed receipt).
UPDATE SAL_ORDER SET
    F_JHT_Released   = CASE WHEN p.command = 'release' THEN 1 ELSE F_JHT_Released END,
    FCancelStatus    = CASE WHEN p.command = 'cancel' THEN 'B' ELSE FCancelStatus END,
    F_JHT_ReceivedAt = CASE WHEN p.command = 'complete' THEN COALESCE(F_JHT_ReceivedAt, p.at)
                            ELSE F_JHT_ReceivedAt END
FROM (SELECT ? AS order_no, ? AS command, ? AS at) AS p
WHERE SAL_ORDER.F_JHT_OrderNo = p.order_no

-- name: select_events
-- params: after_event_id, limit. The ERP's order log, for the shop's orders only, and only the
-- actions the bridge takes: AUDIT → order.accepted (the ERP's order number), STATUS →
-- order.status (the ERP's word, translated by [sync.status_map]), OUTSTOCK → order.shipment
-- (the delivery bill: its number, courier, tracking number, date; lines below).
SELECT l.FLogId AS event_id,
       CASE l.FAction WHEN 'AUDIT' THEN 'order.accepted' WHEN 'STATUS' THEN 'order.status'
                      ELSE 'order.shipment' END AS kind,
       o.F_JHT_OrderNo AS order_no,
       CASE WHEN l.FAction = 'STATUS' THEN l.FStatus END AS status,
       o.FBillNo AS erp_ref,
       l.FNote AS note,
       s.FBillNo AS shipment_id,
       s.FCarrier AS courier,
       s.FCarriageNo AS tracking_no,
       s.FDate AS shipped_at,
       CASE WHEN l.FAction = 'OUTSTOCK' THEN l.FStatus END AS order_status
FROM SAL_ORDER_LOG l
JOIN SAL_ORDER o ON o.FId = l.FOrderId
LEFT JOIN SAL_OUTSTOCK s ON s.FId = l.FOutStockId
WHERE l.FLogId > ? AND o.F_JHT_OrderNo IS NOT NULL AND l.FAction IN ('AUDIT', 'STATUS', 'OUTSTOCK')
ORDER BY l.FLogId
LIMIT ?

-- name: select_event_lines
-- params: first_event_id, last_event_id. Result: event_id, sku, quantity: the lines of the
-- delivery bill of each OUTSTOCK log entry, by the shop's product code.
SELECT l.FLogId AS event_id, m.F_JHT_Sku AS sku, e.FRealQty AS quantity
FROM SAL_ORDER_LOG l
JOIN SAL_OUTSTOCK_ENTRY e ON e.FId = l.FOutStockId
JOIN BD_MATERIAL m ON m.FMaterialId = e.FMaterialId
WHERE l.FLogId BETWEEN ? AND ? AND l.FAction = 'OUTSTOCK'
ORDER BY l.FLogId, e.FSeq

-- name: select_stock
-- {skus}: as many "?" as skus in the call. Result: sku, quantity available (on hand less
-- reserved, over every warehouse); an item the ERP has without stock rows is 0.
SELECT m.F_JHT_Sku AS sku, COALESCE(SUM(i.FBaseQty - i.FLockQty), 0) AS quantity
FROM BD_MATERIAL m
LEFT JOIN STK_INVENTORY i ON i.FMaterialId = m.FMaterialId
WHERE m.F_JHT_Sku IN ({skus})
GROUP BY m.F_JHT_Sku

-- name: check_tables
-- Run one by one by `jht-bridge check`: every table the statements use, with the columns added
-- for the bridge, so that a missing one is named before the first order.
SELECT FCustId, FNumber, F_JHT_CustId, F_JHT_CustType FROM BD_CUSTOMER WHERE 1 = 0;
SELECT FMaterialId, FNumber, F_JHT_Sku FROM BD_MATERIAL WHERE 1 = 0;
SELECT FMaterialId, FBaseQty, FLockQty FROM STK_INVENTORY WHERE 1 = 0;
SELECT FId, FBillNo, F_JHT_OrderNo, F_JHT_Released, F_JHT_ReceivedAt, FCancelStatus FROM SAL_ORDER WHERE 1 = 0;
SELECT FId, FSeq, FMaterialId FROM SAL_ORDER_ENTRY WHERE 1 = 0;
SELECT FLogId, FOrderId, FAction, FStatus, FOutStockId FROM SAL_ORDER_LOG WHERE 1 = 0;
SELECT FId, FBillNo, FCarrier, FCarriageNo FROM SAL_OUTSTOCK WHERE 1 = 0;
SELECT FId, FSeq, FMaterialId, FRealQty FROM SAL_OUTSTOCK_ENTRY WHERE 1 = 0;
