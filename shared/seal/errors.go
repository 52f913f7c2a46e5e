package seal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/clientele/clientele/shared/clientele"
)

// Classes of KMS failure; the returned errors also wrap the SDK's error,
// so errors.As still finds its exception type.
var (
	// ErrUnavailable: KMS could not answer now (throttled, internal error,
	// key state, network); the caller answers 503 and may retry later.
	ErrUnavailable = errors.New("seal: KMS unavailable")
	// ErrInvalid: the ciphertext does not open with this key and context;
	// the caller treats the stored secret as unreadable.
	ErrInvalid = errors.New("seal: ciphertext invalid")
)

// Exception codes by class. Others (NotFoundException, AccessDenied,
// InvalidKeyUsage…) are configuration faults and stay unclassified: 500.
var (
	invalidCodes = map[string]bool{
		"InvalidCiphertextException": true, // tampered, or wrong context
		"IncorrectKeyException":      true, // sealed under another key
	}
	unavailableCodes = map[string]bool{
		"KMSInternalException":        true,
		"KMSInvalidStateException":    true, // key pending deletion or import
		"DisabledException":           true, // an operator can re-enable it
		"KeyUnavailableException":     true,
		"DependencyTimeoutException":  true,
		"ThrottlingException":         true,
		"LimitExceededException":      true,
		"RequestLimitExceeded":        true,
		"ServiceUnavailableException": true,
		"InternalFailure":             true,
	}
)

// classify turns a KMS failure into the caller's error: Unavailable (a
// 503) or one wrapping clientele.ErrSecretUnreadable, each also wrapping
// this package's class and the SDK's error.
func classify(op string, err error) error {
	unavailable := func() error {
		return &clientele.Error{Code: clientele.Unavailable, RetryAfter: time.Second,
			Message: "the key service is unavailable; retry shortly", Err: fmt.Errorf("%w: kms %s: %w", ErrUnavailable, op, err)}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case invalidCodes[code]:
			return fmt.Errorf("%w: %w: kms %s: %w", clientele.ErrSecretUnreadable, ErrInvalid, op, err)
		case unavailableCodes[code], api.ErrorFault() == smithy.FaultServer:
			return unavailable()
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == 429) {
		return unavailable()
	}
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unavailable()
	}
	return fmt.Errorf("seal: kms %s: %w", op, err)
}
