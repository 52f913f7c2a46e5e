package dynamodblocal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckJava: a missing or too old Java is named, with what to do.
func TestCheckJava(t *testing.T) {
	tests := []struct {
		name    string
		version string // what the fake java prints; "" for no java at all
		want    string // in the error; "" for none
	}{
		{"no java", "", "java is not on PATH; install Java 17+"},
		{"java 11", `openjdk version "11.0.2" 2019-01-15`, "needs Java 17+"},
		{"java 1.8", `java version "1.8.0_281"`, "needs Java 17+"},
		{"java 17", `openjdk version "17.0.15" 2025-04-15`, ""},
		{"java 21", `openjdk version "21" 2023-09-19`, ""},
		{"unreadable", `something else`, "cannot read the version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.version != "" {
				script := "#!/bin/sh\necho '" + tt.version + "' >&2\n"
				if err := os.WriteFile(filepath.Join(dir, "java"), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", dir)
			t.Setenv("JAVA_HOME", "")
			_, err := checkJava()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestInstallWithoutNPM: with the jar missing and no npm, the error says
// what to install (or how to use another DynamoDB).
func TestInstallWithoutNPM(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "infra", "dynamodblocal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	t.Setenv("PATH", t.TempDir())
	_, err := Install()
	if err == nil || !strings.Contains(err.Error(), "npm is not on PATH") || !strings.Contains(err.Error(), "DYNAMODB_ENDPOINT") {
		t.Fatalf("got %v", err)
	}
}

// TestShared: one server per process, answering DynamoDB requests.
func TestShared(t *testing.T) {
	a, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Shared()
	if err != nil || a != b {
		t.Fatalf("a second server (%v)", err)
	}
	if !a.ready() {
		t.Fatal("not answering")
	}
}
