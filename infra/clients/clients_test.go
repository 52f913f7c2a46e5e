package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/infra/npm"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/openapi"
)

// document is the OpenAPI document, from this package's directory.
var document = filepath.Join("..", "..", "shared", "openapi", "openapi.yaml")

// flowCalls is what both flows send, in order, as method and status.
var flowCalls = []string{
	"POST 201",  // createCompany
	"POST 201",  // createUsers
	"GET 200",   // getUser
	"GET 200",   // listUsers
	"GET 200",   // getPortal
	"PATCH 200", // updatePortal
	"PATCH 412", // updatePortal, stale If-Match
}

// TestGoClient generates the Go client with oapi-codegen's defaults (see
// go/oapi-codegen.yaml) into a copy of the nested module, builds go/flow
// against it and runs the flow.
func TestGoClient(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go is not on PATH")
	}
	doc, err := filepath.Abs(document)
	if err != nil {
		t.Fatal(err)
	}
	// A copy, so that parallel runs and the working tree never see one
	// another's generated code.
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "oapi-codegen.yaml", "flow/main.go"} {
		copyFile(t, filepath.Join("go", f), filepath.Join(dir, f))
	}
	if err := os.MkdirAll(filepath.Join(dir, "apiclient"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "generate the Go client (oapi-codegen)", goBin, "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", doc)
	// -trimpath keeps the temporary directory out of the build cache's
	// keys: an unchanged document compiles from the cache.
	run(t, dir, nil, "compile the generated Go client and go/flow", goBin, "build", "-trimpath", "-o", "flow.bin", "./flow")

	url, token, calls := serve(t)
	out := run(t, dir, []string{"CLIENTELE_URL=" + url, "CLIENTELE_TOKEN=" + token}, "run go/flow against the local stack", filepath.Join(dir, "flow.bin"))
	calls.check(t, out)
}

// TestTypeScriptClient generates schema.d.ts with openapi-typescript,
// type-checks ts/flow.ts with it under --strict (tsconfig.json), compiles
// it and runs it with node against the local stack.
func TestTypeScriptClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH; install Node.js 20+ (infra/deps does it on Debian)")
	}
	tsDir, err := filepath.Abs("ts")
	if err != nil {
		t.Fatal(err)
	}
	if err := installTS(tsDir); err != nil {
		t.Fatal(err)
	}
	doc, err := filepath.Abs(document)
	if err != nil {
		t.Fatal(err)
	}
	// Inside ts/, so that node finds ts/node_modules from the compiled flow;
	// a directory of its own per run.
	dir, err := os.MkdirTemp(tsDir, ".run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	copyFile(t, filepath.Join(tsDir, "flow.ts"), filepath.Join(dir, "flow.ts"))
	writeFile(t, filepath.Join(dir, "tsconfig.json"),
		`{"extends": "../tsconfig.json", "compilerOptions": {"noEmit": false, "outDir": "out"}, "include": ["flow.ts", "schema.d.ts"]}`)
	bin := filepath.Join(tsDir, "node_modules", ".bin")
	// openapi-typescript 7 makes a property with a default required
	// everywhere but in inline request bodies and parameters, so request
	// schemas under components (CompanyCreate, UsersCreate, ...) would lose
	// their optional fields. With the option off, `required` alone decides,
	// and the document lists every field a response always has there.
	run(t, dir, nil, "generate schema.d.ts (openapi-typescript)", filepath.Join(bin, "openapi-typescript"),
		doc, "--default-non-nullable", "false", "-o", filepath.Join(dir, "schema.d.ts"))
	run(t, dir, nil, "type-check and compile ts/flow.ts (tsc --strict)", filepath.Join(bin, "tsc"), "-p", "tsconfig.json", "--strict")

	url, token, calls := serve(t)
	out := run(t, dir, []string{"CLIENTELE_URL=" + url, "CLIENTELE_TOKEN=" + token}, "run ts/flow.ts against the local stack",
		node, filepath.Join(dir, "out", "flow.js"))
	calls.check(t, out)
}

// serve starts a local stack served over HTTP, with every answer checked
// against the document, and returns its URL and an owner's token.
func serve(t *testing.T) (string, string, *recorder) {
	t.Helper()
	v, err := openapi.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	st, err := stack.Start(context.Background(), stack.Options{Clock: clock.NewManual(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	rec := &recorder{v: v, next: st.Handler()}
	srv := httptest.NewServer(rec)
	t.Cleanup(func() { srv.Close(); st.Close() })
	return srv.URL, st.Token(stack.Portal, "owner", "owner-1"), rec
}

// recorder keeps each call's method and status and validates each answer.
type recorder struct {
	v    *openapi.Validator
	next http.Handler

	mu       sync.Mutex
	calls    []string
	problems []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
	r.next.ServeHTTP(cw, req)
	err := r.v.ValidateResponse(req, cw.status, w.Header(), cw.body.Bytes())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %d", req.Method, cw.status))
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%v\nbody: %s", err, cw.body.Bytes()))
	}
}

// check fails unless the flow made exactly flowCalls, each answer matching
// the document; out is the flow's output, for the failure message.
func (r *recorder) check(t *testing.T, out []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Errorf("answer does not match the OpenAPI document: %s", p)
	}
	if !slices.Equal(r.calls, flowCalls) {
		t.Errorf("calls %q, want %q\nflow output:\n%s", r.calls, flowCalls, out)
	}
}

type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// run runs a command in dir and returns its output; on failure the test
// stops with the command's own output (compiler errors, failed checks).
func run(t *testing.T, dir string, env []string, what, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	t.Logf("%s: %.1fs", what, time.Since(start).Seconds())
	return out
}

// installTS installs ts/'s pinned tools on first use (npm.CI, which
// serializes concurrent callers) and checks that node_modules holds the
// versions package.json pins, so that a changed pin is not run stale.
func installTS(dir string) error {
	err := npm.CI(dir, filepath.Join("node_modules", ".package-lock.json"))
	if errors.Is(err, npm.ErrNoNPM) {
		return fmt.Errorf("ts client: npm is not on PATH; install Node.js 20+ (it installs the TypeScript toolchain from %s/package-lock.json)", dir)
	}
	if err != nil {
		return fmt.Errorf("ts client: %w", err)
	}
	if !tsInstalled(dir) {
		return fmt.Errorf("ts client: %s/node_modules holds other versions than package.json pins: delete it, and the next run installs them", dir)
	}
	return nil
}

// tsInstalled reports whether every package that package.json pins is in
// node_modules at that version, so that a changed pin reinstalls.
func tsInstalled(dir string) bool {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err != nil || json.Unmarshal(b, &pkg) != nil {
		return false
	}
	for name, want := range pkg.DevDependencies {
		var got struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(b, &got) != nil || got.Version != want {
			return false
		}
	}
	return len(pkg.DevDependencies) > 0
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
