package httpapi

import (
	"strings"
	"testing"
)

func TestAnswers(t *testing.T) {
	a, err := NewAnswers(strings.Repeat("s", 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewAnswers(strings.Repeat("t", 32))
	body := `{"url":"https://x.example/portal/signup/demo.secret"}`
	sealed := a.seal("demo", "k1", body)
	if !strings.HasPrefix(sealed, sealedPrefix) || strings.Contains(sealed, "secret") {
		t.Fatalf("sealed %q", sealed)
	}
	if got, err := a.open("demo", "k1", sealed); err != nil || got != body {
		t.Fatalf("open: %q, %v", got, err)
	}
	if a.seal("demo", "k1", body) == sealed {
		t.Fatal("two seals of one body are equal: the nonce repeats")
	}
	for _, tt := range []struct {
		name         string
		by           *Answers
		portal, key  string
		sealed, want string
		fails        bool
	}{
		{"another portal", a, "other", "k1", sealed, "", true},
		{"another key", a, "demo", "k2", sealed, "", true},
		{"another secret", other, "demo", "k1", sealed, "", true},
		{"tampered", a, "demo", "k1", sealed[:len(sealed)-2] + "AA", "", true},
		{"not base64", a, "demo", "k1", sealedPrefix + "!!", "", true},
		{"no sealer", nil, "demo", "k1", sealed, "", true},
		{"kept before sealing", a, "demo", "k1", body, body, false},
		{"no sealer, kept as is", nil, "demo", "k1", body, body, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.by.open(tt.portal, tt.key, tt.sealed)
			if (err != nil) != tt.fails || got != tt.want {
				t.Fatalf("open = %q, %v; want %q, fails %v", got, err, tt.want, tt.fails)
			}
		})
	}
	if got := (*Answers)(nil).seal("demo", "k1", body); got != body {
		t.Fatalf("a nil sealer changed the body: %q", got)
	}
}
