package httpapi

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/clientele"
)

func formRequest(contentType, body string, b64 bool) *Request {
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return &Request{Event: &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": contentType},
		Body: body, IsBase64Encoded: b64}}
}

func TestForm(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, contentType, body string
		b64                     bool
		want                    map[string]string
		code                    clientele.Code
	}{
		{"fields", ct, "a=1&b=x+y%26z", false, map[string]string{"a": "1", "b": "x y&z"}, ""},
		{"charset parameter, base64 body, a field missing", ct + "; charset=utf-8", "a=%C3%A9", true, map[string]string{"a": "é"}, ""},
		{"unknown field", ct, "a=1&admin=1", false, nil, clientele.Invalid},
		{"repeated field", ct, "a=1&a=2", false, nil, clientele.Invalid},
		{"bad encoding", ct, "a=%zz", false, nil, clientele.Invalid},
		{"JSON", "application/json", `{"a":"1"}`, false, nil, clientele.UnsupportedMedia},
		{"too large", ct, "a=" + strings.Repeat("x", MaxForm), false, nil, clientele.TooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formRequest(tt.contentType, tt.body, tt.b64).Form("a", "b")
			if clientele.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
				t.Fatalf("err %v, want code %q", err, tt.code)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestCookie(t *testing.T) {
	r := &Request{Event: &events.APIGatewayV2HTTPRequest{Cookies: []string{"a=1", " csrf=n1", "csrf=n2", "broken"}}}
	if got := r.Cookie("csrf"); got != "n1" {
		t.Fatalf("csrf = %q, want the first", got)
	}
	if got := r.Cookie("none"); got != "" {
		t.Fatalf("none = %q", got)
	}
}
