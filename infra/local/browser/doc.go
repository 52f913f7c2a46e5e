// Package browser holds the end-to-end tests of the client portal pages:
// Debian's Chromium, headless, driven through the DevTools protocol
// (chromedp) against the whole local stack served over HTTP. They live
// here, beside the stack they drive, rather than in shared/api: they are
// about what a person sees in a real browser (cookies, CSP, focus, forms
// without JavaScript), they need a browser binary, and keeping chromedp out
// of shared/api's test binary keeps the API tests light. Screenshots of
// each page go to .build/screenshots/ at the repository root (gitignored).
package browser
