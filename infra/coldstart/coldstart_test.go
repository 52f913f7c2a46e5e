package coldstart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestBootstraps builds every function for the host and starts each once
// under the Runtime Interface Emulator, with DynamoDB Local behind: it must
// start and answer its event without a runtime error, so that a broken
// bootstrap (a missing variable, a panic at init, a handler the runtime
// cannot call) fails here rather than in Lambda.
func TestBootstraps(t *testing.T) {
	// Not cancelled before the parallel subtests end; every start is
	// bounded on its own (the emulator's listen deadline, the function timeout).
	ctx := t.Context()
	b, err := Setup(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range b.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			t.Parallel()
			res, err := b.Start(ctx, fn)
			if err != nil {
				t.Fatalf("%v\n%s", err, res.Log)
			}
			if err := Check(fn, res); err != nil {
				t.Fatal(err)
			}
			if want, ok := wantStatus[fn.Name]; ok {
				var r events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(res.Body, &r); err != nil || r.StatusCode != want {
					t.Errorf("got %s, want an API Gateway response with status %d", res.Body, want)
				}
			}
			if fn.Fixture() && string(res.Body) != `"hello"` {
				t.Errorf("got %s, want \"hello\"", res.Body)
			}
			t.Logf("%s: init %v, first response %v, %d bytes: %.30s", fn.Name, res.Init, res.FirstResponse, fn.Size, res.Body)
		})
	}
	// The warm latency run, short: every answer checked, the statistics computed.
	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		testLatency(ctx, t, b)
	})
	t.Run("latency, SES down", func(t *testing.T) {
		t.Parallel()
		testLatencySESDown(ctx, t, b)
	})
	// And the harness notices a bootstrap that fails at init.
	t.Run("broken", func(t *testing.T) {
		t.Parallel()
		i := slices.IndexFunc(b.Functions, func(f Function) bool { return f.Name == "companies" })
		if i < 0 {
			t.Fatal("no companies function")
		}
		fn := b.Functions[i]
		res, err := b.Without("TABLE_NAME").Start(ctx, fn)
		if err == nil {
			err = Check(fn, res)
		}
		if err == nil {
			t.Fatalf("%s without TABLE_NAME: no error, answered %s", fn.Name, res.Body)
		}
		if !strings.Contains(err.Error()+res.Log, "TABLE_NAME") {
			t.Errorf("got %v\n%s\nwant the init error naming TABLE_NAME", err, res.Log)
		}
	})
}

// wantStatus is the status of the API functions whose route answers the
// demo owner with a success on an empty table.
var wantStatus = map[string]int{"companies": 200}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	tests := []struct {
		name     string
		in       []time.Duration
		p90, med time.Duration
	}{
		{"one", ms(5), 5 * time.Millisecond, 5 * time.Millisecond},
		{"ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 9 * time.Millisecond, 5500 * time.Microsecond},
		{"eleven", ms(11, 1, 9, 2, 8, 3, 7, 4, 6, 5, 10), 10 * time.Millisecond, 6 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.in, 90); got != tt.p90 {
				t.Errorf("p90: got %v, want %v", got, tt.p90)
			}
			if got := Median(tt.in); got != tt.med {
				t.Errorf("median: got %v, want %v", got, tt.med)
			}
		})
	}
}

func TestReadMakefile(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := ReadMakefile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// Every function is built and started: none is missing from FUNCTIONS.
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !slices.Contains(mk.Functions, d.Name()) {
			t.Errorf("functions/%s is not in the Makefile's FUNCTIONS", d.Name())
		}
	}
	got, want := mk.BuildArgs, []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}
	if len(got) != len(want) {
		t.Fatalf("BUILD_ARGS: got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("BUILD_ARGS: got %q, want %q", got, want)
		}
	}
	for _, kv := range mk.Env {
		if kv == "GOOS=linux" || kv == "GOARCH=arm64" {
			t.Errorf("LAMBDA_FLAGS: %s kept; the host's is wanted", kv)
		}
	}
}
