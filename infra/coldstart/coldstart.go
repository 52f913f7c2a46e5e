// Package coldstart runs the functions' bootstraps under AWS's Lambda Runtime
// Interface Emulator, with DynamoDB Local behind, and times their cold
// starts beside a hello-world Lambda built with the same flags.
//
// The init phase is timed here, from the exec of the bootstrap to its first
// GET of /runtime/invocation/next. The emulator's REPORT "Init Duration" is
// no measure of it: it is how long the emulator takes to hand the init to
// its sandbox (0.07 ms for the hello-world, which does not wait for the
// runtime), and the real init lands in "Duration" with the handler and the
// emulator's own process spawn. So the emulator runs cmd launch (a stamp,
// then execve of the bootstrap), and the bootstrap talks to the runtime API
// through a proxy here that notes the time of its first /next.
//
// Bench.Latency (latency.go) times warm invocations under the same
// emulator instead: a few endpoints, each function's emulator kept running.
package coldstart

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/infra/dynamodblocal"
	"github.com/clientele/clientele/infra/template"
)

// The fixtures among the functions: the hello-world that cold starts are
// measured against, and the floor, the hello-world that also builds a
// DynamoDB client (the SDK's part of every function's cold start).
const (
	Hello = "hello"
	Floor = "floor"
)

// Fixture says whether f is one of the fixtures, not a function of the app.
func (f Function) Fixture() bool { return f.Name == Hello || f.Name == Floor }

// Region is the functions' AWS_REGION.
const Region = "us-east-1"

// rieModule is the emulator's main package, pinned by infra/coldstart/rie/go.mod.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Function is a bootstrap built for the host.
type Function struct {
	Name      string
	Bootstrap string // path of the binary
	Size      int64  // bytes
}

// Bench is what every start shares: the built binaries, DynamoDB Local with
// the template's table, and the functions' environment.
type Bench struct {
	Functions []Function // Hello and Floor first, then the Makefile's FUNCTIONS
	dir       string
	rie       string
	launch    string
	env       []string
	// DynamoDB Local's endpoint, the access key naming its database, and
	// the table: what the latency run seeds through the store.
	ddbURL, key, table string
}

// Setup builds the emulator, the launcher, the fixtures and every
// function of the Makefile's FUNCTIONS into dir with the Makefile's build
// flags for the host, and starts DynamoDB Local with template.yaml's table.
func Setup(ctx context.Context, dir string) (*Bench, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	mk, err := ReadMakefile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, err
	}
	b := &Bench{dir: dir, rie: filepath.Join(dir, "aws-lambda-rie"), launch: filepath.Join(dir, "bin", "launch")}

	var wg sync.WaitGroup
	var rieErr, ddbErr error
	var ddb *dynamodblocal.Server
	wg.Go(func() {
		// GOWORK=off: the tool module stands alone, whatever workspace the caller has.
		rieErr = run(ctx, filepath.Join(root, "infra", "coldstart", "rie"), []string{"GOWORK=off"},
			"go", "build", "-trimpath", "-o", b.rie, rieModule)
	})
	wg.Go(func() { ddb, ddbErr = dynamodblocal.Shared() })

	pkgs := []string{"./infra/coldstart/hello", "./infra/coldstart/floor", "./infra/coldstart/launch"}
	for _, f := range mk.Functions {
		pkgs = append(pkgs, "./functions/"+f)
	}
	// One go build for all: it compiles the shared packages once.
	args := append(append([]string{"build"}, mk.BuildArgs...), "-o", filepath.Join(dir, "bin")+string(filepath.Separator))
	err = run(ctx, root, append(mk.Env, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH), "go", append(args, pkgs...)...)
	wg.Wait()
	if err = errors.Join(err, rieErr, ddbErr); err != nil {
		return nil, err
	}
	for _, name := range append([]string{Hello, Floor}, mk.Functions...) {
		p := filepath.Join(dir, "bin", name)
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		b.Functions = append(b.Functions, Function{Name: name, Bootstrap: p, Size: st.Size()})
	}

	key := "coldstart" + randomHex(8) // DynamoDB Local keeps a database per access key
	table := "clientele-coldstart"
	if err := createTable(ctx, root, ddb.URL, key, table); err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home") // no ~/.aws: a Lambda has none
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	// A clean environment, not the caller's: Lambda sets no AWS_CA_BUNDLE
	// (which makes every SDK config load re-read the bundle) and no profile.
	// Every other AWS endpoint points at a closed loopback port, so nothing
	// leaves the machine.
	const closed = "http://127.0.0.1:1"
	b.ddbURL, b.key, b.table = ddb.URL, key, table
	b.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_REGION=" + Region, "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=local", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"TABLE_NAME=" + table, "CURSOR_SECRET=" + randomHex(32), "DYNAMODB_ENDPOINT=" + ddb.URL,
		"MAIL_FROM=no-reply@clientele.local", "EXPORTS_BUCKET=clientele-exports-coldstart",
		"API_BASE_URL=http://127.0.0.1:3000", "EVENT_BUS_NAME=clientele-coldstart",
		"S3_ENDPOINT=" + closed, "SES_ENDPOINT=" + closed, "EVENTS_ENDPOINT=" + closed,
		"CRM_KMS_KEY_ID=alias/clientele-coldstart", "KMS_ENDPOINT=" + closed,
	}
	return b, nil
}

func createTable(ctx context.Context, root, endpoint, key, table string) error {
	tmpl, err := template.Load(filepath.Join(root, template.FileName))
	if err != nil {
		return err
	}
	in, err := tmpl.CreateTableInput(table)
	if err != nil {
		return err
	}
	if _, err := dynamoClient(endpoint, key).CreateTable(ctx, in); err != nil {
		return fmt.Errorf("coldstart: create table: %w", err)
	}
	return nil
}

// Result is one cold start.
type Result struct {
	Init          time.Duration // exec of the bootstrap to its first /next
	FirstResponse time.Duration // the invoke request to its response, emulator start included
	Status        int           // of the emulator's invoke endpoint
	Body          []byte        // the function's response
	Log           string        // the emulator's and the function's output
}

// Start runs fn once, fresh, under its own emulator: it starts the emulator,
// invokes fn with its event, and stops both.
func (b *Bench) Start(ctx context.Context, fn Function) (Result, error) {
	payload, err := Event(fn.Name, time.Now())
	if err != nil {
		return Result{}, err
	}
	var res Result
	var last error
	for range 3 {
		res, err = b.start(ctx, fn, payload)
		if !errors.Is(err, errNotListening) && !errors.Is(err, errReset) {
			return res, err
		}
		last = fmt.Errorf("%w (emulator log: %q)", err, res.Log)
	}
	return res, last
}

// The failures of a start that say nothing about the function, so that
// Start tries a fresh one: a free port can be taken between choosing and
// binding it, and an emulator may drop its first connection (a reset,
// seen about once in 5,000 starts on this shared machine).
var (
	errNotListening = errors.New("the emulator did not listen")
	errReset        = errors.New("the emulator reset the invocation's connection")
)

func (b *Bench) start(ctx context.Context, fn Function, payload []byte) (res Result, err error) {
	f, err := os.CreateTemp(b.dir, "stamp-")
	if err != nil {
		return res, err
	}
	stamp := f.Name()
	f.Close()
	defer os.Remove(stamp)
	invokeAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return res, err
	}

	// The bootstrap's runtime API, through a proxy that notes the first /next.
	var next atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: runtimeAddr})
	// The bootstrap's second /next fails when the start is over and the
	// emulator killed: expected, not worth a log line.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			next.CompareAndSwap(0, time.Now().UnixNano())
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = proxy.Serve(ln) }()
	defer proxy.Close()

	p, err := b.spawn(fn, invokeAddr, runtimeAddr, nil, b.launch, stamp, ln.Addr().String(), fn.Bootstrap)
	if err != nil {
		return res, err
	}
	defer func() { res.Log = p.stop() }()

	if err := waitListening(ctx, invokeAddr, p.exited); err != nil {
		return res, fmt.Errorf("%s: %w", fn.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+invokeAddr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return res, err
	}
	// A fresh connection: ports are reused from start to start, and a kept
	// one of an emulator already gone answers with a reset.
	req.Close = true
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if errors.Is(err, syscall.ECONNRESET) {
		return res, fmt.Errorf("%s: invoke: %w: %w", fn.Name, errReset, err)
	}
	if err != nil {
		return res, fmt.Errorf("%s: invoke: %w", fn.Name, err)
	}
	res.Body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	res.FirstResponse, res.Status = time.Since(t0), resp.StatusCode
	if err != nil {
		return res, fmt.Errorf("%s: invoke: %w", fn.Name, err)
	}
	if next.Load() == 0 {
		return res, fmt.Errorf("%s: the bootstrap never asked for an invocation (status %d: %s)", fn.Name, res.Status, res.Body)
	}
	raw, err := os.ReadFile(stamp)
	if err != nil {
		return res, fmt.Errorf("%s: no exec stamp: %w", fn.Name, err)
	}
	execAt, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return res, fmt.Errorf("%s: exec stamp %q: %w", fn.Name, raw, err)
	}
	res.Init = time.Duration(next.Load() - execAt)
	return res, nil
}

// emulator is a running emulator and its bootstrap.
type emulator struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{} // closed once the emulator has exited
}

// spawn starts the emulator for fn on invokeAddr, with the runtime API on
// runtimeAddr, running command (the bootstrap, or launch and its
// arguments) with the bench's environment plus env.
func (b *Bench) spawn(fn Function, invokeAddr, runtimeAddr string, env []string, command ...string) (*emulator, error) {
	out := &syncBuffer{}
	cmd := exec.Command(b.rie, append([]string{"--log-level", "error",
		"--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr}, command...)...)
	cmd.Dir = filepath.Dir(fn.Bootstrap)
	cmd.Env = append(append(slices.Clip(b.env), "AWS_LAMBDA_FUNCTION_NAME="+fn.Name), env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that the bootstrap goes with it; dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("coldstart: start the emulator: %w", err)
	}
	e := &emulator{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(e.exited) }()
	return e, nil
}

// stop kills the emulator and its bootstrap and returns their output.
func (e *emulator) stop() string {
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	<-e.exited
	return e.out.String()
}

// Without returns a bench whose functions lack the environment variable
// name: a bootstrap that fails at init, for testing the harness.
func (b *Bench) Without(name string) *Bench {
	c := *b
	c.env = slices.DeleteFunc(slices.Clone(b.env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
	return &c
}

// waitListening polls until addr accepts a connection.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w on %s within 10 s", errNotListening, addr)
		}
		select {
		case <-exited:
			return fmt.Errorf("%w: it exited", errNotListening)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Check reports whether a start answered its event without a runtime
// error: an API Gateway response below 500 for an API function, a success
// for the others.
func Check(fn Function, res Result) error {
	if res.Status != http.StatusOK {
		return fmt.Errorf("%s: the emulator answered %d: %s\n%s", fn.Name, res.Status, res.Body, res.Log)
	}
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(res.Body, &fnErr) == nil && (fnErr.ErrorType != "" || fnErr.ErrorMessage != "") {
		return fmt.Errorf("%s: function error %s: %s\n%s", fn.Name, fnErr.ErrorType, fnErr.ErrorMessage, res.Log)
	}
	if _, api := routes[fn.Name]; api {
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Body, &r); err != nil || r.StatusCode < 200 || r.StatusCode >= 500 {
			return fmt.Errorf("%s: not an API Gateway response below 500: %s\n%s", fn.Name, res.Body, res.Log)
		}
	}
	return nil
}

// Makefile is what the harness takes from the root Makefile.
type Makefile struct {
	Functions []string // FUNCTIONS
	BuildArgs []string // BUILD_ARGS, split as the shell would
	Env       []string // LAMBDA_FLAGS less GOOS and GOARCH: the host's instead
}

// ReadMakefile reads FUNCTIONS, LAMBDA_FLAGS and BUILD_ARGS, so that the
// harness builds what `make build` builds, the way it builds it.
func ReadMakefile(path string) (Makefile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Makefile{}, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":="); ok && !strings.ContainsAny(name, "\t$") {
			vars[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return Makefile{}, err
	}
	var mk Makefile
	mk.Functions = strings.Fields(vars["FUNCTIONS"])
	if mk.BuildArgs, err = shellWords(vars["BUILD_ARGS"]); err != nil {
		return mk, fmt.Errorf("%s: BUILD_ARGS: %w", path, err)
	}
	for _, kv := range strings.Fields(vars["LAMBDA_FLAGS"]) {
		if !strings.HasPrefix(kv, "GOOS=") && !strings.HasPrefix(kv, "GOARCH=") {
			mk.Env = append(mk.Env, kv)
		}
	}
	if len(mk.Functions) == 0 || len(mk.BuildArgs) == 0 {
		return mk, fmt.Errorf("%s: no FUNCTIONS or BUILD_ARGS", path)
	}
	return mk, nil
}

// shellWords splits s at blanks outside double quotes: all BUILD_ARGS uses.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// Root returns the repository's root, found upwards from the working directory.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(data, []byte("module github.com/clientele/clientele\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("coldstart: the repository's go.mod is not above %s", wd)
		}
	}
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("coldstart: %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the output of a process's two pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
