-- The ERP without an events table of docs/sql-connector.md §6.6, PostgreSQL: a sales order
-- header with a status code and a modification time, delivery bills with the tracking number,
-- items keyed by the ERP's own code only (no column for the shop's sku). In a real project the
-- tables are there already: this file documents what the statements of ./statements.sql expect.
-- The suite runs them through psqlODBC (tests/test_odbc_erp_tables.py).

CREATE TABLE bd_material (
    fmaterialid SERIAL       PRIMARY KEY,
    fnumber     VARCHAR(60)  NOT NULL UNIQUE,   -- the ERP's item code, e.g. 01.10.001
    fname       VARCHAR(200) NOT NULL
);

CREATE TABLE stk_inventory (
    fmaterialid INTEGER        NOT NULL REFERENCES bd_material (fmaterialid),
    fstockid    INTEGER        NOT NULL,            -- warehouse
    fbaseqty    NUMERIC(18, 3) NOT NULL,            -- on hand
    flockqty    NUMERIC(18, 3) NOT NULL DEFAULT 0,  -- reserved for other orders
    PRIMARY KEY (fmaterialid, fstockid)
);

CREATE TABLE sal_order (
    fid           SERIAL       PRIMARY KEY,
    fbillno       VARCHAR(40),                 -- XSDD000123, given when the ERP audits the order
    f_jht_orderno VARCHAR(40)  UNIQUE,         -- the shop's order number (the integrator's addition)
    fstatus       VARCHAR(20)  NOT NULL,       -- the ERP's status word: 已审核, 生产中, 已发货 …
    fmodifydate   TIMESTAMP(3) NOT NULL        -- set by the ERP at every change of the row
);

CREATE TABLE sal_outstock (
    fid         SERIAL       PRIMARY KEY,
    fbillno     VARCHAR(40)  NOT NULL UNIQUE,  -- XSCK000045
    forderid    INTEGER      NOT NULL REFERENCES sal_order (fid),
    fcarrier    VARCHAR(60),                   -- 顺丰速运
    fcarriageno VARCHAR(60),                   -- tracking number
    fdate       TIMESTAMP(0) NOT NULL,
    fmodifydate TIMESTAMP(3) NOT NULL
);

CREATE TABLE sal_outstock_entry (
    fid         INTEGER        NOT NULL REFERENCES sal_outstock (fid),
    fseq        INTEGER        NOT NULL,
    fmaterialid INTEGER        NOT NULL REFERENCES bd_material (fmaterialid),
    frealqty    NUMERIC(18, 3) NOT NULL,
    PRIMARY KEY (fid, fseq)
);
