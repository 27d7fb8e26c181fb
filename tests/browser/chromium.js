// Launches Debian's Chromium (the path tests/browser/setup.sh printed, or $DOODLE_CHROMIUM) headless through
// playwright-core: no browser download. Root needs --no-sandbox (CI runs as root).
'use strict';
const { chromium } = require('playwright-core');

function launch(executablePath) {
  const path = executablePath || process.env.DOODLE_CHROMIUM || '/usr/bin/chromium';
  const args = ['--disable-gpu', '--disable-dev-shm-usage'];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: path, headless: true, args });
}

module.exports = { launch };
