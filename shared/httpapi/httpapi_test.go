package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/clientele"
)

func problemOf(t *testing.T, err error) (int, map[string]any) {
	t.Helper()
	r := Problem(err)
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if got := r.Headers["Content-Type"]; got != "application/problem+json" {
		t.Fatalf("content type %q", got)
	}
	return r.StatusCode, body
}

func TestDecode(t *testing.T) {
	type body struct {
		Name  string                     `json:"name"`
		Count int                        `json:"count"`
		Limit clientele.Optional[int]    `json:"limit"`
		Tags  []string                   `json:"tags"`
		Inner struct{ Deep bool }        `json:"inner"`
		Note  clientele.Optional[string] `json:"note"`
	}
	big := `{"name":"` + strings.Repeat("a", MaxBody) + `"}`
	tests := []struct {
		name        string
		contentType string
		body        string
		base64      bool
		wantStatus  int
		wantField   string
	}{
		{"valid", "application/json", `{"name":"x","count":2}`, false, 0, ""},
		{"charset allowed", "application/json; charset=utf-8", `{"name":"x"}`, false, 0, ""},
		{"base64 body", "application/json", base64.StdEncoding.EncodeToString([]byte(`{"name":"x"}`)), true, 0, ""},
		{"unknown field", "application/json", `{"name":"x","nmae":"y"}`, false, 400, "nmae"},
		{"wrong type", "application/json", `{"count":"two"}`, false, 400, "count"},
		{"wrong type in optional", "application/json", `{"limit":"two"}`, false, 400, ""},
		{"not an object", "application/json", `[1,2]`, false, 400, ""},
		{"syntax error", "application/json", `{"name":`, false, 400, ""},
		{"trailing data", "application/json", `{"name":"x"} {}`, false, 400, ""},
		{"empty body", "application/json", ``, false, 400, ""},
		{"text/plain", "text/plain", `{"name":"x"}`, false, 415, ""},
		{"no content type", "", `{"name":"x"}`, false, 415, ""},
		{"form", "application/x-www-form-urlencoded", `name=x`, false, 415, ""},
		{"too large", "application/json", big, false, 413, ""},
		{"too large base64", "application/json", base64.StdEncoding.EncodeToString([]byte(big)), true, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Event: &events.APIGatewayV2HTTPRequest{Body: tt.body, IsBase64Encoded: tt.base64,
				Headers: map[string]string{"content-type": tt.contentType}}}
			var v body
			err := r.Decode(&v)
			if tt.wantStatus == 0 {
				if err != nil || v.Name != "x" {
					t.Fatalf("got %v, %+v", err, v)
				}
				return
			}
			status, p := problemOf(t, err)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, tt.wantStatus, err)
			}
			if tt.wantField != "" {
				errs, _ := p["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.wantField {
					t.Fatalf("errors %v, want field %s", p["errors"], tt.wantField)
				}
			}
		})
	}
}

func TestOptional(t *testing.T) {
	var v struct {
		A clientele.Optional[int] `json:"a"`
		B clientele.Optional[int] `json:"b"`
		C clientele.Optional[int] `json:"c"`
	}
	if err := DecodeJSON([]byte(`{"a":null,"b":3}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A.Set || !v.A.Null || v.A.Ptr() != nil {
		t.Errorf("a: got %+v, want set null", v.A)
	}
	if !v.B.Set || v.B.Null || *v.B.Ptr() != 3 {
		t.Errorf("b: got %+v, want 3", v.B)
	}
	if v.C.Set {
		t.Errorf("c: got %+v, want absent", v.C)
	}
}

func TestProblem(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantDetail string
		retryAfter string
	}{
		{"validation", clientele.Fields{{Field: "name", Message: "is required"}}.Err(), 400, "/problems/validation", "the request has invalid fields", ""},
		{"conflict", clientele.Errorf(clientele.Conflict, "taken"), 409, "/problems/conflict", "taken", ""},
		{"internal hides the cause", errors.New("dynamodb: AccessDenied arn:aws:iam::123"), 500, "/problems/internal", "An unexpected error occurred. Quote the X-Request-Id when reporting it.", ""},
		{"internal code hides the message", &clientele.Error{Code: clientele.Internal, Message: "secret detail"}, 500, "/problems/internal", "An unexpected error occurred. Quote the X-Request-Id when reporting it.", ""},
		{"unavailable has Retry-After", &clientele.Error{Code: clientele.Unavailable, Message: "down", RetryAfter: 1500 * time.Millisecond}, 503, "/problems/unavailable", "down", "2"},
		{"gated rounds up to 1s", &clientele.Error{Code: clientele.Gated, Message: "wait"}, 429, "/problems/rate-limited", "wait", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := problemOf(t, tt.err)
			if status != tt.wantStatus || body["type"] != tt.wantType || body["detail"] != tt.wantDetail || int(body["status"].(float64)) != status {
				t.Fatalf("got %d %v", status, body)
			}
			if got := Problem(tt.err).Headers["Retry-After"]; got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	c, err := NewCursors(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCursors(strings.Repeat("o", 32))
	key := map[string]string{"PK": "P#a#C#1", "SK": "META"}
	cur := c.Seal("a", "companies?", key)
	flip := []byte(cur)
	flip[len(flip)/2] ^= 1
	tests := []struct {
		name   string
		open   func() (map[string]string, error)
		wantOK bool
	}{
		{"round trip", func() (map[string]string, error) { return c.Open("a", "companies?", cur) }, true},
		{"empty is the first page", func() (map[string]string, error) { return c.Open("a", "companies?", "") }, true},
		{"other portal", func() (map[string]string, error) { return c.Open("b", "companies?", cur) }, false},
		{"other query", func() (map[string]string, error) { return c.Open("a", "companies?acme", cur) }, false},
		{"tampered", func() (map[string]string, error) { return c.Open("a", "companies?", string(flip)) }, false},
		{"other key", func() (map[string]string, error) { return other.Open("a", "companies?", cur) }, false},
		{"garbage", func() (map[string]string, error) { return c.Open("a", "companies?", "!!not-base64") }, false},
		{"truncated", func() (map[string]string, error) { return c.Open("a", "companies?", cur[:10]) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.open()
			if !tt.wantOK {
				if Status(err) != 400 {
					t.Fatalf("got %v, %v; want 400", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != nil && got["PK"] != key["PK"] {
				t.Fatalf("got %v", got)
			}
		})
	}
	if c.Seal("a", "q", nil) != "" {
		t.Error("last page must have no cursor")
	}
	if strings.Contains(cur, "P#a") || strings.Contains(cur, "META") {
		t.Error("cursor must be opaque")
	}
}

func TestIfMatch(t *testing.T) {
	tests := []struct {
		header  string
		version int
		want    int // 0 ok, else status
	}{
		{"", 3, 0},
		{"*", 3, 0},
		{`"3"`, 3, 0},
		{`"2", "3"`, 3, 0},
		{`"2"`, 3, 412},
		{`W/"3"`, 3, 412},
		{`3`, 3, 400},
		{`"abc"`, 3, 412},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			p, err := ParseIfMatch(tt.header)
			if err == nil {
				err = p.Check(tt.version)
			}
			got := 0
			if err != nil {
				got = Status(err)
			}
			if got != tt.want {
				t.Fatalf("got %d (%v), want %d", got, err, tt.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	tests := map[string]int{"": 50, "1": 1, "200": 200, "0": 400, "201": 400, "x": 400, "-1": 400}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			r := &Request{Event: &events.APIGatewayV2HTTPRequest{QueryStringParameters: map[string]string{"limit": in}}}
			n, err := r.Limit()
			if err != nil {
				n = Status(err)
			}
			if n != want {
				t.Fatalf("got %d, want %d", n, want)
			}
		})
	}
}
