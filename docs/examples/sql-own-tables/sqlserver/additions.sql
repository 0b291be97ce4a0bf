-- The worked example of docs/sql-connector.md: what the integrator adds to the ERP's own tables
-- for jht-bridge, SQL Server (T-SQL). Prefer the ERP's own tools for user-defined fields
-- (自定义字段) where it has them. Filtered unique indexes: the ERP's own customers, items and
-- orders (from other channels) have NULL there.

ALTER TABLE BD_CUSTOMER ADD F_JHT_CustId INT NULL, F_JHT_CustType INT NULL;
CREATE UNIQUE INDEX UX_BD_CUSTOMER_JHT ON BD_CUSTOMER (F_JHT_CustId) WHERE F_JHT_CustId IS NOT NULL;

ALTER TABLE BD_MATERIAL ADD F_JHT_Sku NVARCHAR(60) NULL;
CREATE UNIQUE INDEX UX_BD_MATERIAL_JHT ON BD_MATERIAL (F_JHT_Sku) WHERE F_JHT_Sku IS NOT NULL;

-- The shop's order number: the idempotency key. Its UNIQUE index makes a second delivery of the
-- same order fail instead of creating a second order: do not leave it out.
ALTER TABLE SAL_ORDER ADD F_JHT_OrderNo NVARCHAR(40) NULL,
    F_JHT_Released SMALLINT NOT NULL CONSTRAINT DF_SAL_ORDER_JHT_Released DEFAULT 0,
    F_JHT_ReceivedAt DATETIME NULL;
CREATE UNIQUE INDEX UX_SAL_ORDER_JHT ON SAL_ORDER (F_JHT_OrderNo) WHERE F_JHT_OrderNo IS NOT NULL;

-- The bridge's login (an example: use your own names): what its statements need, no more.
-- CREATE USER jht_bridge FOR LOGIN jht_bridge;
GRANT SELECT, INSERT, UPDATE ON BD_CUSTOMER TO jht_bridge;
GRANT SELECT, INSERT, UPDATE ON SAL_ORDER TO jht_bridge;
GRANT SELECT, INSERT ON SAL_ORDER_ENTRY TO jht_bridge;
GRANT SELECT ON BD_MATERIAL TO jht_bridge;
GRANT SELECT ON STK_INVENTORY TO jht_bridge;
GRANT SELECT ON SAL_ORDER_LOG TO jht_bridge;
GRANT SELECT ON SAL_OUTSTOCK TO jht_bridge;
GRANT SELECT ON SAL_OUTSTOCK_ENTRY TO jht_bridge;
