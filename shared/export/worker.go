package export

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// Upload tuning. A streaming upload holds (Concurrency+1) x PartSize in
// memory: 15 MiB, whatever the size of the export. 5 MiB is S3's smallest
// part; 10,000 parts of it allow files of up to 48 GiB.
const (
	PartSize    = 5 << 20
	Concurrency = 2
	// MaxAttempts is how many deliveries may claim a job before it fails.
	MaxAttempts = 3
)

// DefaultPageSize is how many users one DynamoDB Query reads.
const DefaultPageSize = 500

// Store is what the worker reads and records; *dynamo.Store implements it.
type Store interface {
	ClaimExport(ctx context.Context, pid, id string, maxAttempts int) (clientele.Export, bool, error)
	ExportProgress(ctx context.Context, pid, id string, attempt, rows int) error
	FinishExport(ctx context.Context, pid, id string, attempt, rows int) error
	FailExport(ctx context.Context, pid, id string, attempt int, reason string) error
	ListUsers(ctx context.Context, pid string, scope dynamo.UserScope, status, prefix string, limit int, start map[string]string) (dynamo.Page[clientele.User], error)
	ListCompanies(ctx context.Context, pid, prefix string, limit int, start map[string]string) (dynamo.Page[clientele.Company], error)
	ListProjects(ctx context.Context, pid string, limit int, start map[string]string) (dynamo.Page[clientele.Project], error)
	ListProfiles(ctx context.Context, pid string, limit int, start map[string]string) (dynamo.Page[clientele.Profile], error)
	ListRoles(ctx context.Context, pid string, limit int, start map[string]string) (dynamo.Page[clientele.Role], error)
}

var _ Store = (*dynamo.Store)(nil)

// Uploader streams a body to S3; *transfermanager.Client implements it.
type Uploader interface {
	UploadObject(ctx context.Context, in *transfermanager.UploadObjectInput, opts ...func(*transfermanager.Options)) (*transfermanager.UploadObjectOutput, error)
}

var _ Uploader = (*transfermanager.Client)(nil)

// NewUploader is the uploader of the worker over an S3 client, with the
// part size and concurrency set explicitly (transfermanager's default of
// 128 concurrent parts would hold 1 GiB).
func NewUploader(s3c transfermanager.S3APIClient) *transfermanager.Client {
	return transfermanager.New(s3c, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.Concurrency, o.MultipartUploadThreshold = PartSize, Concurrency, PartSize
		// Abort the multipart upload on a fresh context even when the
		// invocation's has run out.
		o.FailTimeout = 10 * time.Second
	})
}

// Worker runs export jobs.
type Worker struct {
	Store    Store
	Uploader Uploader
	Bucket   string
	Log      *slog.Logger
	PageSize int // users per Query; DefaultPageSize when 0 (tests cross pages with a few)
}

// Run performs one delivery of job id. It claims the job (pending or
// running becomes running under a new attempt), streams the file to its
// fixed key, and marks the job ready only once the upload has completed, so
// a ready job always has its whole file: S3 shows an object only when its
// multipart upload completes, and a failed upload is aborted. A job that is
// already ready or failed is left alone. On a failure Run returns the error
// (the trigger delivers again, and the next attempt starts from scratch)
// until the last attempt, which marks the job failed.
func (w *Worker) Run(ctx context.Context, pid, id string) error {
	job, claimed, err := w.Store.ClaimExport(ctx, pid, id, MaxAttempts)
	switch {
	case clientele.ErrorCode(err) == clientele.NotFound:
		w.Log.WarnContext(ctx, "export: no such job", "portal", pid, "export", id)
		return nil
	case err != nil:
		return fmt.Errorf("claim export %s: %w", id, err)
	case !claimed && job.Status == clientele.ExportRunning:
		// Out of attempts: an earlier delivery ended without a verdict.
		return w.fail(ctx, job, "the export could not be completed; request a new one")
	case !claimed:
		w.Log.InfoContext(ctx, "export: nothing to do", "portal", pid, "export", id, "status", job.Status)
		return nil
	}
	start := time.Now()
	rows, err := w.upload(ctx, job)
	if err == nil {
		if err = w.Store.FinishExport(ctx, pid, id, job.Attempt, rows); err == nil {
			w.Log.InfoContext(ctx, "export: ready", "portal", pid, "export", id, "rows", rows, "attempt", job.Attempt, "ms", time.Since(start).Milliseconds())
			return nil
		}
	}
	if clientele.ErrorCode(err) == clientele.Conflict {
		return nil // a later delivery took the job over
	}
	w.Log.WarnContext(ctx, "export: attempt failed", "portal", pid, "export", id, "attempt", job.Attempt, "error", err)
	if job.Attempt >= MaxAttempts {
		return w.fail(ctx, job, "the export could not be completed (a dependency was unavailable); request a new one")
	}
	return fmt.Errorf("export %s attempt %d: %w", id, job.Attempt, err)
}

func (w *Worker) fail(ctx context.Context, job clientele.Export, reason string) error {
	err := w.Store.FailExport(ctx, job.PortalID, job.ID, job.Attempt, reason)
	if err != nil && clientele.ErrorCode(err) != clientele.Conflict {
		return fmt.Errorf("record export %s failed: %w", job.ID, err)
	}
	return nil
}

// upload streams the job's file through a pipe into the multipart upload:
// the writer goroutine pages DynamoDB into CSV (and ZIP); the uploader
// reads parts off the pipe. Either side's failure stops the other.
func (w *Worker) upload(ctx context.Context, job clientele.Export) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	rows := 0
	done := make(chan error, 1)
	go func() {
		err := w.write(ctx, job, pw, &rows)
		_ = pw.CloseWithError(err)
		done <- err
	}()
	contentType := "text/csv; charset=utf-8"
	if job.Scope == clientele.ScopeProject {
		contentType = "application/zip"
	}
	_, upErr := w.Uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(w.Bucket),
		Key: aws.String(job.ObjectKey), Body: pr, ContentType: aws.String(contentType)})
	_ = pr.CloseWithError(errUploadStopped)
	writeErr := <-done
	switch {
	case writeErr != nil && !errors.Is(writeErr, errUploadStopped):
		return rows, writeErr
	case upErr != nil:
		return rows, fmt.Errorf("upload: %w", upErr)
	}
	return rows, nil
}

var errUploadStopped = errors.New("the upload stopped")

// write writes the job's file to out: one CSV of the portal's users, or a
// ZIP of one CSV per project. After each page it records the progress.
func (w *Worker) write(ctx context.Context, job clientele.Export, out io.Writer, rows *int) error {
	names, projects, err := w.names(ctx, job.PortalID)
	if err != nil {
		return err
	}
	size := w.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	page := func(c *CSV, scope dynamo.UserScope, project string) error {
		return dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.User], error) {
			return w.Store.ListUsers(ctx, job.PortalID, scope, "", "", size, start)
		}, func(users []clientele.User) error {
			for _, u := range users {
				if err := c.Write(UserRow(u, names, project)); err != nil {
					return err
				}
			}
			if err := c.Flush(); err != nil {
				return err
			}
			*rows += len(users)
			return w.Store.ExportProgress(ctx, job.PortalID, job.ID, job.Attempt, *rows)
		})
	}
	if job.Scope == clientele.ScopePortal {
		c, err := NewCSV(out)
		if err != nil {
			return err
		}
		return page(c, dynamo.UserScope{}, "")
	}
	ids := job.ProjectIDs
	if len(ids) == 0 {
		ids = projects
	}
	zw := zip.NewWriter(out)
	files := Unique{}
	for _, id := range ids {
		name, ok := names.Projects[id]
		if !ok {
			continue // deleted since the request
		}
		f, err := zw.Create(files.Name(SafeName(name), ".csv"))
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		c, err := NewCSV(f)
		if err != nil {
			return err
		}
		if err := page(c, dynamo.UserScope{ProjectID: id}, id); err != nil {
			return err
		}
	}
	return zw.Close()
}

// names reads the portal's company and project names (bounded by the
// number of companies and projects, not of users) and the project ids in
// list order.
func (w *Worker) names(ctx context.Context, pid string) (Names, []string, error) {
	b := clientele.BuiltInClientProfile()
	n := Names{Companies: map[string]string{}, Projects: map[string]string{}, Profiles: map[string]string{b.ID: b.Name}, Roles: map[string]string{}}
	var order []string
	err := dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Profile], error) {
		return w.Store.ListProfiles(ctx, pid, 200, start)
	}, func(ps []clientele.Profile) error {
		for _, p := range ps {
			n.Profiles[p.ID] = p.Name
		}
		return nil
	})
	if err == nil {
		err = dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Role], error) {
			return w.Store.ListRoles(ctx, pid, 200, start)
		}, func(rs []clientele.Role) error {
			for _, r := range rs {
				n.Roles[r.ID] = r.Name
			}
			return nil
		})
	}
	if err == nil {
		err = dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Company], error) {
			return w.Store.ListCompanies(ctx, pid, "", 200, start)
		}, func(cs []clientele.Company) error {
			for _, c := range cs {
				n.Companies[c.ID] = c.Name
			}
			return nil
		})
	}
	if err == nil {
		err = dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Project], error) {
			return w.Store.ListProjects(ctx, pid, 200, start)
		}, func(ps []clientele.Project) error {
			for _, p := range ps {
				n.Projects[p.ID] = p.Name
				order = append(order, p.ID)
			}
			return nil
		})
	}
	return n, order, err
}
