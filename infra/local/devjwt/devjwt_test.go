package devjwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	iss = "http://127.0.0.1:3000/_local"
	aud = "clientele-local"
)

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	is := NewIssuer(key, iss, aud, clock)
	forger := NewIssuer(other, iss, aud, clock)
	forger.kid = is.kid // same kid, another key: a bad signature
	v, err := NewVerifier(is.JWKS(), iss, aud, clock)
	if err != nil {
		t.Fatal(err)
	}
	base := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": iss, "aud": aud, "sub": "s", "portal_id": "demo", "role": "admin", "exp": now.Add(time.Hour).Unix()}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		s, err := is.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good, _ := is.Token("demo", "admin", "s", time.Hour)
	forged, _ := forger.Token("demo", "admin", "s", time.Hour)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, base(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustDER(t, &key.PublicKey)})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, base(nil))
	hs.Header["kid"] = is.kid
	hsTok, _ := hs.SignedString(pubPEM)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	es := jwt.NewWithClaims(jwt.SigningMethodES256, base(nil))
	es.Header["kid"] = "ec-unknown"
	esTok, _ := es.SignedString(ec)
	unknownKid := jwt.NewWithClaims(jwt.SigningMethodRS256, base(nil))
	unknownKid.Header["kid"] = "nope"
	unknownKidTok, _ := unknownKid.SignedString(key)

	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{"valid", "Bearer " + good, true},
		{"scheme is case-insensitive", "bearer " + good, true},
		{"audience in an array", "Bearer " + sign(base(func(c jwt.MapClaims) { c["aud"] = []string{"x", aud} })), true},
		{"missing", "", false},
		{"not bearer", "Basic " + good, false},
		{"garbage", "Bearer abc.def.ghi", false},
		{"expired", "Bearer " + sign(base(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() })), false},
		{"no exp", "Bearer " + sign(base(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"not yet valid", "Bearer " + sign(base(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), false},
		{"wrong issuer", "Bearer " + sign(base(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), false},
		{"wrong audience", "Bearer " + sign(base(func(c jwt.MapClaims) { c["aud"] = "other" })), false},
		{"bad signature", "Bearer " + forged, false},
		{"unknown kid", "Bearer " + unknownKidTok, false},
		{"alg none", "Bearer " + none, false},
		{"HS256 with the public key as secret", "Bearer " + hsTok, false},
		{"ES256 with an unknown key", "Bearer " + esTok, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(tt.header)
			if tt.ok {
				if err != nil || claims["portal_id"] != "demo" || claims["role"] != "admin" || claims["sub"] != "s" {
					t.Fatalf("got %v, %v", claims, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %v", claims)
			}
		})
	}
	if _, err := v.Verify(""); !errors.Is(err, ErrMissingToken) {
		t.Fatalf("missing token: %v", err)
	}
}

func mustDER(t *testing.T, pub any) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key.pem")
	a, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Fatal("the reloaded key differs")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
}
