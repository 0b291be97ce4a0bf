// 定制: the custom products granted to this customer (C1, C2), and the way to ask for a new one (C11).
const { catalogPage } = require('../home/catalog-page');

Page(catalogPage({ kind: 'custom' }));
