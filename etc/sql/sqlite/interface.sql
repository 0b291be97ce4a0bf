-- Reference interface tables (中间表) between jht-bridge and the ERP, SQLite dialect.
-- The bridge writes the *_in tables and reads jht_event_out / jht_event_line_out / jht_stock;
-- the ERP side imports the *_in rows (setting imported_at and erp_order_no) and writes events.
-- Money and quantities are TEXT holding decimal strings: the SQLite ODBC driver stores
-- DECIMAL/NUMERIC as REAL and loses digits.

CREATE TABLE IF NOT EXISTS jht_order_in (
    order_no          VARCHAR(40)    NOT NULL PRIMARY KEY,  -- the bridge order number: idempotency key
    customer_id       INTEGER        NOT NULL,
    customer_erp_code VARCHAR(40),
    customer_name     VARCHAR(200)   NOT NULL,
    customer_type     INTEGER,
    released          SMALLINT       NOT NULL DEFAULT 0,
    placed_at         VARCHAR(40),
    ship_recipient    VARCHAR(100),
    ship_phone        VARCHAR(40),
    ship_province     VARCHAR(60),
    ship_city         VARCHAR(60),
    ship_district     VARCHAR(60),
    ship_detail       VARCHAR(400),
    remark            VARCHAR(1000),
    total_amount      TEXT           NOT NULL,
    erp_order_no      VARCHAR(40),                          -- filled in by the ERP
    received_at       TIMESTAMP      NOT NULL DEFAULT CURRENT_TIMESTAMP,
    imported_at       TIMESTAMP                             -- filled in by the ERP
);

CREATE TABLE IF NOT EXISTS jht_order_line_in (
    order_no      VARCHAR(40)    NOT NULL REFERENCES jht_order_in (order_no),
    line_no       INTEGER        NOT NULL,
    sku           VARCHAR(60)    NOT NULL,
    erp_item_code VARCHAR(60),
    name          VARCHAR(200)   NOT NULL,
    spec          VARCHAR(200),
    marking       VARCHAR(200),
    quantity      TEXT           NOT NULL,
    unit          VARCHAR(20),
    unit_price    TEXT           NOT NULL,
    amount        TEXT           NOT NULL,
    PRIMARY KEY (order_no, line_no)
);

CREATE TABLE IF NOT EXISTS jht_customer_in (
    customer_id  INTEGER      NOT NULL PRIMARY KEY,
    name         VARCHAR(200) NOT NULL,
    type         INTEGER,
    phone        VARCHAR(40),
    contact      VARCHAR(100),
    erp_code     VARCHAR(40),
    updated_at   VARCHAR(40),
    received_at  TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS jht_command_in (
    id          INTEGER      PRIMARY KEY AUTOINCREMENT,
    order_no    VARCHAR(40)  NOT NULL,
    command     VARCHAR(20)  NOT NULL CHECK (command IN ('release', 'cancel', 'complete')),
    at          VARCHAR(40),
    received_at TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    imported_at TIMESTAMP,
    UNIQUE (order_no, command)
);

-- One row per customer merge in the bridge (A2): the ERP folds the absorbed customer into the
-- survivor (or has a person do it) and sets imported_at.
CREATE TABLE IF NOT EXISTS jht_customer_merge_in (
    id                INTEGER      PRIMARY KEY AUTOINCREMENT,
    survivor_id       INTEGER      NOT NULL,
    survivor_erp_code VARCHAR(40),
    absorbed_id       INTEGER      NOT NULL,
    absorbed_erp_code VARCHAR(40),
    at                VARCHAR(40),
    received_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    imported_at       TIMESTAMP,
    UNIQUE (survivor_id, absorbed_id)
);

-- One row per event; the bridge polls on event_id (monotonically increasing).
CREATE TABLE IF NOT EXISTS jht_event_out (
    event_id     INTEGER      PRIMARY KEY AUTOINCREMENT,
    kind         VARCHAR(40)  NOT NULL,   -- order.status, order.accepted, order.released, order.shipment, stock, customer.code
    order_no     VARCHAR(40),
    status       VARCHAR(40),             -- order.status: the ERP's word
    erp_ref      VARCHAR(40),
    note         VARCHAR(1000),
    shipment_id  VARCHAR(60),
    courier      VARCHAR(60),
    tracking_no  VARCHAR(60),
    shipped_at   VARCHAR(40),
    order_status VARCHAR(40),             -- order.shipment: e.g. shipped once the whole order has gone
    customer_id  INTEGER,
    erp_code     VARCHAR(40),
    created_at   TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Lines of an order.shipment event (sku, quantity shipped) or items of a stock event.
CREATE TABLE IF NOT EXISTS jht_event_line_out (
    event_id INTEGER        NOT NULL REFERENCES jht_event_out (event_id),
    line_no  INTEGER        NOT NULL,
    sku      VARCHAR(60)    NOT NULL,
    quantity TEXT           NOT NULL,
    PRIMARY KEY (event_id, line_no)
);

CREATE TABLE IF NOT EXISTS jht_stock (
    sku        VARCHAR(60)    NOT NULL PRIMARY KEY,
    quantity   TEXT           NOT NULL,
    updated_at TIMESTAMP      NOT NULL DEFAULT CURRENT_TIMESTAMP
);
