-- The worked example of docs/sql-connector.md: an existing ERP's own tables, SQLite dialect.
-- A stand-in for the production software's database (sales orders and their lines, customers,
-- items, stock, delivery bills, the ERP's order log), with names in the style of common Chinese
-- ERPs. In a real project these tables are there already; this file lets the example run in the
-- test suite (tests/test_odbc_own_tables.py). The ERP itself would hold money and quantities in
-- DECIMAL; here they are TEXT because the SQLite ODBC driver loses digits in DECIMAL.

-- Customers (客户). FNumber is the ERP's customer code, given by the ERP.
CREATE TABLE BD_CUSTOMER (
    FCustId     INTEGER      PRIMARY KEY AUTOINCREMENT,
    FNumber     VARCHAR(40),
    FName       VARCHAR(200) NOT NULL,
    FContact    VARCHAR(100),
    FPhone      VARCHAR(40),
    FModifyDate VARCHAR(40)
);
CREATE UNIQUE INDEX UX_BD_CUSTOMER_FNumber ON BD_CUSTOMER (FNumber);

-- Items (物料). FNumber is the ERP's item code, e.g. 01.10.001.
CREATE TABLE BD_MATERIAL (
    FMaterialId    INTEGER      PRIMARY KEY AUTOINCREMENT,
    FNumber        VARCHAR(60)  NOT NULL UNIQUE,
    FName          VARCHAR(200) NOT NULL,
    FSpecification VARCHAR(200),
    FUnit          VARCHAR(20)
);

-- Stock (即时库存): one row per item and warehouse.
CREATE TABLE STK_INVENTORY (
    FMaterialId INTEGER NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FStockId    INTEGER NOT NULL,
    FBaseQty    TEXT    NOT NULL,
    FLockQty    TEXT    NOT NULL DEFAULT '0',
    PRIMARY KEY (FMaterialId, FStockId)
);

-- Sales orders (销售订单), header. FBillNo (XSDD000123) is given when the ERP audits the order.
CREATE TABLE SAL_ORDER (
    FId             INTEGER       PRIMARY KEY AUTOINCREMENT,
    FBillNo         VARCHAR(40),
    FDate           VARCHAR(40)   NOT NULL,
    FCustId         INTEGER       NOT NULL REFERENCES BD_CUSTOMER (FCustId),
    FReceiver       VARCHAR(100),
    FReceiverPhone  VARCHAR(40),
    FReceiveAddress VARCHAR(400),
    FNote           VARCHAR(1000),
    FAmount         TEXT          NOT NULL,
    FDocumentStatus CHAR(1)       NOT NULL DEFAULT 'A',  -- A new (创建), C audited (已审核)
    FCancelStatus   CHAR(1)       NOT NULL DEFAULT 'A'   -- A normal, B cancelled (作废)
);
CREATE UNIQUE INDEX UX_SAL_ORDER_FBillNo ON SAL_ORDER (FBillNo);

-- Sales order lines.
CREATE TABLE SAL_ORDER_ENTRY (
    FEntryId    INTEGER PRIMARY KEY AUTOINCREMENT,
    FId         INTEGER NOT NULL REFERENCES SAL_ORDER (FId),
    FSeq        INTEGER NOT NULL,
    FMaterialId INTEGER NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FQty        TEXT    NOT NULL,
    FPrice      TEXT    NOT NULL,
    FAmount     TEXT    NOT NULL,
    FNote       VARCHAR(400),
    UNIQUE (FId, FSeq)
);

-- Delivery bills (销售出库单): one per shipment, with the courier and tracking number.
CREATE TABLE SAL_OUTSTOCK (
    FId         INTEGER     PRIMARY KEY AUTOINCREMENT,
    FBillNo     VARCHAR(40) NOT NULL UNIQUE,
    FDate       VARCHAR(40) NOT NULL,
    FCarrier    VARCHAR(60),
    FCarriageNo VARCHAR(60)
);

CREATE TABLE SAL_OUTSTOCK_ENTRY (
    FEntryId    INTEGER PRIMARY KEY AUTOINCREMENT,
    FId         INTEGER NOT NULL REFERENCES SAL_OUTSTOCK (FId),
    FSeq        INTEGER NOT NULL,
    FMaterialId INTEGER NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FRealQty    TEXT    NOT NULL
);

-- The ERP's log of what happened to each sales order, written by the ERP (or by a trigger the
-- integrator adds). FAction: AUDIT (audited, FBillNo given), STATUS (FStatus is the new status in
-- the ERP's words), OUTSTOCK (a delivery bill went out; FStatus the order's status after it),
-- and others the bridge does not read (PRINT, CLOSE …).
CREATE TABLE SAL_ORDER_LOG (
    FLogId      INTEGER     PRIMARY KEY AUTOINCREMENT,
    FOrderId    INTEGER     NOT NULL REFERENCES SAL_ORDER (FId),
    FAction     VARCHAR(20) NOT NULL,
    FStatus     VARCHAR(40),
    FOutStockId INTEGER     REFERENCES SAL_OUTSTOCK (FId),
    FNote       VARCHAR(400),
    FTime       VARCHAR(40) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
