-- The worked example of docs/sql-connector.md: an existing ERP's own tables, SQL Server (T-SQL).
-- The same tables as ../sqlite/erp-tables.sql, as a SQL Server ERP has them. In a real project
-- they are there already: this file documents what the example's statements expect.
-- Checked by a T-SQL parser in the suite (tests/test_sql_files.py); no SQL Server runs there.

CREATE TABLE BD_CUSTOMER (
    FCustId     INT IDENTITY(1, 1) PRIMARY KEY,
    FNumber     NVARCHAR(40)  NULL,            -- the ERP's customer code, given by the ERP
    FName       NVARCHAR(200) NOT NULL,
    FContact    NVARCHAR(100) NULL,
    FPhone      NVARCHAR(40)  NULL,
    FModifyDate DATETIME      NULL
);
CREATE UNIQUE INDEX UX_BD_CUSTOMER_FNumber ON BD_CUSTOMER (FNumber) WHERE FNumber IS NOT NULL;

CREATE TABLE BD_MATERIAL (
    FMaterialId    INT IDENTITY(1, 1) PRIMARY KEY,
    FNumber        NVARCHAR(60)  NOT NULL UNIQUE,   -- the ERP's item code, e.g. 01.10.001
    FName          NVARCHAR(200) NOT NULL,
    FSpecification NVARCHAR(200) NULL,
    FUnit          NVARCHAR(20)  NULL
);

CREATE TABLE STK_INVENTORY (
    FMaterialId INT            NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FStockId    INT            NOT NULL,            -- warehouse
    FBaseQty    DECIMAL(18, 3) NOT NULL,            -- on hand
    FLockQty    DECIMAL(18, 3) NOT NULL DEFAULT 0,  -- reserved for other orders
    PRIMARY KEY (FMaterialId, FStockId)
);

CREATE TABLE SAL_ORDER (
    FId             INT IDENTITY(1, 1) PRIMARY KEY,
    FBillNo         NVARCHAR(40)   NULL,            -- XSDD000123, given when the ERP audits the order
    FDate           DATETIME       NOT NULL,
    FCustId         INT            NOT NULL REFERENCES BD_CUSTOMER (FCustId),
    FReceiver       NVARCHAR(100)  NULL,
    FReceiverPhone  NVARCHAR(40)   NULL,
    FReceiveAddress NVARCHAR(400)  NULL,
    FNote           NVARCHAR(1000) NULL,
    FAmount         DECIMAL(18, 2) NOT NULL,
    FDocumentStatus NCHAR(1)       NOT NULL DEFAULT N'A',  -- A new (创建), C audited (已审核)
    FCancelStatus   NCHAR(1)       NOT NULL DEFAULT N'A'   -- A normal, B cancelled (作废)
);
CREATE UNIQUE INDEX UX_SAL_ORDER_FBillNo ON SAL_ORDER (FBillNo) WHERE FBillNo IS NOT NULL;

CREATE TABLE SAL_ORDER_ENTRY (
    FEntryId    INT IDENTITY(1, 1) PRIMARY KEY,
    FId         INT            NOT NULL REFERENCES SAL_ORDER (FId),
    FSeq        INT            NOT NULL,
    FMaterialId INT            NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FQty        DECIMAL(18, 3) NOT NULL,
    FPrice      DECIMAL(18, 2) NOT NULL,
    FAmount     DECIMAL(18, 2) NOT NULL,
    FNote       NVARCHAR(400)  NULL,
    CONSTRAINT UQ_SAL_ORDER_ENTRY_Seq UNIQUE (FId, FSeq)
);

CREATE TABLE SAL_OUTSTOCK (
    FId         INT IDENTITY(1, 1) PRIMARY KEY,
    FBillNo     NVARCHAR(40) NOT NULL UNIQUE,   -- XSCK000045
    FDate       DATETIME     NOT NULL,
    FCarrier    NVARCHAR(60) NULL,              -- 顺丰速运
    FCarriageNo NVARCHAR(60) NULL               -- tracking number
);

CREATE TABLE SAL_OUTSTOCK_ENTRY (
    FEntryId    INT IDENTITY(1, 1) PRIMARY KEY,
    FId         INT            NOT NULL REFERENCES SAL_OUTSTOCK (FId),
    FSeq        INT            NOT NULL,
    FMaterialId INT            NOT NULL REFERENCES BD_MATERIAL (FMaterialId),
    FRealQty    DECIMAL(18, 3) NOT NULL
);

-- The ERP's order log: AUDIT, STATUS (FStatus: the ERP's word), OUTSTOCK (FOutStockId: the
-- delivery bill, FStatus: the order's status after it), and actions the bridge does not read.
CREATE TABLE SAL_ORDER_LOG (
    FLogId      BIGINT IDENTITY(1, 1) PRIMARY KEY,
    FOrderId    INT           NOT NULL REFERENCES SAL_ORDER (FId),
    FAction     NVARCHAR(20)  NOT NULL,
    FStatus     NVARCHAR(40)  NULL,
    FOutStockId INT           NULL REFERENCES SAL_OUTSTOCK (FId),
    FNote       NVARCHAR(400) NULL,
    FTime       DATETIME      NOT NULL DEFAULT GETDATE()
);
