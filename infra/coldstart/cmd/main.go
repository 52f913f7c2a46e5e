// Command coldstart (make coldstart) times the functions' cold starts under
// AWS's Lambda Runtime Interface Emulator, with DynamoDB Local behind,
// beside a hello-world Lambda built with the same flags: COLDSTART_RUNS
// fresh starts of each (default 10), in alternating order. It prints a
// table and, as its last line, `cold start ratio R`: the largest median
// init of a function over the hello-world's median init. The line before
// it is the floor's ratio: the hello-world that also builds a DynamoDB
// client, which is what the SDK alone adds to any function.
//
// With -latency (make latency) it times warm invocations instead:
// LATENCY_N (default 1,000) of each of GET /v1/companies, POST /v1/users,
// GET /v1/me/projects and the hello-world, each function under its own
// emulator kept running after its first (cold) invocation, every answer
// checked. It prints Markdown table rows for the README and, as its last
// line, `warm p50/p99 ms: companies a/b users c/d me-projects e/f hello g/h`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/clientele/clientele/infra/coldstart"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run() error {
	latency := flag.Bool("latency", false, "time LATENCY_N warm invocations of each endpoint instead of cold starts")
	flag.Parse()
	name, runs := "COLDSTART_RUNS", 10
	if *latency {
		name, runs = "LATENCY_N", 1000
	}
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s must be a positive whole number, got %q", name, v)
		}
		runs = n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(os.Stderr, "building the functions, the hello-world and the emulator; starting DynamoDB Local")
	b, err := coldstart.Setup(ctx, dir)
	if err != nil {
		return err
	}
	if *latency {
		return warm(ctx, b, runs)
	}
	fns := b.Functions
	inits := make([][]time.Duration, len(fns))
	firsts := make([][]time.Duration, len(fns))
	for r := range runs {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", r+1, runs)
		// Alternating: each round starts one function further on, so no
		// function always follows the same one (or always runs first).
		for i := range fns {
			k := (i + r) % len(fns)
			res, err := b.Start(ctx, fns[k])
			if err == nil {
				err = coldstart.Check(fns[k], res)
			}
			if err != nil {
				return err
			}
			inits[k] = append(inits[k], res.Init)
			firsts[k] = append(firsts[k], res.FirstResponse)
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(os.Stdout, "%d fresh starts per function, host build (%s); init: exec of bootstrap to first /next; first response: invoke to response\n", runs, runtime.GOOS+"/"+runtime.GOARCH)
	fmt.Fprintln(w, "function\tmedian init\tp90 init\tmedian first response\tbinary size\t")
	var hello, floor, worst time.Duration
	for k, fn := range fns {
		med := coldstart.Median(inits[k])
		switch fn.Name {
		case coldstart.Hello:
			hello = med
		case coldstart.Floor:
			floor = med
		default:
			worst = max(worst, med)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.1f MiB\t\n", fn.Name, ms(med), ms(coldstart.Percentile(inits[k], 90)),
			ms(coldstart.Median(firsts[k])), float64(fn.Size)/(1<<20))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("floor ratio %.2f (the hello-world with a DynamoDB client)\n", float64(floor)/float64(hello))
	fmt.Printf("cold start ratio %.2f\n", float64(worst)/float64(hello))
	return nil
}

// warm times n warm invocations of each endpoint and prints the table.
func warm(ctx context.Context, b *coldstart.Bench, n int) error {
	fmt.Fprintf(os.Stderr, "seeding DynamoDB Local; %d warm invocations of each endpoint\n", n)
	step := max(n/10, 1)
	ws, err := b.Latency(ctx, n, func(round int) {
		if round%step == 0 || round == n {
			fmt.Fprintf(os.Stderr, "round %d of %d\n", round, n)
		}
	})
	if err != nil {
		return err
	}
	return coldstart.Report(os.Stdout, ws)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
