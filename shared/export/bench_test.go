package export_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/export"
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

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkExport exports a portal of 10,000 and 100,000 users to one CSV
// (DynamoDB pages of 1,000 users, about DynamoDB's 1 MB page, from minidyn, S3 multipart parts of 5 MiB, 2 in
// flight) and reports the bytes allocated per export and the peak of live
// heap during it, above the heap before it (minidyn's table excluded).
//
//	go test ./shared/export -run '^$' -bench Export -benchmem -benchtime 3x
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := stack.Start(ctx, stack.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Now().UTC()
			users := make([]clientele.User, n)
			name := "A Client User"
			for i := range users {
				users[i] = clientele.User{ID: st.Store.NewID(), Email: fmt.Sprintf("user%06d@example.com", i), Name: &name, CompanyID: "c",
					ProfileID: "client", Status: clientele.Active, PortalAccess: true, InvitedAt: &now, AcceptedAt: &now, CreatedAt: now, UpdatedAt: now, Version: 1}
			}
			if err := st.Store.SeedUsers(ctx, "bench", users); err != nil {
				b.Fatal(err)
			}
			users = nil
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
			w := &export.Worker{Store: st.Store, Uploader: export.NewUploader(s3c), Bucket: "b", Log: slog.New(slog.DiscardHandler), PageSize: 1000}

			var peak atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				job := clientele.Export{ID: st.Store.NewID(), PortalID: "bench", Scope: clientele.ScopePortal, Status: clientele.ExportPending,
					ObjectKey: "exports/bench.csv", CreatedAt: now, UpdatedAt: now}
				if err := st.Store.CreateExport(ctx, job, nil); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				base := heapBytes()
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
				got, err := st.Store.GetExport(ctx, "bench", job.ID)
				if err != nil || got.Status != clientele.ExportReady || got.RowsWritten != n {
					b.Fatalf("job %+v %v", got, err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(s.bytes.Load())/float64(b.N)/(1<<20), "file-MiB")
		})
	}
}
