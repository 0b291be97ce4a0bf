-- Named statements of the odbc connector for the worked example of docs/sql-connector.md, SQL
-- Server (T-SQL): the connector pointed at an ERP's own tables (erp-tables.sql + additions.sql).
-- The same mapping as ../sqlite/statements.sql, which the suite runs through a real ODBC driver;
-- this file is checked by a T-SQL parser there (no SQL Server runs in the suite).
-- Every statement binds all its parameters, once each and in the documented order, into a
-- one-row table "p" and uses them by name. Money and quantities arrive as decimal strings: CAST.

-- name: insert_order
-- params: order_no, customer_id, customer_erp_code, customer_name, customer_type, released,
--         placed_at, ship_recipient, ship_phone, ship_province, ship_city, ship_district,
--         ship_detail, remark, total_amount
-- placed_at is ISO 8601 with its offset: stored as China time. An unknown customer leaves
-- FCustId NULL and its NOT NULL constraint refuses the order.
INSERT INTO SAL_ORDER (F_JHT_OrderNo, FCustId, F_JHT_Released, FDate, FReceiver, FReceiverPhone,
                       FReceiveAddress, FNote, FAmount)
SELECT p.order_no,
       COALESCE((SELECT c.FCustId FROM BD_CUSTOMER AS c WHERE c.F_JHT_CustId = p.customer_id),
                (SELECT c.FCustId FROM BD_CUSTOMER AS c WHERE c.FNumber = p.customer_erp_code)),
       p.released,
       CAST(SWITCHOFFSET(CAST(p.placed_at AS DATETIMEOFFSET), '+08:00') AS DATETIME),
       p.ship_recipient, p.ship_phone,
       CONCAT(p.ship_province, p.ship_city, p.ship_district, p.ship_detail),
       p.remark, p.total_amount
FROM (SELECT ? AS order_no, ? AS customer_id, ? AS customer_erp_code, ? AS customer_name, ? AS customer_type,
             ? AS released, ? AS placed_at, ? AS ship_recipient, ? AS ship_phone, ? AS ship_province,
             ? AS ship_city, ? AS ship_district, ? AS ship_detail, ? AS remark,
             CAST(? AS DECIMAL(18, 2)) AS total_amount) AS p

-- name: insert_order_line
-- params: order_no, line_no, sku, erp_item_code, name, spec, marking, quantity, unit, unit_price, amount
INSERT INTO SAL_ORDER_ENTRY (FId, FSeq, FMaterialId, FQty, FPrice, FAmount, FNote)
SELECT (SELECT o.FId FROM SAL_ORDER AS o WHERE o.F_JHT_OrderNo = p.order_no),
       p.line_no,
       COALESCE((SELECT m.FMaterialId FROM BD_MATERIAL AS m WHERE m.FNumber = p.erp_item_code),
                (SELECT m.FMaterialId FROM BD_MATERIAL AS m WHERE m.F_JHT_Sku = p.sku)),
       p.quantity, p.unit_price, p.amount,
       NULLIF(LTRIM(RTRIM(CONCAT(p.spec, N' ', p.marking))), N'')
FROM (SELECT ? AS order_no, ? AS line_no, ? AS sku, ? AS erp_item_code, ? AS name, ? AS spec, ? AS marking,
             CAST(? AS DECIMAL(18, 3)) AS quantity, ? AS unit, CAST(? AS DECIMAL(18, 2)) AS unit_price,
             CAST(? AS DECIMAL(18, 2)) AS amount) AS p

-- name: select_erp_order_no
-- params: order_no
SELECT FBillNo FROM SAL_ORDER WHERE F_JHT_OrderNo = ?

-- name: upsert_customer
-- params: customer_id, name, type, phone, contact, erp_code, updated_at
-- Matched by the ERP code the shop knows: linked, the ERP keeps its name, contact and phone.
-- Matched by the shop's id only: the shop's data. Neither: a new ERP customer.
MERGE BD_CUSTOMER WITH (HOLDLOCK) AS t
USING (SELECT ? AS customer_id, ? AS name, ? AS type, ? AS phone, ? AS contact, ? AS erp_code,
              CAST(SWITCHOFFSET(CAST(? AS DATETIMEOFFSET), '+08:00') AS DATETIME) AS updated_at) AS s
ON t.F_JHT_CustId = s.customer_id OR t.FNumber = s.erp_code
WHEN MATCHED THEN UPDATE SET
    F_JHT_CustId = s.customer_id, F_JHT_CustType = s.type, FModifyDate = s.updated_at,
    FName    = CASE WHEN t.FNumber = s.erp_code THEN t.FName ELSE s.name END,
    FPhone   = CASE WHEN t.FNumber = s.erp_code THEN t.FPhone ELSE s.phone END,
    FContact = CASE WHEN t.FNumber = s.erp_code THEN t.FContact ELSE s.contact END,
    FNumber  = COALESCE(t.FNumber, s.erp_code)
WHEN NOT MATCHED THEN INSERT (F_JHT_CustId, FName, F_JHT_CustType, FPhone, FContact, FNumber, FModifyDate)
    VALUES (s.customer_id, s.name, s.type, s.phone, s.contact, s.erp_code, s.updated_at);

-- name: insert_command
-- params: order_no, command, at. Each command sets a state: a repeat is harmless.
UPDATE o SET
    F_JHT_Released   = CASE WHEN p.command = N'release' THEN 1 ELSE o.F_JHT_Released END,
    FCancelStatus    = CASE WHEN p.command = N'cancel' THEN N'B' ELSE o.FCancelStatus END,
    F_JHT_ReceivedAt = CASE WHEN p.command = N'complete' THEN COALESCE(o.F_JHT_ReceivedAt, p.at)
                            ELSE o.F_JHT_ReceivedAt END
FROM SAL_ORDER AS o
JOIN (SELECT ? AS order_no, ? AS command,
             CAST(SWITCHOFFSET(CAST(? AS DATETIMEOFFSET), '+08:00') AS DATETIME) AS at) AS p
  ON o.F_JHT_OrderNo = p.order_no

-- name: select_events
-- params: after_event_id, limit (OFFSET/FETCH keeps the parameter order; TOP (?) would come first).
-- shipped_at is sent as ISO 8601 text, China time.
SELECT l.FLogId AS event_id,
       CASE l.FAction WHEN N'AUDIT' THEN N'order.accepted' WHEN N'STATUS' THEN N'order.status'
                      ELSE N'order.shipment' END AS kind,
       o.F_JHT_OrderNo AS order_no,
       CASE WHEN l.FAction = N'STATUS' THEN l.FStatus END AS status,
       o.FBillNo AS erp_ref,
       l.FNote AS note,
       s.FBillNo AS shipment_id,
       s.FCarrier AS courier,
       s.FCarriageNo AS tracking_no,
       CONVERT(NVARCHAR(19), s.FDate, 126) + N'+08:00' AS shipped_at,
       CASE WHEN l.FAction = N'OUTSTOCK' THEN l.FStatus END AS order_status
FROM SAL_ORDER_LOG AS l
JOIN SAL_ORDER AS o ON o.FId = l.FOrderId
LEFT JOIN SAL_OUTSTOCK AS s ON s.FId = l.FOutStockId
WHERE l.FLogId > ? AND o.F_JHT_OrderNo IS NOT NULL AND l.FAction IN (N'AUDIT', N'STATUS', N'OUTSTOCK')
ORDER BY l.FLogId
OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY

-- name: select_event_lines
-- params: first_event_id, last_event_id
SELECT l.FLogId AS event_id, m.F_JHT_Sku AS sku, e.FRealQty AS quantity
FROM SAL_ORDER_LOG AS l
JOIN SAL_OUTSTOCK_ENTRY AS e ON e.FId = l.FOutStockId
JOIN BD_MATERIAL AS m ON m.FMaterialId = e.FMaterialId
WHERE l.FLogId BETWEEN ? AND ? AND l.FAction = N'OUTSTOCK'
ORDER BY l.FLogId, e.FSeq

-- name: select_stock
-- {skus}: as many "?" as skus in the call (at most 500; SQL Server takes 2100 parameters).
SELECT m.F_JHT_Sku AS sku, COALESCE(SUM(i.FBaseQty - i.FLockQty), 0) AS quantity
FROM BD_MATERIAL AS m
LEFT JOIN STK_INVENTORY AS i ON i.FMaterialId = m.FMaterialId
WHERE m.F_JHT_Sku IN ({skus})
GROUP BY m.F_JHT_Sku

-- name: check_tables
SELECT FCustId, FNumber, F_JHT_CustId, F_JHT_CustType FROM BD_CUSTOMER WHERE 1 = 0;
SELECT FMaterialId, FNumber, F_JHT_Sku FROM BD_MATERIAL WHERE 1 = 0;
SELECT FMaterialId, FBaseQty, FLockQty FROM STK_INVENTORY WHERE 1 = 0;
SELECT FId, FBillNo, F_JHT_OrderNo, F_JHT_Released, F_JHT_ReceivedAt, FCancelStatus FROM SAL_ORDER WHERE 1 = 0;
SELECT FId, FSeq, FMaterialId FROM SAL_ORDER_ENTRY WHERE 1 = 0;
SELECT FLogId, FOrderId, FAction, FStatus, FOutStockId FROM SAL_ORDER_LOG WHERE 1 = 0;
SELECT FId, FBillNo, FCarrier, FCarriageNo FROM SAL_OUTSTOCK WHERE 1 = 0;
SELECT FId, FSeq, FMaterialId, FRealQty FROM SAL_OUTSTOCK_ENTRY WHERE 1 = 0;
