-- Reference interface tables (中间表) between jht-bridge and the ERP, SQL Server (T-SQL) dialect.
-- The bridge writes the *_in tables and reads jht_event_out / jht_event_line_out / jht_stock;
-- the ERP side imports the *_in rows (setting imported_at and erp_order_no) and writes events.
-- Text is NVARCHAR (Chinese); money and quantities are exact DECIMAL.
-- Parsed by the test suite (sqlglot, T-SQL dialect) but not yet run on a SQL Server: none runs in CI.

CREATE TABLE jht_order_in (
    order_no          NVARCHAR(40)   NOT NULL PRIMARY KEY,
    customer_id       INT            NOT NULL,
    customer_erp_code NVARCHAR(40)   NULL,
    customer_name     NVARCHAR(200)  NOT NULL,
    customer_type     INT            NULL,
    released          SMALLINT       NOT NULL DEFAULT 0,
    placed_at         NVARCHAR(40)   NULL,
    ship_recipient    NVARCHAR(100)  NULL,
    ship_phone        NVARCHAR(40)   NULL,
    ship_province     NVARCHAR(60)   NULL,
    ship_city         NVARCHAR(60)   NULL,
    ship_district     NVARCHAR(60)   NULL,
    ship_detail       NVARCHAR(400)  NULL,
    remark            NVARCHAR(1000) NULL,
    total_amount      DECIMAL(14, 2) NOT NULL,
    erp_order_no      NVARCHAR(40)   NULL,
    received_at       DATETIME2      NOT NULL DEFAULT SYSUTCDATETIME(),
    imported_at       DATETIME2      NULL
);

CREATE TABLE jht_order_line_in (
    order_no      NVARCHAR(40)   NOT NULL REFERENCES jht_order_in (order_no),
    line_no       INT            NOT NULL,
    sku           NVARCHAR(60)   NOT NULL,
    erp_item_code NVARCHAR(60)   NULL,
    name          NVARCHAR(200)  NOT NULL,
    spec          NVARCHAR(200)  NULL,
    marking       NVARCHAR(200)  NULL,
    quantity      DECIMAL(14, 3) NOT NULL,
    unit          NVARCHAR(20)   NULL,
    unit_price    DECIMAL(14, 2) NOT NULL,
    amount        DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY (order_no, line_no)
);

CREATE TABLE jht_customer_in (
    customer_id INT           NOT NULL PRIMARY KEY,
    name        NVARCHAR(200) NOT NULL,
    type        INT           NULL,
    phone       NVARCHAR(40)  NULL,
    contact     NVARCHAR(100) NULL,
    erp_code    NVARCHAR(40)  NULL,
    updated_at  NVARCHAR(40)  NULL,
    received_at DATETIME2     NOT NULL DEFAULT SYSUTCDATETIME()
);

CREATE TABLE jht_command_in (
    id          BIGINT IDENTITY(1, 1) PRIMARY KEY,
    order_no    NVARCHAR(40) NOT NULL,
    command     NVARCHAR(20) NOT NULL CHECK (command IN (N'release', N'cancel', N'complete')),
    at          NVARCHAR(40) NULL,
    received_at DATETIME2    NOT NULL DEFAULT SYSUTCDATETIME(),
    imported_at DATETIME2    NULL,
    CONSTRAINT uq_jht_command_in UNIQUE (order_no, command)
);

-- One row per customer merge in the bridge (A2): the ERP folds the absorbed customer into the
-- survivor (or has a person do it) and sets imported_at.
CREATE TABLE jht_customer_merge_in (
    id                BIGINT IDENTITY(1, 1) PRIMARY KEY,
    survivor_id       INT          NOT NULL,
    survivor_erp_code NVARCHAR(40) NULL,
    absorbed_id       INT          NOT NULL,
    absorbed_erp_code NVARCHAR(40) NULL,
    at                NVARCHAR(40) NULL,
    received_at       DATETIME2    NOT NULL DEFAULT SYSUTCDATETIME(),
    imported_at       DATETIME2    NULL,
    CONSTRAINT uq_jht_customer_merge_in UNIQUE (survivor_id, absorbed_id)
);

CREATE TABLE jht_event_out (
    event_id     BIGINT IDENTITY(1, 1) PRIMARY KEY,
    kind         NVARCHAR(40)   NOT NULL,
    order_no     NVARCHAR(40)   NULL,
    status       NVARCHAR(40)   NULL,
    erp_ref      NVARCHAR(40)   NULL,
    note         NVARCHAR(1000) NULL,
    shipment_id  NVARCHAR(60)   NULL,
    courier      NVARCHAR(60)   NULL,
    tracking_no  NVARCHAR(60)   NULL,
    shipped_at   NVARCHAR(40)   NULL,
    order_status NVARCHAR(40)   NULL,
    customer_id  INT            NULL,
    erp_code     NVARCHAR(40)   NULL,
    created_at   DATETIME2      NOT NULL DEFAULT SYSUTCDATETIME()
);

CREATE TABLE jht_event_line_out (
    event_id BIGINT         NOT NULL REFERENCES jht_event_out (event_id),
    line_no  INT            NOT NULL,
    sku      NVARCHAR(60)   NOT NULL,
    quantity DECIMAL(14, 3) NOT NULL,
    PRIMARY KEY (event_id, line_no)
);

CREATE TABLE jht_stock (
    sku        NVARCHAR(60)   NOT NULL PRIMARY KEY,
    quantity   DECIMAL(14, 3) NOT NULL,
    updated_at DATETIME2      NOT NULL DEFAULT SYSUTCDATETIME()
);
