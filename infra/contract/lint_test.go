package contract

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/clientele/clientele/infra/npm"
)

// TestLint: the OpenAPI document passes both linters with no error, and a
// known-bad one fails both (so a broken install or ruleset cannot pass
// silently). Warnings are printed with -v.
func TestLint(t *testing.T) {
	// npm writes node_modules/.package-lock.json once an install is complete.
	if err := npm.CI(".", filepath.Join("node_modules", ".package-lock.json")); err != nil {
		if errors.Is(err, npm.ErrNoNPM) {
			t.Fatal("npm is not on PATH: install Node.js 20.19+ (make deps does), which installs the linters from infra/contract/package-lock.json")
		}
		t.Fatal(err)
	}
	spec := filepath.Join("..", "..", "shared", "openapi", "openapi.yaml")
	invalid := filepath.Join("testdata", "invalid.yaml")
	redocly := func(doc string) []string {
		return []string{filepath.Join("node_modules", ".bin", "redocly"), "lint", "--config", "redocly.yaml", "--format", "stylish", doc}
	}
	spectral := func(doc string) []string {
		return []string{filepath.Join("node_modules", ".bin", "spectral"), "lint", "--ruleset", ".spectral.yaml", "--fail-severity", "error", doc}
	}
	tests := []struct {
		name  string
		cmd   []string
		clean bool // no error expected
	}{
		{"redocly openapi.yaml", redocly(spec), true},
		{"spectral openapi.yaml", spectral(spec), true},
		{"redocly refuses invalid.yaml", redocly(invalid), false},
		{"spectral refuses invalid.yaml", spectral(invalid), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), tt.cmd[0], tt.cmd[1:]...)
			// No telemetry, update checks or colours: the run stays local and
			// its output readable in a test log.
			cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1", "FORCE_COLOR=0")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err != nil && !errors.As(err, &exit):
				t.Fatalf("%v: %v\n%s", tt.cmd, err, out)
			case tt.clean && err != nil:
				t.Fatalf("errors in the OpenAPI document (%v):\n%s", err, out)
			case !tt.clean && err == nil:
				t.Fatalf("a known-bad document passed:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}
