// 首页: 标准品 / 定制品, search by name, spec or code, scan, 联系业务员 (C1–C4).
const { catalogPage } = require('./catalog-page');

Page(
  catalogPage({
    kind: 'standard',
    kinds: [
      { kind: 'standard', label: '标准品' },
      { kind: 'custom', label: '定制品' },
    ],
  }),
);
