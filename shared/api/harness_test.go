package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/openapi"
)

var (
	validatorOnce sync.Once
	validator     *openapi.Validator
	validatorErr  error
)

// env is a local stack served over real HTTP, with every response checked
// against the OpenAPI document.
type env struct {
	t     *testing.T
	st    *stack.Stack
	srv   *httptest.Server
	clock *clock.Manual
	owner string // owner token of portal "demo"
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvLog(t, testLog(t))
}

// newEnvLog is newEnv with the stack's log written to log.
func newEnvLog(t *testing.T, log io.Writer) *env {
	t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = openapi.NewValidator() })
	if validatorErr != nil {
		t.Fatalf("openapi validator: %v", validatorErr)
	}
	clk := clock.NewManual(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	st, err := stack.Start(context.Background(), stack.Options{Clock: clk, Log: log})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &env{t: t, st: st, srv: srv, clock: clk, owner: st.Token("demo", "owner", "owner-1")}
}

// resp is one answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r resp) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

func (r resp) String(field string) string {
	s, _ := r.JSON()[field].(string)
	return s
}

// call sends a request; body is JSON-encoded unless it is a string or
// []byte. headers alternate name, value. The answer is validated against the
// OpenAPI document.
func (e *env) call(method, path, token string, body any, headers ...string) resp {
	e.t.Helper()
	r, err := e.try(method, path, token, body, headers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// try is call for goroutines: it returns errors instead of failing.
func (e *env) try(method, path, token string, body any, headers ...string) (resp, error) {
	var rd io.Reader
	contentType := ""
	cookie := ""
	switch b := body.(type) {
	case nil:
	case pageForm:
		rd, contentType, cookie = strings.NewReader(b.values.Encode()), "application/x-www-form-urlencoded", b.cookie
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case csvBody:
		rd, contentType = strings.NewReader(string(b)), "text/csv"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return resp{}, err
		}
		rd, contentType = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return resp{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		return resp{}, err
	}
	if err := validator.ValidateResponse(req, hr.StatusCode, hr.Header, b); err != nil {
		return resp{}, fmt.Errorf("%s %s: response does not match the OpenAPI document: %v\nbody: %s", method, path, err, b)
	}
	return resp{Status: hr.StatusCode, Header: hr.Header, Body: b}, nil
}

// want fails unless r has status.
func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// createCompany creates a company in portal demo and returns its id.
func (e *env) createCompany(name string, extra ...map[string]any) string {
	e.t.Helper()
	body := map[string]any{"name": name}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	r := e.call("POST", "/v1/companies", e.owner, body)
	want(e.t, r, 201)
	return r.String("id")
}

// createProject creates a project in portal demo and returns its id.
func (e *env) createProject(name string, extra ...map[string]any) string {
	e.t.Helper()
	body := map[string]any{"name": name}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	r := e.call("POST", "/v1/projects", e.owner, body)
	want(e.t, r, 201)
	return r.String("id")
}

// strings of a JSON array.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// parallel runs f n times at once and returns the results.
func parallel[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// testLog shows the request log of a failed test (go test prints t.Log
// output only on failure or with -v).
func testLog(t *testing.T) io.Writer { return logWriter{t} }

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// inviteTokenOf is the token of the newest invitation link mailed to email.
func inviteTokenOf(e *env, email string) string {
	for _, m := range e.st.Mail.Messages() {
		if m.To[0] == email {
			for _, l := range m.Links {
				if i := strings.Index(l, "/portal/invite/"); i >= 0 {
					return l[i+len("/portal/invite/"):]
				}
			}
		}
	}
	e.t.Fatalf("no invitation for %s", email)
	return ""
}
