// Package devjwt is the local stack's staff identity: an RS256 issuer with a
// JWKS, and a verifier that checks tokens the way API Gateway's HTTP API JWT
// authorizer does. Dev and tests only.
package devjwt

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrMissingToken is a request without an Authorization header.
var ErrMissingToken = errors.New("no bearer token")

// GenerateKey returns a fresh RSA 2048 key.
func GenerateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	return k, nil
}

// LoadOrCreateKey reads a PKCS#8 PEM key, creating it (0600, directory 0700)
// when missing, so `token` and a running stack sign with the same key.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := GenerateKey()
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create key directory: %w", err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("write key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s is not RSA", path)
	}
	return rk, nil
}

// Issuer signs staff tokens.
type Issuer struct {
	key      *rsa.PrivateKey
	kid      string
	issuer   string
	audience string
	now      func() time.Time
}

// NewIssuer returns an issuer; the key id is derived from the public key.
func NewIssuer(key *rsa.PrivateKey, issuer, audience string, now func() time.Time) *Issuer {
	sum := sha256.Sum256(key.N.Bytes())
	return &Issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:8]), issuer: issuer, audience: audience, now: now}
}

// Audience is the aud of the tokens.
func (i *Issuer) Audience() string { return i.audience }

// Token returns a staff token for portalID with role, valid for ttl.
func (i *Issuer) Token(portalID, role, subject string, ttl time.Duration) (string, error) {
	now := i.now()
	return i.Sign(jwt.MapClaims{
		"iss": i.issuer, "aud": i.audience, "sub": subject, "portal_id": portalID, "role": role,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
}

// Sign signs arbitrary claims with RS256 and the issuer's kid.
func (i *Issuer) Sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is the issuer's public key set.
func (i *Issuer) JWKS() []byte {
	b, _ := json.Marshal(map[string][]jwk{"keys": {{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: i.kid,
		N: base64.RawURLEncoding.EncodeToString(i.key.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(i.key.E)).Bytes()),
	}}})
	return b
}

// Verifier checks tokens against a JWKS like API Gateway's JWT authorizer:
// RS256/ES256 only, known kid, exact iss, aud containing the audience, exp
// required, nbf honoured, no leeway.
type Verifier struct {
	keys     map[string]*rsa.PublicKey
	issuer   string
	audience string
	now      func() time.Time
}

// NewVerifier parses jwks (RSA keys; this issuer signs nothing else).
func NewVerifier(jwks []byte, issuer, audience string, now func() time.Time) (*Verifier, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	v := &Verifier{keys: map[string]*rsa.PublicKey{}, issuer: issuer, audience: audience, now: now}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("parse JWK %s: %w", k.Kid, err)
		}
		v.keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return v, nil
}

// Verify checks an Authorization header value and returns the claims as
// API Gateway passes them to the function: strings as they are, numbers in
// decimal, arrays as "[a b]".
func (v *Verifier) Verify(authorization string) (map[string]string, error) {
	if authorization == "" {
		return nil, ErrMissingToken
	}
	scheme, raw, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return nil, errors.New("the Authorization header is not a Bearer token")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(strings.TrimSpace(raw), claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return k, nil
	},
		jwt.WithValidMethods([]string{"RS256", "ES256"}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	out := make(map[string]string, len(claims))
	for k, c := range claims {
		switch x := c.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = fmt.Sprintf("%.0f", x)
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}
