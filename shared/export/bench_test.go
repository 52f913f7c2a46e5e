package export_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/awsclient"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/export"
	"github.com/clientele/clientele/shared/ids"
)

// sink answers S3's upload calls and discards the bytes (counting them):
// the in-memory S3 of the local stack keeps every part and the object in
// this process's heap, which would hide the exporter's own footprint.
type sink struct{ bytes atomic.Int64 }

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, _ := io.Copy(io.Discard, r.Body)
	s.bytes.Add(n)
	w.Header().Set("ETag", `"e"`)
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		fmt.Fprint(w, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"e"</ETag></CompleteMultipartUploadResult>`)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	}
}

// heapBytes is the heap's objects, live or not yet collected; liveBytes
// is the heap the last GC found live (what the exporter really holds).
func heapBytes() uint64 { return readMetric("/memory/classes/heap/objects:bytes") }
func liveBytes() uint64 { return readMetric("/gc/heap/live:bytes") }

// cpuTime is the CPU time this process (the exporter's side) has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The benchmark's DynamoDB runs in a child process (this test binary again,
// with CLIENTELE_BENCH_DYNAMO=<users>,<jobs>): minidyn copies the index's
// references on every Query, and in the same process its garbage would be
// measured as the exporter's. The parent holds only the worker, its SDK
// clients and buffers.
const childEnv = "CLIENTELE_BENCH_DYNAMO"

func TestMain(m *testing.M) {
	if arg := os.Getenv(childEnv); arg != "" {
		if err := serveDynamo(arg); err != nil {
			fmt.Fprintln(os.Stderr, "bench dynamo:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveDynamo creates jobs pending portal export jobs of portal "bench"
// and seeds n users in it, prints the DynamoDB endpoint and the job ids, and
// serves until stdin closes.
//
// The jobs are created first: CreateExport is a transaction, and minidyn
// deep-copies the whole table for each (its rollback snapshot), 9 GB at
// 1,000,000 users. The stack's own export worker is held: the jobs are for
// the parent's worker (with the stream running, the child would export
// each job a second time, on the emulator's core, and race the parent for
// it). The emulator's heap is 860 MB per 100,000 users: the child's
// memory limit is 12 GiB (unless GOMEMLIMIT is set), so that at 1,000,000
// it collects before doubling its 8.6 GB.
func serveDynamo(arg string) error {
	count, jobCount, _ := strings.Cut(arg, ",")
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	jobs, err := strconv.Atoi(jobCount)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(12 << 30)
	}
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	st.HoldStream(true)
	jobIDs := make([]string, jobs)
	now := time.Now().UTC()
	for i := range jobIDs {
		jobIDs[i] = st.Store.NewID()
		job := clientele.Export{ID: jobIDs[i], PortalID: "bench", Scope: clientele.ScopePortal, Status: clientele.ExportPending,
			ObjectKey: "exports/bench.csv", CreatedAt: now, UpdatedAt: now}
		if err := st.Store.CreateExport(ctx, job, nil); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := st.Store.SeedUsers(ctx, "bench", benchUsers(n, st.Store.NewID)); err != nil {
		return err
	}
	runtime.GC()
	fmt.Fprintf(os.Stderr, "bench dynamo: seeded %d users in %s, emulator heap %d MiB\n", n, time.Since(start).Round(time.Millisecond), liveBytes()>>20)
	fmt.Println("DYNAMO=" + st.DynamoURL)
	fmt.Println("KEY=" + st.DynamoKey)
	fmt.Println("JOBS=" + strings.Join(jobIDs, ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// benchUsers are n active client users of one company.
func benchUsers(n int, newID func() string) []clientele.User {
	now := time.Now().UTC()
	name := "A Client User"
	users := make([]clientele.User, n)
	for i := range users {
		users[i] = clientele.User{ID: newID(), Email: fmt.Sprintf("user%07d@example.com", i), Name: &name, CompanyID: "c",
			ProfileID: "client", Status: clientele.Active, PortalAccess: true, InvitedAt: &now, AcceptedAt: &now, CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	return users
}

// childDynamo starts the child with n users and jobs export jobs, and
// returns a store on its table and the jobs' ids.
func childDynamo(b *testing.B, n, jobs int) (*dynamo.Store, []string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d", childEnv, n, jobs))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	url, key, jobIDs := "", "", []string(nil)
	for jobIDs == nil && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "DYNAMO="); ok {
			url = u
		}
		if k, ok := strings.CutPrefix(sc.Text(), "KEY="); ok {
			key = k
		}
		if j, ok := strings.CutPrefix(sc.Text(), "JOBS="); ok {
			jobIDs = strings.Split(j, ",")
		}
	}
	if url == "" || len(jobIDs) != jobs {
		b.Fatal("the child DynamoDB did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, "local", "")}
	c := clock.System{}
	return dynamo.New(awsclient.DynamoDB(cfg, url), stack.Table, c, ids.New(c, nil)), jobIDs
}

// page reads what the worker reads for a portal export, the same way (the
// store's ListProfiles, ListCompanies, ListProjects and ListUsers: the same
// Queries, decoded into the same values), and nothing else: no CSV, no
// upload, no progress writes. It returns the number of users.
func page(ctx context.Context, store *dynamo.Store, pid string, size int) (int, error) {
	var start map[string]string
	for {
		p, err := store.ListProfiles(ctx, pid, 200, start)
		if err != nil {
			return 0, err
		}
		if start = p.Next; start == nil {
			break
		}
	}
	for {
		p, err := store.ListCompanies(ctx, pid, "", 200, start)
		if err != nil {
			return 0, err
		}
		if start = p.Next; start == nil {
			break
		}
	}
	for {
		p, err := store.ListProjects(ctx, pid, 200, start)
		if err != nil {
			return 0, err
		}
		if start = p.Next; start == nil {
			break
		}
	}
	n := 0
	for {
		p, err := store.ListUsers(ctx, pid, dynamo.UserScope{}, "", "", size, start)
		if err != nil {
			return 0, err
		}
		n += len(p.Items)
		if start = p.Next; start == nil {
			return n, nil
		}
	}
}

// BenchmarkExport exports a portal of 10,000, 100,000 and 1,000,000 users
// to one CSV (DynamoDB pages of 1,000 users, about DynamoDB's 1 MB page,
// from minidyn in a child process; S3 multipart parts of 5 MiB, 2 in
// flight, to a sink), and side by side, on the same table in the same
// run, only pages the same users out of the emulator (page). Each
// iteration does rounds of page then export (2 rounds below 1,000,000
// users, 1 at 1,000,000; CLIENTELE_BENCH_ROUNDS overrides):
//
//	go test ./shared/export -run '^$' -bench 'Export/users=10000$' -benchmem -benchtime 1x
//	go test ./shared/export -run '^$' -bench 'Export/users=1000000$' -benchmem -benchtime 1x -timeout 90m
//
// It reports paging-s and export-s, the best of the rounds, and their
// ratio; paging-cpu-s and export-cpu-s, the least CPU time of this process
// (the worker's side, the emulator excluded; the export's includes the
// heap sampler); ns/op, B/op and allocs/op per export (the best time, the
// mean allocations; paging excluded); and, above the heap before the
// export, the largest of the rounds' peak-heap-MiB, the peak of the heap
// (garbage not yet collected included: it depends on GC pacing), and
// peak-live-MiB, the peak of the heap each GC found live: the exporter's
// own memory.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ctx := context.Background()
			var s sink
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: &s, ReadHeaderTimeout: time.Second}
			go func() { _ = srv.Serve(l) }()
			defer srv.Close()
			s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + l.Addr().String()), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
			rounds := 2
			if n >= 1_000_000 {
				rounds = 1
			}
			if r, err := strconv.Atoi(os.Getenv("CLIENTELE_BENCH_ROUNDS")); err == nil && r > 0 {
				rounds = r
			}

			store, jobs := childDynamo(b, n, rounds*b.N)
			const pageSize = 1000
			w := &export.Worker{Store: store, Uploader: export.NewUploader(s3c), Bucket: "b", Log: slog.New(slog.DiscardHandler), PageSize: pageSize}

			var peak, peakLive atomic.Uint64
			var bestPage, bestExport, pageCPU, exportCPU time.Duration
			var exports, allocBytes, allocObjects uint64
			b.ReportAllocs()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				for range rounds {
					runtime.GC()
					t0, c0 := time.Now(), cpuTime()
					got, err := page(ctx, store, "bench", pageSize)
					if err != nil || got != n {
						b.Fatalf("paged %d users, want %d: %v", got, n, err)
					}
					if d := time.Since(t0); bestPage == 0 || d < bestPage {
						bestPage = d
					}
					if c := cpuTime() - c0; pageCPU == 0 || c < pageCPU {
						pageCPU = c
					}

					id := jobs[exports]
					runtime.GC()
					base, baseLive := heapBytes(), liveBytes()
					a0, o0 := readMetric("/gc/heap/allocs:bytes"), readMetric("/gc/heap/allocs:objects")
					stop := make(chan struct{})
					done := make(chan struct{})
					go func() { // sample the heap every millisecond
						defer close(done)
						t := time.NewTicker(time.Millisecond)
						defer t.Stop()
						for {
							if h := heapBytes(); h > base && h-base > peak.Load() {
								peak.Store(h - base)
							}
							if h := liveBytes(); h > baseLive && h-baseLive > peakLive.Load() {
								peakLive.Store(h - baseLive)
							}
							select {
							case <-stop:
								return
							case <-t.C:
							}
						}
					}()
					t0, c0 = time.Now(), cpuTime()
					if err := w.Run(ctx, "bench", id); err != nil {
						b.Fatal(err)
					}
					d, c := time.Since(t0), cpuTime()-c0
					if exportCPU == 0 || c < exportCPU {
						exportCPU = c
					}
					close(stop)
					<-done
					allocBytes += readMetric("/gc/heap/allocs:bytes") - a0
					allocObjects += readMetric("/gc/heap/allocs:objects") - o0
					exports++
					if bestExport == 0 || d < bestExport {
						bestExport = d
					}
					got2, err := store.GetExport(ctx, "bench", id)
					if err != nil || got2.Status != clientele.ExportReady || got2.RowsWritten != n {
						b.Fatalf("job %+v %v", got2, err)
					}
				}
			}
			b.ReportMetric(float64(bestExport.Nanoseconds()), "ns/op")
			b.ReportMetric(float64(allocBytes)/float64(exports), "B/op")
			b.ReportMetric(float64(allocObjects)/float64(exports), "allocs/op")
			b.ReportMetric(bestPage.Seconds(), "paging-s")
			b.ReportMetric(bestExport.Seconds(), "export-s")
			b.ReportMetric(bestExport.Seconds()/bestPage.Seconds(), "ratio")
			b.ReportMetric(pageCPU.Seconds(), "paging-cpu-s")
			b.ReportMetric(exportCPU.Seconds(), "export-cpu-s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(s.bytes.Load())/float64(exports)/(1<<20), "file-MiB")
		})
	}
}
