// /api/mp/v1/products, /scan — the catalog this customer may see, at their prices (C1, C2, C4).
const { request } = require('../utils/request');

module.exports = {
  // GET /products?kind=standard|custom&q=&page= → ProductPage {page, page_size, total, items}
  listProducts: ({ kind, q, page = 1 } = {}, options = {}) =>
    request({ path: '/products', params: { kind, q, page }, ...options }),
  // GET /products/{id} → ProductView
  getProduct: (id, options = {}) => request({ path: `/products/${id}`, ...options }),
  // POST /scan {payload} → ScanView {product, qr_payload, marking, spec}
  scan: (payload, options = {}) => request({ method: 'POST', path: '/scan', data: { payload }, ...options }),
};
