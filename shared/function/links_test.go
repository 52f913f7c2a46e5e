package function_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLinks: each function links the AWS services it calls and no other
// (SES only where mail is sent, S3 only in the export functions, KMS only
// in the crm function, and none of the SDK's credential-chain services: a
// function takes Lambda's credentials from its environment), as
// `go list -deps` sees its main package; and no service's schemas package
// (see go.mod).
func TestLinks(t *testing.T) {
	want := map[string][]string{
		"client":       {"dynamodb", "sesv2"},
		"companies":    {"dynamodb", "sesv2"},
		"crm":          {"dynamodb", "kms", "sesv2"},
		"events":       {"dynamodb", "eventbridge"}, // dynamodb: the stream image decoder
		"exports":      {"dynamodb", "s3"},
		"exportworker": {"dynamodb", "s3"},
		"mailfeedback": {"dynamodb"},
		"pages":        {"dynamodb", "sesv2"},
		"portal":       {"dynamodb"},
		"projects":     {"dynamodb", "sesv2"},
		"reminders":    {"dynamodb", "sesv2"},
		"users":        {"dynamodb", "sesv2"},
	}
	mains, err := filepath.Glob("../../functions/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) != len(want) {
		t.Errorf("%d functions, %d in this table", len(mains), len(want))
	}
	const service = "github.com/aws/aws-sdk-go-v2/service/"
	for _, dir := range mains {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "./"+dir).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var got []string
			for _, pkg := range strings.Fields(string(out)) {
				s, ok := strings.CutPrefix(pkg, service)
				if ok && !strings.Contains(s, "/") {
					got = append(got, s)
				}
				// The SDK's schema-based serde builds every shape of a
				// service at package init (0.7-1.2 ms per service per
				// cold start): go.mod pins the releases before it.
				if ok && strings.HasSuffix(s, "/schemas") {
					t.Errorf("links %s: a service release with schema-based serde (see go.mod)", pkg)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want[name]) {
				t.Errorf("links %v, want %v", got, want[name])
			}
		})
	}
}
