// The project opens in WeChat DevTools: app.json valid, every page with its four files, one wx.request.
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));

function allPages() {
  const pages = [...app.pages];
  (app.subpackages || []).forEach((sp) => sp.pages.forEach((p) => pages.push(`${sp.root}/${p}`)));
  return pages;
}

test.each(allPages())('page %s has its .js, .json, .wxml and .wxss', (page) => {
  ['js', 'json', 'wxml', 'wxss'].forEach((ext) => {
    expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true);
  });
  JSON.parse(fs.readFileSync(path.join(ROOT, `${page}.json`), 'utf8'));
});

test('every tab is a page of the main package', () => {
  app.tabBar.list.forEach((tab) => expect(app.pages).toContain(tab.pagePath));
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['首页', '定制', '订单', '我的']);
});

test('project.config.json has a placeholder appid and the root', () => {
  const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'));
  expect(['touristappid', 'wx0000000000000000']).toContain(project.appid);
  expect(fs.existsSync(path.join(ROOT, project.miniprogramRoot, 'app.json'))).toBe(true);
});
