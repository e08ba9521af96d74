/* SPDX-License-Identifier: BSD-2-Clause */
// Headless Chromium opens the demo page served by the backend, connects to
// /echo, sends a message and sees the echo; then two pages join the same chat
// room and a message from one appears on the other.
// Usage: node ws_browser.js BASE_URL SCREENSHOT_DIR
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

const base = process.argv[2];
const shots = process.argv[3];

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bactrian-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  try {
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    await page.goto(base + '/');
    const url = await page.inputValue('#url');
    if (!/^ws:\/\/.+\/echo$/.test(url)) throw new Error('echo URL field: ' + url);
    await page.click('#connect');
    await page.waitForSelector('#echo-log .info:has-text("connected")');
    await page.fill('#message', 'Hello from Chromium ü');
    await page.click('#send');
    await page.waitForSelector('#echo-log .recv:has-text("< Hello from Chromium ü")');
    await page.click('#disconnect');
    await page.waitForSelector('#echo-log .info:has-text("closed (1000")');
    console.log('echo: ok');

    const page2 = await ctx.newPage();
    page2.setDefaultTimeout(10000);
    await page2.goto(base + '/');
    for (const [p, nick] of [[page, 'alice'], [page2, 'bob']]) {
      await p.fill('#nick', nick);
      await p.fill('#room', 'lobby');
      await p.click('#join');
      await p.waitForSelector('#chat-status:has-text("In room lobby as ' + nick + '")');
    }
    await page.waitForSelector('#chat-log .info:has-text("bob joined lobby")');
    await page.fill('#chat-text', 'one hump or two?');
    await page.click('#say');
    await page2.waitForSelector('#chat-log .recv:has-text("alice: one hump or two?")');
    await page2.fill('#chat-text', 'two, obviously');
    await page2.press('#chat-text', 'Enter');
    await page.waitForSelector('#chat-log .recv:has-text("bob: two, obviously")');
    await page2.click('#leave');
    await page.waitForSelector('#chat-log .info:has-text("bob left lobby")');
    console.log('chat: ok');
    if (shots)
      await page.screenshot({ path: path.join(shots, 'demo.png'), fullPage: true });
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => { console.error('FAIL: ' + e.message); process.exit(1); });
