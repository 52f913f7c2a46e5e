package kms

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

const (
	contentType  = "application/x-amz-json-1.1"
	targetPrefix = "TrentService."
	algorithm    = "SYMMETRIC_DEFAULT"
	maxPlaintext = 4096 // KMS's Encrypt limit
	blobVersion  = 1
)

// apiError is a KMS error answer: HTTP status and the JSON 1.1 error body.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalidCiphertext() *apiError {
	return &apiError{http.StatusBadRequest, "InvalidCiphertextException", "The ciphertext is invalid or its encryption context differs"}
}

func notFound(ref string) *apiError {
	return &apiError{http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", ref)}
}

// Handler serves KMS's JSON 1.1 protocol: POST / with X-Amz-Target
// TrentService.Encrypt or TrentService.Decrypt. Signatures are not checked.
func (k *KMS) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
		k.mu.Lock()
		k.calls[op]++
		fail := k.fail != nil && k.fail(op)
		limit := k.limit != nil && k.limit(op)
		k.mu.Unlock()

		var body any
		var err error
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case fail:
			err = &apiError{http.StatusInternalServerError, "KMSInternalException", "local KMS told to fail " + op}
		case limit:
			err = &apiError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
		case r.Method != http.MethodPost || mt != contentType:
			err = &apiError{http.StatusBadRequest, "UnsupportedOperationException", "POST " + contentType + " only"}
		case op == "Encrypt":
			body, err = k.encrypt(r.Body)
		case op == "Decrypt":
			body, err = k.decrypt(r.Body)
		default:
			err = &apiError{http.StatusBadRequest, "UnsupportedOperationException", fmt.Sprintf("the local KMS does not implement %q", op)}
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Amzn-RequestId", uuid())
		status := http.StatusOK
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{http.StatusInternalServerError, "KMSInternalException", err.Error()}
			}
			status, body = ae.status, map[string]string{"__type": ae.code, "message": ae.msg}
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
}

type encryptInput struct {
	KeyId               string
	Plaintext           []byte // base64 on the wire, as encoding/json expects
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

type encryptOutput struct {
	CiphertextBlob      []byte
	KeyId               string
	EncryptionAlgorithm string
}

func (k *KMS) encrypt(r io.Reader) (any, error) {
	var in encryptInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	switch {
	case in.KeyId == "":
		return nil, validation("keyId", "Member must not be null")
	case len(in.Plaintext) == 0 || len(in.Plaintext) > maxPlaintext:
		return nil, validation("plaintext", fmt.Sprintf("Member must have length between 1 and %d", maxPlaintext))
	case in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != algorithm:
		return nil, &apiError{http.StatusBadRequest, "InvalidKeyUsageException", "symmetric keys support " + algorithm + " only"}
	}
	id, aead, ok := k.resolve(in.KeyId)
	if !ok {
		return nil, notFound(in.KeyId)
	}
	if in.DryRun {
		return nil, &apiError{http.StatusPreconditionFailed, "DryRunOperationException", "The request would have succeeded"}
	}
	// Blob: version, key id length, key id, nonce, GCM output. The header
	// is authenticated too, so a blob relabelled to another key fails.
	header := append([]byte{blobVersion, byte(len(id))}, id...)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	blob := append(append(header, nonce...), aead.Seal(nil, nonce, in.Plaintext, aad(header, in.EncryptionContext))...)
	return encryptOutput{blob, KeyARN(id), algorithm}, nil
}

type decryptInput struct {
	CiphertextBlob      []byte
	KeyId               string
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

type decryptOutput struct {
	Plaintext           []byte
	KeyId               string
	EncryptionAlgorithm string
}

func (k *KMS) decrypt(r io.Reader) (any, error) {
	var in decryptInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.EncryptionAlgorithm != "" && in.EncryptionAlgorithm != algorithm {
		return nil, &apiError{http.StatusBadRequest, "InvalidKeyUsageException", "symmetric keys support " + algorithm + " only"}
	}
	// As KMS: the request's KeyId is checked first, and one naming another
	// key than the blob's is refused before any decryption is tried.
	want := ""
	if in.KeyId != "" {
		id, _, ok := k.resolve(in.KeyId)
		if !ok {
			return nil, notFound(in.KeyId)
		}
		want = id
	}
	b := in.CiphertextBlob
	if len(b) < 2 || b[0] != blobVersion || len(b) < 2+int(b[1]) {
		return nil, invalidCiphertext()
	}
	header, blobKey := b[:2+int(b[1])], string(b[2:2+int(b[1])])
	if want != "" && want != blobKey {
		return nil, &apiError{http.StatusBadRequest, "IncorrectKeyException",
			"The key ID in the request does not identify a CMK that can perform this operation."}
	}
	_, aead, ok := k.resolve(blobKey)
	if !ok {
		return nil, notFound(KeyARN(blobKey))
	}
	rest := b[len(header):]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, invalidCiphertext()
	}
	nonce, sealed := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, aad(header, in.EncryptionContext))
	if err != nil { // tampered blob, other key material or other context
		return nil, invalidCiphertext()
	}
	if in.DryRun {
		return nil, &apiError{http.StatusPreconditionFailed, "DryRunOperationException", "The request would have succeeded"}
	}
	return decryptOutput{plain, KeyARN(blobKey), algorithm}, nil
}

// aad is the GCM additional data: the blob header and the canonical
// encryption context. encoding/json sorts map keys and escapes strings, so
// equal contexts encode equally and distinct ones never collide; an empty
// context equals an absent one, as in KMS.
func aad(header []byte, ctx map[string]string) []byte {
	if len(ctx) == 0 {
		return header
	}
	c, _ := json.Marshal(ctx) // a map[string]string always marshals
	return append(bytes.Clone(header), c...)
}

func decode(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "cannot parse the request body"}
	}
	return nil
}

func validation(field, constraint string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException",
		fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)}
}
