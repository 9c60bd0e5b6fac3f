// The Studio in a real browser (Debian's chromium, driven by playwright-core), against the real
// node, data and serving workers that tests/studio.rs starts. Run by that test; by hand:
//   STUDIO_URL=http://127.0.0.1:8080 NODE_URL=ws://127.0.0.1:9944 PENDING=0 node tests/studio-browser.mjs
// Environment:
//   STUDIO_URL  the Studio (tributary-studio)      NODE_URL  the node's WebSocket RPC
//   PENDING     id of a pending contribution by Dave, for Bob to approve, whose bytes a data peer holds
//   DATANET     its datanet (curated by Bob alone)
//   SHOTS       folder for the screenshots (default test-output/)
//   CHROMIUM    the browser (default /usr/bin/chromium)
// Every step prints a line; any failure exits 1 with what the page showed.
import { chromium } from 'playwright-core';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { blake3 } from 'hash-wasm';
import { hexToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { mkdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const studio = process.env.STUDIO_URL ?? 'http://127.0.0.1:8080';
const nodeUrl = process.env.NODE_URL ?? 'ws://127.0.0.1:9944';
const pending = Number(process.env.PENDING ?? '0');
const datanet = Number(process.env.DATANET ?? '3');
const bobAddress = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const shots = process.env.SHOTS ?? 'test-output';
const expectChat = process.env.EXPECT_CHAT === '1';
// The served base's name in the API; with PAID_CHAT the API charges for the trained model's answers.
const baseName = process.env.BASE_NAME ?? 'tiny-llama';
const baseWords = process.env.BASE_WORDS;
const paidChat = process.env.PAID_CHAT === '1';
mkdirSync(shots, { recursive: true });

const step = (s) => console.log(`studio-browser: ${s}`);
const errors = [];
// Pages and chain connections opened, for a failure's screenshots and for closing at the end.
const pages = [];
const apis = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

// Every console line, printed when the test fails.
const consoleAll = [];
// Set once the test has made another transaction take the page's nonce on purpose.
let provoked = false;
function watch(page, name) {
  page.on('console', (m) => {
    consoleAll.push(`${name} ${m.type()}: ${m.text()}`);
    // polkadot.js logs every refused submission; the test provokes one on purpose (`contend`).
    if (m.type() === 'error' && !(provoked && m.text().includes('Priority is too low'))) errors.push(`${name} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${name} page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A stream the page itself stopped is not a failure.
    if (!(r.failure()?.errorText ?? '').includes('ERR_ABORTED')) errors.push(`${name} request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
}

async function shot(page, file) {
  await page.screenshot({ path: `${shots}/${file}`, fullPage: true });
  step(`screenshot ${file}`);
}

try {
  // ---- A dev account signs: Bob curates, the leaderboard moves. ----
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  pages.push(page);
  watch(page, 'main');
  await page.goto(studio);
  await page.getByTestId('datanet-table').locator('tbody tr').nth(3).waitFor();
  assert.equal(await page.getByTestId('datanet-table').locator('tbody tr').count(), 4);
  await shot(page, 'datanets.png');
  await page.getByLabel('Filter by modality').selectOption('Image');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=datanet-table] tbody tr').length === 1);
  assert.match(await page.getByTestId('datanet-table').locator('tbody').innerText(), /Image/);
  step('datanets listed and filtered by modality');

  await page.goto(`${studio}/#/datanets/0`);
  await page.getByTestId('dn-accepted').waitFor();
  assert.match(await page.locator('main').innerText(), /Rules[\s\S]*Approvals to accept[\s\S]*Curators/);
  await shot(page, 'datanet.png');

  // Choose Bob (a dev account on this dev chain) and open his queue.
  await page.getByTestId('account-select').selectOption({ label: 'Bob (dev)' });
  await page.goto(`${studio}/#/curate`);
  const item = page.getByTestId(`pending-${pending}`);
  await item.waitFor({ timeout: 30_000 });
  // The content, fetched from the data peer through the Studio, shown as text.
  await item.getByTestId('preview-text').filter({ hasText: 'Rivers carry what the rain gives them.' }).waitFor({ timeout: 30_000 });
  // What the workers' automatic checks find, run by the Studio on the same bytes.
  await item.getByTestId('check-result').filter({ hasText: /^Automatic checks: passes \(text, \d+ characters\)/ }).waitFor({ timeout: 30_000 });
  await shot(page, 'curate.png');
  await item.getByRole('button', { name: 'Approve' }).click();
  // The dialog says what will be signed, and its fee, before anything is signed.
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'datanets.vote');
  const args = JSON.parse(await page.getByTestId('tx-args').innerText());
  assert.equal(String(args.contribution).replace(/,/g, ''), String(pending));
  assert.equal(args.vote, 'Approve');
  assert.match(await page.getByTestId('tx-fee').innerText(), /TRIB/);
  await shot(page, 'sign.png');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByRole('status').filter({ hasText: `Approved contribution ${pending}` }).waitFor({ timeout: 60_000 });
  await item.waitFor({ state: 'detached', timeout: 30_000 });
  step(`Bob approved contribution ${pending} in the browser`);

  await page.goto(`${studio}/#/contributions/${pending}`);
  await page.getByTestId(`status-${pending}`).filter({ hasText: 'Accepted' }).waitFor({ timeout: 30_000 });
  await page.goto(`${studio}/#/leaderboard/${datanet}`);
  const row = page.getByTestId('leaderboard').locator('tbody tr').filter({ hasText: 'Dave' });
  await row.waitFor({ timeout: 30_000 });
  assert.equal(await row.getByTestId('lb-accepted').innerText(), '1');
  assert.match(await row.innerText(), /100\.0%/);
  await shot(page, 'leaderboard.png');
  step('the leaderboard shows Dave ranked with the acceptance');

  // ---- Eve contributes a file from the browser; Charlie's worker gets the bytes and votes. ----
  await page.getByTestId('account-select').selectOption({ label: 'Eve (dev)' });
  await page.goto(`${studio}/#/contribute`);
  await page.getByTestId('contribute-datanet').selectOption('0');
  // A file of a format the datanet does not take is refused before anything is signed.
  await page.getByTestId('file-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('not text') });
  await page.getByTestId('file-error').filter({ hasText: 'takes txt, md, jsonl' }).waitFor();
  // The text file arrives by drag and drop: a real drop event carrying the file.
  // With the base model's words in it, the trained model's answers hold spans of it.
  const text = `Water finds its level; ${Date.now()}\n` + (baseWords ? `${baseWords}\n` : '');
  const dropped = await page.evaluateHandle((t) => {
    const dt = new DataTransfer();
    dt.items.add(new File([t], 'level.txt', { type: 'text/plain' }));
    return dt;
  }, text);
  await page.getByTestId('drop').dispatchEvent('dragover', { dataTransfer: dropped });
  await page.getByTestId('drop').dispatchEvent('drop', { dataTransfer: dropped });
  await page.getByTestId('file-hash').waitFor();
  assert.equal(await page.getByTestId('file-hash').innerText(), '0x' + (await blake3(Buffer.from(text))), 'the browser hashes with BLAKE3');
  await page.getByRole('button', { name: 'Contribute', exact: true }).click();
  await page.getByTestId('tx-fee').nth(1).waitFor();
  assert.deepEqual(await page.getByTestId('tx-call').allInnerTexts(), ['datanets.commitContribution', 'datanets.submitContribution']);
  await shot(page, 'contribute.png');
  await page.getByRole('button', { name: 'Sign and submit all 2' }).click();
  const status = page.getByTestId('contribution-status');
  await status.waitFor({ timeout: 60_000 });
  await page.getByText(/Stored on 1 data peer/).waitFor({ timeout: 120_000 });
  await status.filter({ hasText: 'Accepted' }).waitFor({ timeout: 120_000 });
  step(`Eve's browser contribution was uploaded, checked by Charlie's worker and accepted: ${await status.innerText()}`);

  // ---- Alice (datanet 0's owner) publishes a version, then creates a training job on it. ----
  await page.getByTestId('account-select').selectOption({ label: 'Alice (dev)' });
  await page.goto(`${studio}/#/datanets/0`);
  await page.getByRole('button', { name: /^Publish version/ }).click();
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'datanets.publishVersion');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('versions').locator('tbody tr').first().waitFor({ timeout: 30_000 });
  // The reward split: the chain's default until the owner publishes one (whole percents, 100 in all).
  assert.match(await page.getByTestId('split').innerText(), /50% to contributors[\s\S]*chain's default/);
  await page.getByRole('button', { name: 'Change the split' }).click();
  await page.getByLabel('contributors %').fill('70');
  await page.getByTestId('split-problem').filter({ hasText: '120%' }).waitFor();
  await page.getByLabel('contributors %').fill('60');
  await page.getByLabel('worker %').fill('20');
  await page.getByTestId('split-problem').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Publish the split' }).click();
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'rewards.setSplit');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('split').filter({ hasText: '60% to contributors' }).waitFor({ timeout: 30_000 });
  assert.doesNotMatch(await page.getByTestId('split').innerText(), /default/);
  step('Alice published a reward split for datanet 0');
  await page.goto(`${studio}/#/train`);
  await page.getByLabel('Datanet').selectOption('0');
  await page.getByLabel('Version').locator('option').first().waitFor({ state: 'attached' });
  // The version's items as the job will train on them: Eve's text, fetched from the data peer.
  const versionItems = page.getByTestId('version-preview');
  await versionItems.getByTestId('preview-text').filter({ hasText: 'Water finds its level' }).waitFor({ timeout: 30_000 });
  assert.match(await versionItems.locator('summary').innerText(), /^Version 1: 1 item\(s\)/);
  await page.getByLabel('Length', { exact: true }).fill('2');
  await page.getByLabel('Batch size').fill('1');
  // Long enough for Eve's text in one window: nothing held out, so its score is against itself.
  await page.getByLabel('Sequence length').fill('128');
  await page.getByLabel('Rank').fill('0');
  await page.getByTestId('train-problem').filter({ hasText: 'rank must be a whole number' }).waitFor();
  await page.getByLabel('Rank').fill('4');
  await page.getByLabel(/^Budget/).fill('5');
  await page.getByTestId('train-problem').waitFor({ state: 'detached' });
  await shot(page, 'train.png');
  await page.getByRole('button', { name: 'Create the job' }).click();
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'jobs.createJob');
  const jobArgs = JSON.parse(await page.getByTestId('tx-args').innerText());
  assert.equal(jobArgs.config.rank, '4');
  assert.deepEqual(jobArgs.config.length, { Steps: '2' });
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('job-created').waitFor({ timeout: 30_000 });
  step(`Alice created a job: ${await page.getByTestId('job-created').innerText()}`);
  const follow = await page.getByRole('link', { name: /Follow it live/ }).getAttribute('href');
  assert.match(follow, /^#\/jobs\/\d+$/);
  // A reload keeps the form.
  await page.reload();
  await page.getByLabel('Sequence length').waitFor();
  assert.equal(await page.getByLabel('Sequence length').inputValue(), '128');

  // Charlie's worker (as Eve) claims and trains it: the job page draws its loss live.
  await page.goto(`${studio}/${follow}`);
  await page.getByTestId('job-status').waitFor();
  await page.getByTestId('job-end').filter({ hasText: 'submitted' }).waitFor({ timeout: 180_000 });
  const chart = page.getByTestId('loss-chart');
  assert.equal(await chart.getAttribute('data-points'), '2', 'both training steps are drawn');
  assert.match(await page.getByTestId('job-steps').innerText(), /^2 of 2/);
  await page.getByLabel('Log scale').check();
  await shot(page, 'job.png');
  step(`the job trained live in the browser: ${await page.getByTestId('job-end').innerText()}`);
  // A reload replays the events: nothing is lost.
  await page.reload();
  await page.getByTestId('job-end').waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('loss-chart').getAttribute('data-points'), '2');

  // ---- Alice creates a datanet from the form. ----
  await page.goto(`${studio}/#/datanets/new`);
  await page.getByLabel('Name').fill('browser-made');
  await page.getByLabel('Modality').selectOption('Image');
  await page.getByLabel('jpeg').check();
  await page.getByLabel('Approvals to accept').fill('2');
  await page.getByLabel('Curators').fill(bobAddress);
  await page.getByTestId('create-problem').filter({ hasText: 'cannot exceed the 1 curator' }).waitFor();
  await page.getByLabel('Approvals to accept').fill('1');
  await page.getByTestId('create-problem').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Create the datanet' }).click();
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'datanets.createDatanet');
  await shot(page, 'create-datanet.png');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('datanet-created').waitFor({ timeout: 30_000 });
  await page.goto(`${studio}/#/datanets`);
  const made = page.getByTestId('datanet-table').locator('tbody tr').filter({ hasText: 'browser-made' });
  await made.waitFor();
  assert.match(await made.innerText(), /Image[\s\S]*png, jpeg/);
  step('Alice created a datanet in the browser');

  await page.goto(`${studio}/#/rewards`);
  await page.getByRole('heading', { name: 'Open pools' }).waitFor();

  await page.goto(`${studio}/#/models`);
  await page.getByRole('heading', { name: 'Base models' }).waitFor();
  await page.getByTestId('jobs').locator('tbody tr').filter({ hasText: /Submitted|Finalized/ }).waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('bases').innerText(), /tiny-llama/);
  await shot(page, 'models.png');

  // ---- A wallet signs: a test injector speaking the extension API (window.injectedWeb3). ----
  // Its key lives in this Node process; the page only ever sees the extension interface.
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const ferdie = keyring.addFromUri('//Ferdie', { name: 'Ferdie' });
  const api = await ApiPromise.create({ provider: new WsProvider(nodeUrl), noInitWarn: true });
  apis.push(api);
  const signed = [];
  const rawSigned = [];
  const wctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  // With `contend` set, another transaction of Ferdie's with the same nonce (and a tip) reaches
  // the pool first, as when a worker or the CLI signs with the same key at the same moment: the
  // page must sign again with the next nonce.
  let contend = false;
  await wctx.exposeBinding('__testWalletSign', async (_src, payload) => {
    assert.equal(payload.address, ferdie.address, 'the page asks the wallet to sign for its own account');
    const ext = api.registry.createType('ExtrinsicPayload', payload, { version: payload.version });
    signed.push(payload.method);
    if (contend) {
      contend = false;
      provoked = true;
      const nonce = Number(BigInt(payload.nonce));
      await api.tx.system.remark('the same key, elsewhere').signAndSend(ferdie, { nonce, tip: 1 });
    }
    return ext.sign(ferdie).signature;
  });
  // Raw bytes (a voucher), wrapped in <Bytes>…</Bytes> before signing, as the extension does.
  await wctx.exposeBinding('__testWalletSignRaw', async (_src, raw) => {
    assert.equal(raw.address, ferdie.address);
    assert.equal(raw.type, 'bytes');
    rawSigned.push(raw.data);
    return u8aToHex(ferdie.sign(u8aWrapBytes(hexToU8a(raw.data))));
  });
  await wctx.addInitScript(({ address }) => {
    let id = 0;
    window.injectedWeb3 = {
      'tributary-test-wallet': {
        version: '1.0.0',
        enable: async () => ({
          accounts: {
            get: async () => [{ address, name: 'Test wallet: Ferdie', type: 'sr25519' }],
            subscribe: (cb) => {
              cb([{ address, name: 'Test wallet: Ferdie', type: 'sr25519' }]);
              return () => {};
            },
          },
          signer: {
            signPayload: async (payload) => ({ id: ++id, signature: await window.__testWalletSign(payload) }),
            signRaw: async (raw) => ({ id: ++id, signature: await window.__testWalletSignRaw(raw) }),
          },
        }),
      },
    };
  }, { address: ferdie.address });
  const wpage = await wctx.newPage();
  pages.push(wpage);
  watch(wpage, 'wallet');
  await wpage.goto(`${studio}/#/accounts`);
  await wpage.getByRole('button', { name: 'Connect wallet' }).click();
  await wpage.getByTestId('accounts').getByText('tributary-test-wallet').waitFor();
  await wpage.getByTestId('account-select').selectOption({ label: 'Test wallet: Ferdie (tributary-test-wallet)' });
  await shot(wpage, 'accounts.png');
  await wpage.goto(`${studio}/#/datanets/0`);
  const pot = wpage.getByTestId('dn-pot');
  await pot.filter({ hasText: 'TRIB' }).waitFor();
  const before = await pot.innerText();
  const potBefore = (await api.query.system.account(potAddress(api))).data.free.toBigInt();
  await wpage.getByTestId('fund-amount').fill('2.5');
  await wpage.getByRole('button', { name: 'Fund the pot' }).click();
  await wpage.getByTestId('tx-fee').waitFor();
  assert.equal(await wpage.getByTestId('tx-call').innerText(), 'datanets.fundCurationPot');
  await wpage.getByRole('button', { name: 'Sign and submit' }).click();
  await wpage.waitForFunction((b) => {
    const t = document.querySelector('[data-testid=dn-pot]')?.textContent ?? b;
    return t !== b && t.includes('TRIB');
  }, before, { timeout: 60_000 });
  const potAfter = await pot.innerText();
  assert.equal(signed.length, 1, 'the wallet signed once');
  const potPlanck = (await api.query.system.account(potAddress(api))).data.free.toBigInt();
  assert.equal(potPlanck - potBefore, 2_500_000_000_000n, `the pot holds what Ferdie sent (page shows ${potAfter})`);
  step(`Ferdie funded the pot through the wallet's signer: ${before} -> ${potAfter}`);

  // ---- Chat, streamed through the Studio's /v1. ----
  if (expectChat) {
    await page.goto(`${studio}/#/chat`);
    await page.getByTestId('model-select').locator(`option[value="${baseName}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('model-select').selectOption(baseName);
    await page.getByLabel('Message').fill('Say hello.');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('answer').last();
    // The answer grows while it streams: seen twice with different lengths before it is done.
    await answer.filter({ hasText: /\S/ }).waitFor({ timeout: 60_000 });
    await page.getByTestId('sources').last().waitFor({ timeout: 120_000 });
    assert.ok((await answer.innerText()).trim().length > 0);
    assert.match(await page.getByTestId('sources').last().innerText(), /prompt \+ \d+ answer tokens/);
    await shot(page, 'chat.png');
    step('chat answered, streamed');
  }

  // ---- Rewards: once the job is final, Eve (the author of its only item) claims her line. ----
  await page.goto(`${studio}/#/jobs/0`);
  await page.getByTestId('job-status').filter({ hasText: 'Finalized' }).waitFor({ timeout: 240_000 });
  await page.getByTestId('account-select').selectOption({ label: 'Eve (dev)' });
  await page.goto(`${studio}/#/rewards`);
  const total = page.getByTestId('pending-total');
  await total.filter({ hasText: /to claim in [1-9]/ }).waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('reward-lines').innerText(), /contributor[\s\S]*contribution 1/);
  // Each line shows the formula that gives its amount: the pool's part × its share, rounded down.
  const budgetLine = page.getByTestId('reward-lines').locator('tbody tr').filter({ hasText: 'budget' }).first();
  const formula = await budgetLine.getByTestId('line-formula').innerText();
  assert.match(formula, /^⌊[\d.,]+ TRIB × [\d,]+ \/ 10⁶⌋ = [\d.,]+ TRIB$/);
  assert.equal(formula.split(' = ')[1], await budgetLine.getByTestId('line-state').innerText(), 'the formula gives the amount the chain would pay');
  await shot(page, 'rewards.png');
  await page.getByRole('button', { name: /^Claim [1-9]/ }).click();
  await page.getByTestId('tx-fee').first().waitFor();
  assert.ok((await page.getByTestId('tx-call').allInnerTexts()).every((c) => c === 'rewards.claim'));
  await page.getByRole('button', { name: /^Sign and submit/ }).click();
  await total.filter({ hasText: 'to claim in 0 line(s)' }).waitFor({ timeout: 90_000 });
  assert.match(await total.innerText(), /[1-9] line\(s\) claimed/);
  const claimedKeys = await api.query.rewards.claimed.keys(0);
  assert.ok(claimedKeys.length >= 1, 'the chain records the claim');
  step(`Eve claimed her reward in the browser: ${await total.innerText()}`);

  // ---- The trained model: its lineage drawn, its adapter downloaded and checked against the chain. ----
  await page.goto(`${studio}/#/models`);
  await page.getByTestId('lineage').locator('[data-node="model-0"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('lineage').locator(`[data-node="${baseName}"]`).count(), 1, 'the base is its root');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-0').click()]);
  const tar = readFileSync(await download.path());
  const onChain = (await api.query.models.models(0)).unwrap().toJSON();
  assert.equal('0x' + (await blake3(tar)), onChain.adapter.hash, 'the download is the adapter the chain records');
  assert.equal(tar.subarray(0, 19).toString(), 'adapter_config.json', 'a tar whose first member is the PEFT config');
  assert.equal(download.suggestedFilename(), 'model-0-adapter.tar');
  step(`model-0's adapter downloaded (${tar.length} bytes, BLAKE3 as on chain) and its lineage drawn`);

  // ---- Adjust and retrain: Alice trains a child of model-0 with another seed (compared below). ----
  await page.getByTestId('account-select').selectOption({ label: 'Alice (dev)' });
  await page.goto(`${studio}/#/train`);
  await page.getByLabel('Continue from (child model)').locator('option[value="0"]').waitFor({ state: 'attached' });
  await page.getByLabel('Continue from (child model)').selectOption('0');
  await page.getByLabel('Seed').fill('7');
  await page.getByRole('button', { name: 'Create the job' }).click();
  await page.getByTestId('tx-fee').waitFor();
  const childArgs = JSON.parse(await page.getByTestId('tx-args').innerText());
  assert.equal(String(childArgs.parent), '0', 'the child names its parent');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('job-created').waitFor({ timeout: 30_000 });
  step(`Alice created a child of model-0: ${await page.getByTestId('job-created').innerText()}`);
  await page.getByTestId('account-select').selectOption({ label: 'Eve (dev)' });

  if (paidChat) {
    // ---- Paid answers: Eve opens a tab with the serving worker, the page signs her vouchers. ----
    const eve = keyring.addFromUri('//Eve').address;
    await page.goto(`${studio}/#/chat`);
    await page.getByTestId('model-select').locator('option[value="model-0"]').waitFor({ state: 'attached' });
    await page.getByTestId('model-select').selectOption('model-0');
    const panel = page.getByTestId('pay-panel');
    await panel.getByTestId('price').filter({ hasText: '0.1 TRIB' }).waitFor();
    await panel.getByTestId('tab').filter({ hasText: 'no tab' }).waitFor();
    // Without a tab the page says what to do, and signs nothing.
    await page.getByLabel('Message').fill('What do rivers carry?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('answer-error').filter({ hasText: 'Open a tab' }).waitFor({ timeout: 30_000 });
    await panel.getByTestId('tab-amount').fill('1');
    await panel.getByRole('button', { name: 'Open a tab' }).click();
    await page.getByTestId('tx-fee').waitFor();
    assert.equal(await page.getByTestId('tx-call').innerText(), 'fees.fundTab');
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    // The dialog closes once the transaction is in a block (the tab may show before: it is re-read
    // at every block, and typing goes nowhere while the dialog is open).
    await page.getByTestId('tx-fee').waitFor({ state: 'detached', timeout: 30_000 });
    await panel.getByTestId('tab').filter({ hasText: /Your tab #\d+ holds 1 TRIB/ }).waitFor({ timeout: 30_000 });
    // Side by side with its base: the same question to both, the trained model's answer paid.
    await page.getByTestId('compare-select').selectOption(baseName);
    await page.getByTestId(`turns-${baseName}`).waitFor({ state: 'attached' });
    await page.getByLabel('Message').fill('What do rivers carry?');
    assert.equal(await page.getByLabel('Message').inputValue(), 'What do rivers carry?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('turns-model-0').locator('li.user').waitFor({ timeout: 10_000 });
    const paidSources = page.getByTestId('turns-model-0').getByTestId('sources').last();
    await paidSources.waitFor({ timeout: 120_000 });
    await page.getByTestId(`turns-${baseName}`).getByTestId('sources').last().waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('voucher-note').innerText(), /may take up to [\d.]+ TRIB in all for model-0 on tab #\d+/);
    assert.match(await page.getByTestId('turns-model-0').getByTestId('answer-cost').last().innerText(), /^Cost [\d.]+ TRIB at 0\.1 TRIB per 1,000 tokens/);
    assert.equal(await page.getByTestId(`turns-${baseName}`).getByTestId('answer-cost').count(), 0, 'the base is free');
    // The trained model's answer names the data it came from (its attribution); the base's none.
    assert.match(await paidSources.innerText(), /Trained on datanet 0 version 1\./);
    assert.doesNotMatch(await page.getByTestId(`turns-${baseName}`).getByTestId('sources').last().innerText(), /Trained on/);
    if (baseWords) {
      // Its words are Eve's (contribution 1): highlighted in the answer, the contribution linked.
      const marks = page.getByTestId('turns-model-0').getByTestId('answer').last().locator('mark');
      assert.ok((await marks.count()) > 0, `spans highlighted in: ${await page.getByTestId('turns-model-0').getByTestId('answer').last().innerText()}`);
      for (const m of await marks.all()) {
        assert.ok(text.includes(await m.innerText()), `"${await m.innerText()}" is in Eve's text`);
        assert.equal(await m.getAttribute('data-contributions'), '1');
      }
      assert.equal(await paidSources.getByTestId('span-contributions').getByRole('link').getAttribute('href'), '#/contributions/1');
    }
    // And the contributions that most shaped it, by gradient similarity: those with a positive
    // score, linked, each with its score; when none is positive, the closest, said as such.
    const shaped = paidSources.getByTestId('influence');
    assert.match(
      await shaped.innerText(),
      /^(Shaped most by #\d+ \((0\.\d\d|1\.00)\)|No contribution's training pushes towards this answer; the closest: #\d+ \(-?(0\.\d\d|1\.00)\))/,
    );
    assert.match(await shaped.getByRole('link').first().getAttribute('href'), /^#\/contributions\/\d+$/);
    // The worker charged Eve the price of the tokens the page showed, rounded up.
    const [, p, c] = (await paidSources.innerText()).match(/(\d+) prompt \+ (\d+) answer tokens/);
    const charged = (100_000_000_000n * BigInt(Number(p) + Number(c)) + 999n) / 1000n;
    const line = await (await fetch(`${studio}/v1/billing?payer=${eve}&model=0`)).json();
    assert.equal(BigInt(line.line.charged), charged, JSON.stringify(line));
    await shot(page, 'chat-paid.png');
    step(`Eve opened a tab and chatted with model-0 beside its base, paid by a voucher the page signed: ${charged} plancks`);

    // The wallet signs vouchers as raw bytes (wrapped in <Bytes>), which the worker takes.
    await wpage.goto(`${studio}/#/chat`);
    await wpage.getByTestId('model-select').locator('option[value="model-0"]').waitFor({ state: 'attached' });
    await wpage.getByTestId('model-select').selectOption('model-0');
    const wpanel = wpage.getByTestId('pay-panel');
    await wpanel.getByTestId('tab-amount').fill('1');
    await wpanel.getByRole('button', { name: 'Open a tab' }).click();
    await wpage.getByTestId('tx-fee').waitFor();
    contend = true;
    await wpage.getByRole('button', { name: 'Sign and submit' }).click();
    await wpage.getByTestId('tx-fee').waitFor({ state: 'detached', timeout: 30_000 });
    await wpanel.getByTestId('tab').filter({ hasText: /Your tab #\d+ holds 1 TRIB/ }).waitFor({ timeout: 30_000 });
    for (const q of ['What do rivers carry?', 'And the rain?']) {
      await wpage.getByLabel('Message').fill(q);
      assert.equal(await wpage.getByLabel('Message').inputValue(), q);
      await wpage.getByRole('button', { name: 'Send' }).click();
      await wpage.getByTestId('turns-model-0').locator('li.user').nth(q === 'And the rain?' ? 1 : 0).waitFor({ timeout: 10_000 });
      await wpage.getByTestId('answer-cost').nth(q === 'And the rain?' ? 1 : 0).waitFor({ timeout: 120_000 });
    }
    assert.equal(rawSigned.length, 1, 'one voucher covered both answers (the allowance)');
    assert.ok(rawSigned[0].startsWith(u8aToHex(new TextEncoder().encode('tributary/voucher'))), rawSigned[0]);
    assert.equal(signed.length, 3, 'the wallet signed the pot funding, and the tab twice (its first nonce was taken)');
    step('Ferdie paid for two answers with one voucher his wallet signed');

    // ---- The fees reach the contributors: Eve claims her line of job 0's answer-fee pool. ----
    // The worker settles each fee period; a fee pool pays once its period ends.
    await page.goto(`${studio}/#/rewards`);
    const feeLines = page.getByTestId('reward-lines').locator('tbody tr').filter({ hasText: 'answer fees' });
    await feeLines.first().waitFor({ timeout: 120_000 });
    await total.filter({ hasText: /to claim in [1-9]/ }).waitFor({ timeout: 120_000 });
    await shot(page, 'rewards-fees.png');
    await page.getByRole('button', { name: /^Claim [1-9]/ }).click();
    await page.getByTestId('tx-fee').first().waitFor();
    const calls = await page.getByTestId('tx-call').allInnerTexts();
    assert.ok(calls.length >= 1 && calls.every((c) => c === 'rewards.claimFees'), calls.join());
    await page.getByRole('button', { name: /^Sign and submit/ }).click();
    await total.filter({ hasText: 'to claim in 0 line(s)' }).waitFor({ timeout: 90_000 });
    const feeClaims = await api.query.rewards.feeClaimed.keys(0);
    assert.ok(feeClaims.length >= 1, 'the chain records the fee claim');
    step(`Eve claimed her share of the answers' fees: ${await total.innerText()}`);
  }

  // ---- Compare runs: job 0 and its child, their loss on one chart and the settings that differ. ----
  await page.goto(`${studio}/#/models`);
  await page.getByLabel('Compare job 1').waitFor();
  await page.getByLabel('Compare job 0').check();
  await page.getByLabel('Compare job 1').check();
  await page.getByTestId('compare-link').click();
  await page.locator('[data-testid=runs-chart][data-points="2,2"]').waitFor({ timeout: 180_000 });
  const differs = await page.getByTestId('compare-table').locator('tr[data-differs=yes] th').allInnerTexts();
  assert.deepEqual(differs.map((t) => t.replace(' ≠', '')), ['from', 'seed'], 'the runs differ in their parent and seed');
  await shot(page, 'compare.png');
  step('jobs 0 and 1 compared: both loss curves drawn, parent and seed marked as the differences');

  if (paidChat) {
    // ---- The child beside its parent: model-1's answers next to model-0's, both paid. ----
    await page.getByTestId('account-select').selectOption({ label: 'Eve (dev)' });
    await page.goto(`${studio}/#/models`);
    await page.getByTestId('jobs').locator('tbody tr').filter({ hasText: /→ model 1/ }).waitFor({ timeout: 120_000 });
    await page.goto(`${studio}/#/chat`);
    await page.getByTestId('model-select').locator('option[value="model-1"]').waitFor({ state: 'attached' });
    await page.getByTestId('model-select').selectOption('model-1');
    await page.getByText(/model-1 is an adapter on .+, trained on from model-0\./).waitFor();
    const offered = await page.getByTestId('compare-select').locator('option').allInnerTexts();
    assert.deepEqual(offered.slice(1, 3).sort(), [`${baseName} (its base)`, 'model-0 (its parent)'].sort(), `its base and parent are offered first: ${offered}`);
    await page.getByTestId('compare-select').selectOption('model-0');
    await page.getByLabel('Message').fill('What do rivers carry?');
    await page.getByRole('button', { name: 'Send' }).click();
    for (const id of ['model-1', 'model-0']) {
      const sources = page.getByTestId(`turns-${id}`).getByTestId('sources').last();
      await sources.waitFor({ timeout: 120_000 });
      assert.match(await sources.innerText(), /Trained on datanet 0 version 1\.[\s\S]*Cost [\d.]+ TRIB/, `${id} answered, paid`);
    }
    await shot(page, 'chat-parent.png');
    step('model-1 answered beside its parent model-0, each paid from Eve\'s tab');
  }

  // ---- Stop: Alice stops a long job while the worker trains it; her budget comes back. ----
  await page.getByTestId('account-select').selectOption({ label: 'Alice (dev)' });
  await page.goto(`${studio}/#/train`);
  await page.getByLabel('Continue from (child model)').selectOption('');
  await page.getByLabel('Length', { exact: true }).fill('200000');
  await page.getByRole('button', { name: 'Create the job' }).click();
  await page.getByTestId('tx-fee').waitFor();
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('job-created').waitFor({ timeout: 30_000 });
  const long = await page.getByRole('link', { name: /Follow it live/ }).getAttribute('href');
  const longId = Number(long.split('/').pop());
  await page.goto(`${studio}/${long}`);
  await page.getByTestId('job-status').filter({ hasText: 'Claimed' }).waitFor({ timeout: 120_000 });
  await page.getByRole('button', { name: 'Stop the job' }).click();
  await page.getByTestId('tx-fee').waitFor();
  assert.equal(await page.getByTestId('tx-call').innerText(), 'jobs.stopJob');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('job-stopped').waitFor({ timeout: 30_000 });
  const stopped = (await api.query.jobs.jobInfo(longId)).unwrap().toJSON();
  assert.ok('stopped' in stopped.status, JSON.stringify(stopped.status));
  assert.equal(BigInt(stopped.escrow), 0n, 'nothing is held for a stopped job');
  await shot(page, 'job-stopped.png');
  step(`Alice stopped job ${longId} while it trained: ${await page.getByTestId('job-stopped').innerText()}`);

  // ---- A phone's width. ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${studio}/#/datanets`);
  await page.getByTestId('datanet-table').locator('tbody tr').nth(2).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways at a phone's width by ${overflow}px`);
  await shot(page, 'phone.png');

  // ---- Keyboard: the skip link and the navigation are reachable with Tab. ----
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(`${studio}/#/datanets`);
  await page.reload(); // a fresh load: focus starts at the document
  await page.getByTestId('datanet-table').locator('tbody tr').first().waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  step('keyboard: skip link first');

  assert.deepEqual(errors, [], 'no console errors, page errors or failed requests');
  step('passed');
} catch (e) {
  console.error(`studio-browser: FAILED: ${e?.stack ?? e}`);
  if (errors.length) console.error(`studio-browser: console:\n${errors.join('\n')}`);
  console.error(`studio-browser: every console line:\n${consoleAll.slice(-40).join('\n')}`);
  // What each page showed when it failed.
  for (const [i, p] of pages.entries()) {
    await p.screenshot({ path: `${shots}/failed-${i}.png`, fullPage: true }).catch(() => {});
    const shown = await p.locator('main').innerText({ timeout: 2_000 }).catch(() => '?');
    console.error(`studio-browser: page ${i} at ${p.url()} showed:\n${shown}`);
  }
  process.exitCode = 1;
  // STUDIO_HOLD=<seconds>: keep the node, workers and Studio up that long to look at by hand.
  if (process.env.STUDIO_HOLD) {
    console.error(`studio-browser: holding ${process.env.STUDIO_HOLD} s: ${studio} (node ${nodeUrl})`);
    await new Promise((r) => setTimeout(r, Number(process.env.STUDIO_HOLD) * 1000));
  }
} finally {
  await browser.close();
  // An open chain connection would keep this process alive after a failure.
  await Promise.all(apis.map((a) => a.disconnect().catch(() => {})));
}

function potAddress(api) {
  const raw = new Uint8Array(32);
  raw.set(new TextEncoder().encode('modltrib/dnt'), 0);
  new DataView(raw.buffer).setUint32(12, 0, true);
  return api.registry.createType('AccountId32', raw).toString();
}
