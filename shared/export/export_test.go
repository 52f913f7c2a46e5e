package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=SUM(A1:A9)", "'=SUM(A1:A9)"},
		{"+1 555 0100", "'+1 555 0100"},
		{"-2+3", "'-2+3"},
		{"@cmd", "'@cmd"},
		{"\tTabbed", "'\tTabbed"},
		{"\rReturn", "'\rReturn"},
		{"Acme = Corp", "Acme = Corp"},
		{"", ""},
		{"Ünïcode", "Ünïcode"},
		{"'quoted", "'quoted"},
	}
	for _, tt := range tests {
		if got := Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCSVRoundTrip: RFC 4180 quoting (commas, quotes, line breaks), CRLF,
// UTF-8 and the header survive a standard reader.
func TestCSVRoundTrip(t *testing.T) {
	var b bytes.Buffer
	c, err := NewCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	row := Row{Email: "a@x.com", Name: "Lee, \"Ann\"\nsecond line", Company: "=cmd", Status: "active", Roles: "-admin; Ops", Project: "A; B"}
	if err := c.Write(row); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), strings.Join(Columns, ",")+"\r\n") {
		t.Fatalf("header: %q", b.String())
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
	if got := recs[1]; got[1] != row.Name || got[2] != "'=cmd" || got[5] != "'-admin; Ops" || got[7] != "A; B" {
		t.Errorf("row %q", got)
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Website relaunch", "Website relaunch"},
		{"a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"},
		{"  ..hidden.. ", "hidden"},
		{"tab\tand\nnewline", "tab and newline"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"", "project"},
		{"...", "project"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		if got := SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnique(t *testing.T) {
	u := Unique{}
	got := []string{u.Name("Site", ".csv"), u.Name("site", ".csv"), u.Name("SITE", ".csv"), u.Name("Site (2)", ".csv"), u.Name("App", ".csv")}
	want := []string{"Site.csv", "site (2).csv", "SITE (3).csv", "Site (2) (2).csv", "App.csv"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("names %q, want %q", got, want)
			break
		}
	}
}

type expiring struct{ at time.Time }

func (e expiring) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "tok", CanExpire: !e.at.IsZero(), Expires: e.at}, nil
}

// TestLinkExpiry: the link asks for the configured lifetime, but never
// outlives the credentials that sign it; it downloads as an attachment.
func TestLinkExpiry(t *testing.T) {
	tests := []struct {
		name     string
		ttl      time.Duration
		creds    time.Time
		wantSecs string
	}{
		{"default 15 minutes", 15 * time.Minute, time.Time{}, "900"},
		{"configured hour", time.Hour, time.Now().Add(6 * time.Hour), "3600"},
		{"capped by the credentials (minus a minute)", time.Hour, time.Now().Add(10*time.Minute + 30*time.Second), "570"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := expiring{tt.creds}
			c := s3.New(s3.Options{Region: "eu-west-1", Credentials: creds})
			l := &Links{Presign: s3.NewPresignClient(c), Creds: creds, Bucket: "b", TTL: tt.ttl}
			raw, exp, err := l.URL(context.Background(), "exports/abc.csv", "users.csv")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(raw)
			q := u.Query()
			if got := q.Get("X-Amz-Expires"); got != tt.wantSecs {
				if tt.name != "capped by the credentials (minus a minute)" || (got != "569" && got != "570") {
					t.Errorf("X-Amz-Expires %s, want %s", got, tt.wantSecs)
				}
			}
			signed, _ := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
			if d := exp.Sub(signed); d.Seconds() < 560 {
				t.Errorf("expiry %v after signing", d)
			}
			if q.Get("response-content-disposition") != `attachment; filename="users.csv"` || !strings.Contains(u.Path, "exports/abc.csv") {
				t.Errorf("url %s", raw)
			}
		})
	}
	l := &Links{Presign: s3.NewPresignClient(s3.New(s3.Options{Region: "eu-west-1"})), Creds: expiring{time.Now().Add(30 * time.Second)}, TTL: time.Hour}
	if _, _, err := l.URL(context.Background(), "k", "f"); err == nil {
		t.Error("credentials about to expire: want an error, not a dead link")
	}
}
