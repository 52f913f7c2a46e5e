package npm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCI runs a fake npm: it is called only when the wanted file is
// missing, and its failure or a missing result is reported.
func TestCI(t *testing.T) {
	tests := []struct {
		name    string
		present bool   // the wanted file is there before
		npm     string // the fake npm's script; "" for no npm on PATH
		want    string // in the error; "" for none
		ran     bool   // npm ran
	}{
		{"installed already", true, "", "", false},
		{"no npm", false, "", ErrNoNPM.Error(), false},
		{"installs", false, "mkdir -p node_modules/x && : >node_modules/x/bin", "", true},
		{"npm fails", false, "echo broken registry >&2; exit 1", "broken registry", true},
		{"npm installs something else", false, ":", "did not install", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, bin := t.TempDir(), t.TempDir()
			want := filepath.Join("node_modules", "x", "bin")
			if tt.present {
				if err := os.MkdirAll(filepath.Join(dir, "node_modules", "x"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, want), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.npm != "" {
				script := "#!/bin/sh\nPATH=/usr/bin:/bin\n: >ran\n" + tt.npm + "\n"
				if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", bin) // the fake npm or none, never the real one
			err := CI(dir, want)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			if tt.npm == "" && tt.want != "" && !errors.Is(err, ErrNoNPM) {
				t.Fatalf("got %v, want ErrNoNPM", err)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "ran")); (statErr == nil) != tt.ran {
				t.Fatalf("npm ran: %v, want %v", statErr == nil, tt.ran)
			}
		})
	}
}

// TestCIConcurrent: callers at once (test binaries in parallel) install
// once; the others wait on the lock and find the result.
func TestCIConcurrent(t *testing.T) {
	dir, bin := t.TempDir(), t.TempDir()
	script := "#!/bin/sh\nPATH=/usr/bin:/bin\necho run >>runs\nmkdir -p node_modules/x && : >node_modules/x/bin\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- CI(dir, filepath.Join("node_modules", "x", "bin")) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	runs, err := os.ReadFile(filepath.Join(dir, "runs"))
	if err != nil || strings.Count(string(runs), "run") != 1 {
		t.Fatalf("npm ran %d times (%v), want once", strings.Count(string(runs), "run"), err)
	}
}
