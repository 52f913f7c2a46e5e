// Package seal encrypts a portal's CRM credentials at rest with AWS KMS,
// bound to the portal: the ciphertext names the portal in its encryption
// context, so one copied onto another portal's item does not open.
//
// Secrets (a client secret, a refresh token) are far below KMS's 4 KB
// Encrypt limit, so they go to KMS Encrypt/Decrypt directly: no data keys,
// no envelope format of our own, and every Open is in CloudTrail with its
// portal id. Plaintext never appears in an error.
package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/clientele/clientele/shared/clientele"
)

// MaxPlaintext is KMS Encrypt's plaintext limit in bytes.
const MaxPlaintext = 4096

// Purpose is the default purpose in the encryption context.
const Purpose = "crm-credentials"

// KMS is the subset of *kms.Client a Sealer uses.
type KMS interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Sealer seals and opens one kind of secret under one KMS key.
type Sealer struct {
	client  KMS
	keyID   string
	purpose string
}

// New returns a Sealer for CRM credentials under keyID (key id, key ARN,
// alias name or alias ARN).
func New(client KMS, keyID string) *Sealer {
	return &Sealer{client: client, keyID: keyID, purpose: Purpose}
}

// WithPurpose returns a copy sealing under another purpose, so secrets of
// different kinds cannot stand in for each other.
func (s *Sealer) WithPurpose(purpose string) *Sealer {
	c := *s
	c.purpose = purpose
	return &c
}

func (s *Sealer) context(portalID string) map[string]string {
	return map[string]string{"portalId": portalID, "purpose": s.purpose}
}

// Seal encrypts plaintext for portalID.
func (s *Sealer) Seal(ctx context.Context, portalID string, plaintext []byte) ([]byte, error) {
	switch {
	case portalID == "":
		return nil, ErrNoPortal
	case len(plaintext) == 0:
		return nil, ErrEmpty
	case len(plaintext) > MaxPlaintext:
		return nil, fmt.Errorf("%w: %d bytes, KMS takes at most %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	out, err := s.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:               aws.String(s.keyID),
		Plaintext:           plaintext,
		EncryptionContext:   s.context(portalID),
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, classify("Encrypt", err)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts what Seal returned for portalID. ErrInvalid means the stored
// secret is unreadable (tampered, another portal's, another key's);
// ErrUnavailable that KMS could not answer now.
func (s *Sealer) Open(ctx context.Context, portalID string, ciphertext []byte) ([]byte, error) {
	switch {
	case portalID == "":
		return nil, ErrNoPortal
	case len(ciphertext) == 0:
		return nil, fmt.Errorf("%w: %w: empty ciphertext", clientele.ErrSecretUnreadable, ErrInvalid)
	}
	// KeyId too, as AWS recommends for symmetric keys: KMS then refuses a
	// blob of any other key instead of using whichever key it names.
	out, err := s.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:               aws.String(s.keyID),
		CiphertextBlob:      ciphertext,
		EncryptionContext:   s.context(portalID),
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return nil, classify("Decrypt", err)
	}
	return out.Plaintext, nil
}

// Errors of Seal and Open.
var (
	ErrNoPortal = errors.New("seal: no portal id")
	ErrEmpty    = errors.New("seal: empty plaintext")
	ErrTooLarge = errors.New("seal: plaintext too large")
)
