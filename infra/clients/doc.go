// Package clients holds the contract test of generated clients: its test
// generates a Go client with oapi-codegen (the nested module in go/, which
// pins the generator and its runtime so that the root module needs neither)
// and a TypeScript one with openapi-typescript and openapi-fetch (ts/, pinned
// by its package-lock.json), from shared/openapi/openapi.yaml as it is now,
// compiles each (tsc --strict) and drives it through one short flow (go/flow,
// ts/flow.ts) against a local stack. Neither generated client is committed:
// generating at test time proves the current document works with the tools'
// defaults, and description edits need no regeneration step.
//
// By hand, from go/: `go tool oapi-codegen -config oapi-codegen.yaml
// ../../../shared/openapi/openapi.yaml` writes apiclient/ (ignored by git),
// after which `go build ./flow` works. From ts/: `npm ci`, then
// `npx openapi-typescript ../../../shared/openapi/openapi.yaml
// --default-non-nullable false -o schema.d.ts` and `npx tsc -p .`.
package clients
