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
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
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

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The benchmark's DynamoDB runs in a child process (this test binary again,
// with CLIENTELE_BENCH_DYNAMO=<users>): minidyn copies the whole table on
// every Query, and in the same process its garbage would be measured as the
// exporter's. The parent holds only the worker, its SDK clients and buffers.
const childEnv = "CLIENTELE_BENCH_DYNAMO"

func TestMain(m *testing.M) {
	if n := os.Getenv(childEnv); n != "" {
		if err := serveDynamo(n); err != nil {
			fmt.Fprintln(os.Stderr, "bench dynamo:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveDynamo seeds a stack with n users of portal "bench", prints its
// DynamoDB endpoint and serves until stdin closes.
func serveDynamo(count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	name := "A Client User"
	users := make([]clientele.User, n)
	for i := range users {
		users[i] = clientele.User{ID: st.Store.NewID(), Email: fmt.Sprintf("user%06d@example.com", i), Name: &name, CompanyID: "c",
			ProfileID: "client", Status: clientele.Active, PortalAccess: true, InvitedAt: &now, AcceptedAt: &now, CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	if err := st.Store.SeedUsers(ctx, "bench", users); err != nil {
		return err
	}
	fmt.Println("DYNAMO=" + st.DynamoURL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// childDynamo starts the child and returns a store on its table.
func childDynamo(b *testing.B, n int) *dynamo.Store {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, n))
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
	url := ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "DYNAMO="); ok {
			url = u
			break
		}
	}
	if url == "" {
		b.Fatal("the child DynamoDB did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	c := clock.System{}
	return dynamo.New(awsclient.DynamoDB(cfg, url), stack.Table, c, ids.New(c, nil))
}

// BenchmarkExport exports a portal of 10,000 and 100,000 users to one CSV
// (DynamoDB pages of 1,000 users, about DynamoDB's 1 MB page, from minidyn
// in a child process; S3 multipart parts of 5 MiB, 2 in flight, to a sink)
// and reports the bytes allocated per export and, above the heap before it,
// the peak of the heap (garbage not yet collected included: it depends on
// GC pacing) and the peak of the heap each GC found live: the exporter's
// own memory.
//
//	go test ./shared/export -run '^$' -bench Export -benchmem -benchtime 1x -timeout 60m
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ctx := context.Background()
			store := childDynamo(b, n)
			now := time.Now().UTC()
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
			w := &export.Worker{Store: store, Uploader: export.NewUploader(s3c), Bucket: "b", Log: slog.New(slog.DiscardHandler), PageSize: 1000}

			var peak, peakLive atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				job := clientele.Export{ID: store.NewID(), PortalID: "bench", Scope: clientele.ScopePortal, Status: clientele.ExportPending,
					ObjectKey: "exports/bench.csv", CreatedAt: now, UpdatedAt: now}
				if err := store.CreateExport(ctx, job, nil); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				base, baseLive := heapBytes(), liveBytes()
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() { // sample the live heap every millisecond
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
				b.StartTimer()
				if err := w.Run(ctx, "bench", job.ID); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				close(stop)
				<-done
				got, err := store.GetExport(ctx, "bench", job.ID)
				if err != nil || got.Status != clientele.ExportReady || got.RowsWritten != n {
					b.Fatalf("job %+v %v", got, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(s.bytes.Load())/float64(b.N)/(1<<20), "file-MiB")
		})
	}
}
