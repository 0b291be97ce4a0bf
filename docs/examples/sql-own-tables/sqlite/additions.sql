-- The worked example of docs/sql-connector.md: what the integrator adds to the ERP's own tables
-- (erp-tables.sql) for jht-bridge, SQLite dialect. Most ERPs let you add user-defined fields
-- (自定义字段); add these through the ERP's own tools where it has them, so that its forms,
-- reports and upgrades know them.

-- The shop's customer id: how the bridge finds "its" customer again (upsert, orders).
ALTER TABLE BD_CUSTOMER ADD COLUMN F_JHT_CustId INTEGER;
ALTER TABLE BD_CUSTOMER ADD COLUMN F_JHT_CustType INTEGER;  -- 1: produce at once, 2: wait for payment
CREATE UNIQUE INDEX UX_BD_CUSTOMER_JHT ON BD_CUSTOMER (F_JHT_CustId);

-- The shop's product code of an item, where it differs from the ERP's item code.
ALTER TABLE BD_MATERIAL ADD COLUMN F_JHT_Sku VARCHAR(60);
CREATE UNIQUE INDEX UX_BD_MATERIAL_JHT ON BD_MATERIAL (F_JHT_Sku);

-- The shop's order number: the idempotency key. The UNIQUE index is what makes a second delivery
-- of the same order fail instead of creating a second order: do not leave it out.
ALTER TABLE SAL_ORDER ADD COLUMN F_JHT_OrderNo VARCHAR(40);
CREATE UNIQUE INDEX UX_SAL_ORDER_JHT ON SAL_ORDER (F_JHT_OrderNo);
ALTER TABLE SAL_ORDER ADD COLUMN F_JHT_Released SMALLINT NOT NULL DEFAULT 0;  -- type 2: payment confirmed
ALTER TABLE SAL_ORDER ADD COLUMN F_JHT_ReceivedAt VARCHAR(40);                -- the customer confirmed receipt
