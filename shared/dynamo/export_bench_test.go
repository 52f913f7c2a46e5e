package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/infra/dynamodblocal"
	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/infra/template"
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

// benchDynamo creates a table of template.yaml's shape in a database of its
// own of DynamoDB Local, seeds n users of portal "bench" (BatchWriteItem,
// 8 writers) and jobs pending portal export jobs, and returns a store on it
// and the jobs' ids. DynamoDB Local is a JVM of its own: nothing of it is
// measured as the exporter's; the seeding's garbage is collected before
// any round.
func benchDynamo(b *testing.B, n, jobs int) (*dynamo.Store, []string) {
	b.Helper()
	ctx := context.Background()
	ddb, err := dynamodblocal.Shared()
	if err != nil {
		b.Fatal(err)
	}
	c := clock.System{}
	gen := ids.New(c, nil)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("bench"+gen.New(), "local", "")}
	db := awsclient.DynamoDB(cfg, ddb.URL)
	path, err := template.FindFile()
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := template.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	in, err := tmpl.CreateTableInput(stack.Table)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(stack.Table)})
	})
	store := dynamo.New(db, stack.Table, c, gen)
	jobIDs := make([]string, jobs)
	now := time.Now().UTC()
	for i := range jobIDs {
		jobIDs[i] = store.NewID()
		job := clientele.Export{ID: jobIDs[i], PortalID: "bench", Scope: clientele.ScopePortal, Status: clientele.ExportPending,
			ObjectKey: "exports/bench.csv", CreatedAt: now, UpdatedAt: now}
		if err := store.CreateExport(ctx, job, nil); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	users := benchUsers(n, store.NewID)
	const writers = 8
	errs := make(chan error, writers)
	for w := range writers {
		go func() { errs <- store.SeedUsers(ctx, "bench", users[w*n/writers:(w+1)*n/writers]) }()
	}
	for range writers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
	return store, jobIDs
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
// from DynamoDB Local; S3 multipart parts of 5 MiB, 2 in flight, to a
// sink), and side by side, on the same table in the same run, only pages
// the same users out of DynamoDB Local (page). Each
// iteration does rounds of page then export (2 rounds below 1,000,000
// users, 1 at 1,000,000; CLIENTELE_BENCH_ROUNDS overrides):
//
//	go test ./shared/export -run '^$' -bench 'Export/users=10000$' -benchmem -benchtime 1x
//	go test ./shared/export -run '^$' -bench 'Export/users=1000000$' -benchmem -benchtime 1x -timeout 90m
//
// It reports paging-s and export-s, the best of the rounds, and their
// ratio; paging-cpu-s and export-cpu-s, the least CPU time of this process
// (the worker's side, DynamoDB Local excluded; the export's includes the
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

			store, jobs := benchDynamo(b, n, rounds*b.N)
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
