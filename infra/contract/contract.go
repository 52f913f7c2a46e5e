// Package contract lints the OpenAPI document, shared/openapi/openapi.yaml,
// with the tools this folder pins (package.json, package-lock.json): Redocly
// CLI with its recommended rules (redocly.yaml) and Spectral with
// spectral:oas (.spectral.yaml). lint_test.go installs them on first use and
// runs both, so `make test` fails on any error either reports.
package contract
