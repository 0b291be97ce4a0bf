// Loading a page into miniprogram-simulate: the `Page` shim (the simulator only knows Component),
// the fake `wx`, signed-in tokens in storage.
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');

// Page({data, onLoad, onShow, handlers…}) → Component({data, methods}), as WeChat allows pages to be.
// onShow also runs on the page lifetime 'show'.
function installPageShim() {
  global.Page = (options) => {
    const methods = {};
    const data = options.data || {};
    Object.keys(options).forEach((key) => {
      if (typeof options[key] === 'function') methods[key] = options[key];
    });
    global.Component({
      data,
      methods,
      pageLifetimes: {
        show() {
          if (this.onShow) this.onShow();
        },
      },
    });
  };
  global.getCurrentPages = () => [];
}

// A fresh simulator, fake wx and Page shim; call in beforeEach after jest.resetModules().
function setup(options = {}) {
  const simulate = require('miniprogram-simulate');
  const { installFakeWx } = require('./fake-wx');
  installPageShim();
  const storage = options.signedIn === false ? {} : { 'jht.mp.tokens': { access_token: 'access-1', refresh_token: 'refresh-1' } };
  const fake = installFakeWx({ storage: { ...storage, ...(options.storage || {}) } });
  return { simulate, fake };
}

// Render the page at `rel` (e.g. 'pages/home/index') and call onLoad(query); returns the component.
async function openPage(simulate, rel, query = {}) {
  const id = simulate.load(path.join(ROOT, rel), { compiler: 'official', rootPath: ROOT });
  const page = simulate.render(id);
  page.attach(document.createElement('parent-wrapper'));
  if (page.instance.onLoad) await page.instance.onLoad(query);
  return page;
}

module.exports = { ROOT, setup, openPage, installPageShim };
