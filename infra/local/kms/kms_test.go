package kms_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/clientele/clientele/infra/local/kms"
)

// call posts body to the stand-in as the SDK does and decodes the answer.
func call(t *testing.T, h http.Handler, target, ctype, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	r.Header.Set("X-Amz-Target", target)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", ct)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	return w.Code, out
}

const jsonType = "application/x-amz-json-1.1"

func encrypt(t *testing.T, h http.Handler, key, ctx string) string {
	t.Helper()
	code, out := call(t, h, "TrentService.Encrypt", jsonType,
		fmt.Sprintf(`{"KeyId":%q,"Plaintext":"c2VjcmV0","EncryptionContext":%s}`, key, ctx))
	if code != 200 {
		t.Fatalf("Encrypt: %d %v", code, out)
	}
	if out["KeyId"] != kms.KeyARN(kms.KeyID) || out["EncryptionAlgorithm"] != "SYMMETRIC_DEFAULT" {
		t.Fatalf("Encrypt answer %v", out)
	}
	blob, _ := out["CiphertextBlob"].(string)
	if _, err := base64.StdEncoding.DecodeString(blob); err != nil || blob == "" {
		t.Fatalf("CiphertextBlob %q: %v", blob, err)
	}
	return blob
}

func TestWire(t *testing.T) {
	k := kms.New()
	h := k.Handler()
	blob := encrypt(t, h, kms.Alias, `{"portalId":"a","purpose":"x"}`)
	other := k.CreateKey()

	tests := []struct {
		name, target, ctype, body string
		status                    int
		want                      map[string]any // fields of the answer
	}{
		{"decrypt without KeyId", "TrentService.Decrypt", jsonType,
			fmt.Sprintf(`{"CiphertextBlob":%q,"EncryptionContext":{"purpose":"x","portalId":"a"}}`, blob),
			200, map[string]any{"Plaintext": "c2VjcmV0", "KeyId": kms.KeyARN(kms.KeyID), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}},
		{"decrypt with key ARN", "TrentService.Decrypt", jsonType + "; charset=utf-8",
			fmt.Sprintf(`{"CiphertextBlob":%q,"KeyId":%q,"EncryptionContext":{"portalId":"a","purpose":"x"}}`, blob, kms.KeyARN(kms.KeyID)),
			200, map[string]any{"Plaintext": "c2VjcmV0"}},
		{"wrong context", "TrentService.Decrypt", jsonType,
			fmt.Sprintf(`{"CiphertextBlob":%q,"EncryptionContext":{"portalId":"b","purpose":"x"}}`, blob),
			400, map[string]any{"__type": "InvalidCiphertextException"}},
		{"missing context", "TrentService.Decrypt", jsonType,
			fmt.Sprintf(`{"CiphertextBlob":%q}`, blob),
			400, map[string]any{"__type": "InvalidCiphertextException"}},
		{"other key", "TrentService.Decrypt", jsonType,
			fmt.Sprintf(`{"CiphertextBlob":%q,"KeyId":%q,"EncryptionContext":{"portalId":"a","purpose":"x"}}`, blob, other),
			400, map[string]any{"__type": "IncorrectKeyException"}},
		{"unknown key", "TrentService.Encrypt", jsonType, `{"KeyId":"alias/nope","Plaintext":"c2VjcmV0"}`,
			400, map[string]any{"__type": "NotFoundException"}},
		{"too large", "TrentService.Encrypt", jsonType,
			fmt.Sprintf(`{"KeyId":%q,"Plaintext":%q}`, kms.Alias, base64.StdEncoding.EncodeToString(make([]byte, 4097))),
			400, map[string]any{"__type": "ValidationException"}},
		{"bad base64", "TrentService.Decrypt", jsonType, `{"CiphertextBlob":"!!"}`,
			400, map[string]any{"__type": "SerializationException"}},
		{"other operation", "TrentService.GenerateDataKey", jsonType, `{}`,
			400, map[string]any{"__type": "UnsupportedOperationException"}},
		{"other content type", "TrentService.Encrypt", "application/json", `{}`,
			400, map[string]any{"__type": "UnsupportedOperationException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, h, tt.target, tt.ctype, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, answer %v; want %d", status, out, tt.status)
			}
			for f, v := range tt.want {
				if out[f] != v {
					t.Fatalf("%s = %v, answer %v; want %v", f, out[f], out, v)
				}
			}
			if _, ok := out["message"]; status != 200 && !ok {
				t.Fatalf("error answer %v has no message", out)
			}
		})
	}
}

func TestFailAndCalls(t *testing.T) {
	k := kms.New()
	h := k.Handler()
	blob := encrypt(t, h, kms.KeyID, `{}`)
	k.Fail(func(op string) bool { return op == "Decrypt" })
	status, out := call(t, h, "TrentService.Decrypt", jsonType, fmt.Sprintf(`{"CiphertextBlob":%q}`, blob))
	if status != 500 || out["__type"] != "KMSInternalException" {
		t.Fatalf("failing Decrypt: %d %v", status, out)
	}
	encrypt(t, h, kms.KeyID, `{}`) // Encrypt unaffected
	k.Fail(nil)
	k.Throttle(func(string) bool { return true })
	if status, out := call(t, h, "TrentService.Decrypt", jsonType, fmt.Sprintf(`{"CiphertextBlob":%q}`, blob)); status != 400 || out["__type"] != "ThrottlingException" {
		t.Fatalf("throttled Decrypt: %d %v", status, out)
	}
	k.Throttle(nil)
	if status, out := call(t, h, "TrentService.Decrypt", jsonType, fmt.Sprintf(`{"CiphertextBlob":%q}`, blob)); status != 200 {
		t.Fatalf("recovered Decrypt: %d %v", status, out)
	}
	if c := k.Calls(); c["Encrypt"] != 2 || c["Decrypt"] != 3 {
		t.Fatalf("Calls %v", c)
	}
}

func TestConcurrent(t *testing.T) {
	k := kms.New()
	srv := httptest.NewServer(k.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if i%4 == 0 {
				k.CreateKey()
				k.Fail(nil)
				_ = k.Calls()
			}
			body := fmt.Sprintf(`{"KeyId":%q,"Plaintext":"c2VjcmV0"}`, kms.Alias)
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", jsonType)
			req.Header.Set("X-Amz-Target", "TrentService.Encrypt")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if c := k.Calls()["Encrypt"]; c != 16 {
		t.Fatalf("Encrypt calls %d", c)
	}
}
