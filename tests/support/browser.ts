import { chromium, type Browser } from 'playwright-core'

// Debian's Chromium, driven by playwright-core, for the tests that look at the page as a person does.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox: as root, or in the suite's image (scripts/test.sh), where user namespaces are not allowed;
    // and on a machine with no network but loopback, no background traffic.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  }).catch((err: Error) => {
    throw new Error(`cannot start Chromium at ${CHROMIUM} (scripts/test.sh runs the suite in an image that has it; CHROMIUM_PATH overrides): ${err.message}`)
  })
}
