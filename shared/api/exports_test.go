package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/export"
)

// waitExports waits until the stack's stream has delivered every job
// recorded so far (the worker ran), with a deadline.
func (e *env) waitExports() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.st.WaitStream(ctx); err != nil {
		e.t.Fatalf("export worker did not finish: %v", err)
	}
}

// requestExport POSTs an export and returns its id.
func (e *env) requestExport(body map[string]any) string {
	e.t.Helper()
	r := e.call("POST", "/v1/exports", e.owner, body)
	want(e.t, r, 202)
	if r.String("status") != "pending" || r.Header.Get("Location") != "/v1/exports/"+r.String("id") {
		e.t.Fatalf("POST /v1/exports: %s (Location %q)", r.Body, r.Header.Get("Location"))
	}
	return r.String("id")
}

// download GETs a ready export's link from the local S3.
func (e *env) download(id string) (body []byte, disposition string) {
	e.t.Helper()
	r := e.call("GET", "/v1/exports/"+id, e.owner, nil)
	want(e.t, r, 200)
	if r.String("status") != "ready" {
		e.t.Fatalf("export %s: %s", id, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("Cache-Control %q on a download link", r.Header.Get("Cache-Control"))
	}
	link := r.String("downloadUrl")
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("X-Amz-Expires") != "900" || u.Query().Get("X-Amz-Signature") == "" {
		e.t.Fatalf("downloadUrl %q: want a presigned GET valid 900 s", link)
	}
	exp, _ := time.Parse(time.RFC3339, r.String("downloadExpiresAt"))
	signed, _ := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if !exp.Equal(signed.Add(15 * time.Minute)) {
		e.t.Fatalf("downloadExpiresAt %v, signed at %v", exp, signed)
	}
	if strings.Contains(link, "@") {
		e.t.Fatalf("the link carries personal data: %s", link)
	}
	hr, err := http.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(hr.Body)
	if err != nil || hr.StatusCode != 200 {
		e.t.Fatalf("download: %d %v", hr.StatusCode, err)
	}
	return b, hr.Header.Get("Content-Disposition")
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Fatalf("not CRLF-terminated: %q", b)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, b)
	}
	if !slices.Equal(rows[0], export.Columns) {
		t.Fatalf("header %v", rows[0])
	}
	return rows[1:]
}

// exportsEnv has two companies, two projects and seven users, one of them
// on both projects; the worker reads 2 users per Query.
type exportsEnv struct {
	usersEnv
	evil, site, app string
}

func newExportsEnv(t *testing.T) exportsEnv {
	ue := newUsersEnv(t)
	ue.st.ExportWorker().PageSize = 2
	e := exportsEnv{usersEnv: ue, evil: ue.createCompany("=HYPERLINK(\"http://x\")")}
	e.site = e.createProject("Site / relaunch", map[string]any{"billing": "staff_hours", "companyIds": []string{e.company, e.evil}})
	e.app = e.createProject("site \\ relaunch", map[string]any{"companyIds": []string{e.company}})
	e.addUser("ann@example.com", map[string]any{"name": "Ann, \"the\" Lee", "projectIds": []string{e.site, e.app}, "ratePerHour": nil, "portalRate": 90})
	want(t, e.call("PATCH", "/v1/projects/"+e.site+"/users/"+e.userID("ann@example.com"), e.owner, map[string]any{"ratePerHour": 120.5, "costPerHour": 70.25}), 200)
	for _, n := range []string{"+bob", "-carl", "@dora", "\tedith", "\rfrank"} {
		e.addUser(strings.TrimLeft(n, "+-@\t\r")+"@example.com", map[string]any{"name": n, "companyId": e.evil, "projectIds": []string{e.site}})
	}
	e.addUser("grace@example.com", map[string]any{"name": "Grâce Ünïcode"})
	return e
}

func (e exportsEnv) userID(email string) string {
	r := e.call("GET", "/v1/users?q="+url.QueryEscape(email), e.owner, nil)
	return r.JSON()["items"].([]any)[0].(map[string]any)["id"].(string)
}

// TestExportPortal: one CSV, a row per client user (7 users, 4 Query
// pages), read back from the presigned link; formula-like cells neutralised.
func TestExportPortal(t *testing.T) {
	e := newExportsEnv(t)
	id := e.requestExport(map[string]any{"scope": "portal"})
	e.waitExports()
	body, disp := e.download(id)
	if !strings.HasPrefix(disp, `attachment; filename="client-users-2026-11-22.csv"`) {
		t.Errorf("Content-Disposition %q", disp)
	}
	rows := parseCSV(t, body)
	byEmail := map[string][]string{}
	for _, r := range rows {
		if _, dup := byEmail[r[0]]; dup {
			t.Errorf("%s appears twice", r[0])
		}
		byEmail[r[0]] = r
	}
	if len(rows) != 7 || len(byEmail) != 7 {
		t.Fatalf("%d rows, want 7 users once each:\n%s", len(rows), body)
	}
	ann := byEmail["ann@example.com"]
	if ann[1] != `Ann, "the" Lee` || ann[2] != "Client Co" || ann[3] != "invited" || ann[4] != "Client" || ann[5] != "" || ann[6] != "90" ||
		ann[7] != "Site / relaunch; site \\ relaunch" || ann[8] != "120.5; " || ann[9] != "70.25; " || ann[10] != "2026-11-22T09:00:00Z" || ann[11] != "" {
		t.Errorf("ann's row %q", ann)
	}
	// (The API trims names, so a leading tab or CR cannot be stored; the
	// cell writer's table test covers them.)
	for email, name := range map[string]string{"bob@example.com": "'+bob", "carl@example.com": "'-carl", "dora@example.com": "'@dora",
		"edith@example.com": "edith", "frank@example.com": "frank"} {
		if r := byEmail[email]; r[1] != name || r[2] != `'=HYPERLINK("http://x")` {
			t.Errorf("%s: name %q company %q, want %q and the company neutralised", email, r[1], r[2], name)
		}
	}
	if byEmail["grace@example.com"][1] != "Grâce Ünïcode" {
		t.Errorf("UTF-8 name %q", byEmail["grace@example.com"][1])
	}
	got := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON()
	if got["rowsWritten"] != float64(7) || got["scope"] != "portal" || got["completedAt"] == nil {
		t.Errorf("job %v", got)
	}
	// Each GET presigns anew; the list has the job, without a link.
	list := e.call("GET", "/v1/exports", e.owner, nil).JSON()["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["downloadUrl"] != nil || list[0].(map[string]any)["status"] != "ready" {
		t.Errorf("list %v", list)
	}
}

// TestExportByProject: a ZIP with one CSV per project named after it
// (unsafe characters replaced, a clash disambiguated), the user on both
// projects in both files with that project's rate; a subset; unknown ids.
func TestExportByProject(t *testing.T) {
	e := newExportsEnv(t)
	id := e.requestExport(map[string]any{"scope": "project"})
	e.waitExports()
	body, disp := e.download(id)
	if !strings.HasPrefix(disp, `attachment; filename="client-users-by-project-2026-11-22.zip"`) {
		t.Errorf("Content-Disposition %q", disp)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = parseCSV(t, b)
		names = append(names, f.Name)
	}
	sort.Strings(names)
	// Projects Hourly and Fixed of usersEnv have no users.
	if want := []string{"Fixed.csv", "Hourly.csv", "Site _ relaunch.csv", "site _ relaunch (2).csv"}; !slices.Equal(names, want) {
		t.Fatalf("files %q, want %q", names, want)
	}
	site, app := files["Site _ relaunch.csv"], files["site _ relaunch (2).csv"]
	if len(site) != 6 || len(app) != 1 || len(files["Hourly.csv"]) != 0 {
		t.Fatalf("site %d rows, app %d rows", len(site), len(app))
	}
	for _, r := range site {
		if r[7] != "Site / relaunch" {
			t.Errorf("site row %q", r)
		}
		if r[0] == "ann@example.com" && (r[8] != "120.5" || r[9] != "70.25") {
			t.Errorf("ann's rate and cost on site %q %q", r[8], r[9])
		}
	}
	if app[0][0] != "ann@example.com" || app[0][7] != "site \\ relaunch" || app[0][8] != "" || app[0][9] != "" {
		t.Errorf("app rows %q", app)
	}
	if got := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON()["rowsWritten"]; got != float64(7) {
		t.Errorf("rowsWritten %v, want 7 (6 + 1)", got)
	}

	// A subset: only that project's file.
	sub := e.requestExport(map[string]any{"scope": "project", "projectIds": []string{e.app}})
	e.waitExports()
	body, _ = e.download(sub)
	zr, _ = zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if len(zr.File) != 1 || zr.File[0].Name != "site _ relaunch.csv" {
		t.Errorf("subset files %v", zr.File)
	}

	// Unknown, malformed, duplicate or misplaced ids: 400 naming them, nothing recorded.
	for name, body := range map[string]map[string]any{
		"unknown":       {"scope": "project", "projectIds": []string{e.app, "01JD0Q8F3G5H7K9M1N3P5R7T9V"}},
		"malformed":     {"scope": "project", "projectIds": []string{"nope"}},
		"duplicate":     {"scope": "project", "projectIds": []string{e.app, e.app}},
		"portal scope":  {"scope": "portal", "projectIds": []string{e.app}},
		"no scope":      {},
		"bad scope":     {"scope": "company"},
		"unknown field": {"scope": "portal", "format": "xlsx"},
	} {
		r := e.call("POST", "/v1/exports", e.owner, body)
		want(t, r, 400)
		if name == "unknown" && !strings.Contains(string(r.Body), `"projectIds[1]"`) {
			t.Errorf("unknown id not named: %s", r.Body)
		}
	}
	if n := len(e.call("GET", "/v1/exports", e.owner, nil).JSON()["items"].([]any)); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}

// TestExportAccess: owners and admins only; other portals see nothing.
func TestExportAccess(t *testing.T) {
	e := newUsersEnv(t)
	e.st.HoldStream(true)
	id := e.requestExport(map[string]any{"scope": "portal"})
	admin := e.st.Token("demo", "admin", "admin-1")
	want(t, e.call("GET", "/v1/exports/"+id, admin, nil), 200)
	member := e.st.Token("demo", "member", "member-1")
	for _, r := range []resp{
		e.call("POST", "/v1/exports", member, map[string]any{"scope": "portal"}),
		e.call("GET", "/v1/exports", member, nil),
		e.call("GET", "/v1/exports/"+id, member, nil),
		e.call("POST", "/v1/imports", member, "email,name,company,projects,ratePerHour,profile\n", "Content-Type", "text/csv"),
	} {
		want(t, r, 403)
	}
	// A client session is not a staff token: API Gateway's authorizer refuses it.
	uid := e.addUser("client@example.com")
	_ = uid
	acc := e.call("POST", "/v1/invites/"+url.PathEscape(inviteTokenOf(e.env, "client@example.com"))+"/accept", "", map[string]any{"password": "long enough pw"})
	want(t, acc, 200)
	want(t, e.call("GET", "/v1/exports/"+id, acc.String("token"), nil), 401)
	want(t, e.call("POST", "/v1/exports", "", map[string]any{"scope": "portal"}), 401)
	// Another portal: the job does not exist there.
	other := e.st.Token("other", "owner", "owner-2")
	want(t, e.call("GET", "/v1/exports/"+id, other, nil), 404)
	if items := e.call("GET", "/v1/exports", other, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Errorf("other portal lists %v", items)
	}
	want(t, e.call("GET", "/v1/exports/not-an-id", e.owner, nil), 404)
	// Pending while the stream holds it; a job never finished reads as failed after an hour.
	if got := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON(); got["status"] != "pending" || got["downloadUrl"] != nil {
		t.Errorf("held job %v", got)
	}
	e.clock.Advance(61 * time.Minute)
	e.owner = e.st.Token("demo", "owner", "owner-1")
	if got := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON(); got["status"] != "failed" || got["error"] == nil || got["downloadUrl"] != nil {
		t.Errorf("overdue job %v", got)
	}
}

// jobEvent is the stream record of job id's INSERT.
func (e *env) jobEvent(id string) events.DynamoDBEvent {
	return e.st.ExportJobEvent(map[string]events.DynamoDBAttributeValue{
		"PK": events.NewStringAttribute("P#demo#EXPORT#" + id), "SK": events.NewStringAttribute("EXPORT"),
		"type": events.NewStringAttribute("export_job"), "portalId": events.NewStringAttribute("demo"), "id": events.NewStringAttribute(id)})
}

func (e *env) objectExists(id string) bool {
	e.t.Helper()
	job, err := e.st.Store.GetExport(context.Background(), "demo", id)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.st.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("clientele-exports-local"), Key: aws.String(job.ObjectKey)})
	return err == nil
}

// TestExportWorkerIdempotent: delivered twice, the worker writes one file
// and the second delivery does nothing; a delivery that fails midway
// (DynamoDB down on the second page, or S3 refusing the upload) leaves no
// object and no ready status, and the redelivery completes the whole file;
// the last attempt's failure marks the job failed, with no link.
func TestExportWorkerIdempotent(t *testing.T) {
	e := newExportsEnv(t)
	e.st.HoldStream(true) // deliveries by hand
	ctx := context.Background()

	id := e.requestExport(map[string]any{"scope": "portal"})
	if err := e.st.InvokeExportWorker(ctx, e.jobEvent(id)); err != nil {
		t.Fatal(err)
	}
	first, _ := e.download(id)
	s3Before, dynBefore := e.st.S3Calls(), e.st.DynamoCalls()
	if err := e.st.InvokeExportWorker(ctx, e.jobEvent(id)); err != nil {
		t.Fatal(err)
	}
	if s3 := e.st.S3Calls() - s3Before; s3 != 0 {
		t.Errorf("second delivery made %d S3 requests", s3)
	}
	if n := e.st.DynamoCalls() - dynBefore; n != 1 {
		t.Errorf("second delivery made %d DynamoDB requests, want 1 (the refused claim)", n)
	}
	again, _ := e.download(id)
	if !bytes.Equal(first, again) {
		t.Error("the file changed")
	}

	t.Run("DynamoDB fails on the second page", func(t *testing.T) {
		id := e.requestExport(map[string]any{"scope": "portal"})
		var queries atomic.Int64
		e.st.FailDynamo(func(op string) bool { return op == "Query" && queries.Add(1) >= 4 }) // from page 2 on (companies, projects, page 1 succeed)
		err := e.st.InvokeExportWorker(ctx, e.jobEvent(id))
		e.st.FailDynamo(nil)
		if err == nil {
			t.Fatal("a failed delivery must return its error (the stream delivers again)")
		}
		job := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON()
		if job["status"] != "running" || job["downloadUrl"] != nil || e.objectExists(id) {
			t.Fatalf("after the crash: %v, object exists %v", job, e.objectExists(id))
		}
		if err := e.st.InvokeExportWorker(ctx, e.jobEvent(id)); err != nil {
			t.Fatal(err)
		}
		body, _ := e.download(id)
		if rows := parseCSV(t, body); len(rows) != 7 {
			t.Errorf("%d rows after the redelivery, want 7", len(rows))
		}
	})

	t.Run("S3 refuses the upload", func(t *testing.T) {
		id := e.requestExport(map[string]any{"scope": "portal"})
		e.st.FailS3(func(r *http.Request) bool { return r.Method == http.MethodPut })
		err := e.st.InvokeExportWorker(ctx, e.jobEvent(id))
		e.st.FailS3(nil)
		if err == nil || e.objectExists(id) {
			t.Fatalf("err %v, object exists %v", err, e.objectExists(id))
		}
		if err := e.st.InvokeExportWorker(ctx, e.jobEvent(id)); err != nil {
			t.Fatal(err)
		}
		body, _ := e.download(id)
		if rows := parseCSV(t, body); len(rows) != 7 {
			t.Errorf("%d rows, want 7", len(rows))
		}
	})

	t.Run("every attempt fails", func(t *testing.T) {
		id := e.requestExport(map[string]any{"scope": "portal"})
		e.st.FailS3(func(*http.Request) bool { return true })
		var errs int
		for range export.MaxAttempts + 1 {
			if e.st.InvokeExportWorker(ctx, e.jobEvent(id)) != nil {
				errs++
			}
		}
		e.st.FailS3(nil)
		if errs != export.MaxAttempts-1 {
			t.Errorf("%d deliveries returned an error, want %d (the last attempt records the failure)", errs, export.MaxAttempts-1)
		}
		job := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON()
		if job["status"] != "failed" || !strings.Contains(job["error"].(string), "request a new one") || job["downloadUrl"] != nil || e.objectExists(id) {
			t.Errorf("job %v", job)
		}
	})
	e.st.HoldStream(false)
}

// TestExportS3FaultAtEachStep: with parts small enough for a 7-user file to
// span several (S3 allows any size in a test's emulator), S3 goes down from
// each request of the upload on in turn (create, each part, complete): the
// delivery fails, no object appears and the job is not ready; once S3 is
// back the redelivery writes the whole file, the same as a healthy run's.
func TestExportS3FaultAtEachStep(t *testing.T) {
	e := newExportsEnv(t)
	e.st.HoldStream(true)
	ctx := context.Background()
	w := &export.Worker{Store: e.st.Store, Bucket: stack.Bucket, Log: slog.New(slog.DiscardHandler),
		Uploader: transfermanager.New(e.st.S3, func(o *transfermanager.Options) {
			o.PartSizeBytes, o.Concurrency, o.MultipartUploadThreshold = 256, 2, 256
		})}
	id := e.requestExport(map[string]any{"scope": "portal"})
	before := e.st.S3Calls()
	if err := w.Run(ctx, "demo", id); err != nil {
		t.Fatal(err)
	}
	steps := int(e.st.S3Calls() - before)
	healthy, _ := e.download(id)
	if steps < 4 {
		t.Fatalf("a healthy upload made %d S3 requests; want a multipart upload of several parts", steps)
	}
	t.Logf("a healthy upload: %d S3 requests, %d bytes", steps, len(healthy))
	strip := func(b []byte) string { // the rows, in any order
		var out []string
		for _, r := range parseCSV(t, b) {
			out = append(out, strings.Join(r, "|"))
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	for k := 1; k <= steps; k++ {
		id := e.requestExport(map[string]any{"scope": "portal"})
		var seen atomic.Int64
		e.st.FailS3(func(*http.Request) bool { return seen.Add(1) >= int64(k) })
		err := w.Run(ctx, "demo", id)
		e.st.FailS3(nil)
		job := e.call("GET", "/v1/exports/"+id, e.owner, nil).JSON()
		if err == nil || job["status"] == "ready" || job["downloadUrl"] != nil || e.objectExists(id) {
			t.Fatalf("S3 down from request %d/%d: err %v, job %v, object exists %v", k, steps, err, job, e.objectExists(id))
		}
		if err := w.Run(ctx, "demo", id); err != nil {
			t.Fatalf("step %d/%d: redelivery: %v", k, steps, err)
		}
		body, _ := e.download(id)
		if got, want := strip(body), strip(healthy); got != want {
			t.Fatalf("step %d/%d: after the redelivery\n%s\nwant\n%s", k, steps, got, want)
		}
	}
	e.st.HoldStream(false)
}
