// Package export writes exports of a portal's client users: CSV rows with
// formula-like cells neutralised, ZIP archives of one CSV per project, and
// the worker that streams them from DynamoDB pages to an S3 multipart
// upload, never holding a whole file in memory.
package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clientele/clientele/shared/clientele"
)

// Columns is the header of every export CSV.
var Columns = []string{"email", "name", "company", "status", "profile", "roles", "portalRate", "project", "ratePerHour", "costPerHour", "invitedAt", "acceptedAt"}

// Cell neutralises a value that a spreadsheet would run as a formula: one
// that starts with = + - @, a tab or a carriage return gets a leading
// apostrophe (OWASP's CSV injection advice), which spreadsheets show as
// text and do not evaluate. Anything else is written as it is.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// CSV writes export rows as RFC 4180 CSV (CRLF line ends, quotes where
// needed) in UTF-8, header first.
type CSV struct {
	w   *csv.Writer
	rec []string
}

// NewCSV writes the header to w and returns the row writer.
func NewCSV(w io.Writer) (*CSV, error) {
	c := &CSV{w: csv.NewWriter(w), rec: make([]string, len(Columns))}
	c.w.UseCRLF = true
	if err := c.w.Write(Columns); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	return c, nil
}

// Write writes one row; every cell is neutralised.
func (c *CSV) Write(r Row) error {
	for i, v := range []string{r.Email, r.Name, r.Company, r.Status, r.Profile, r.Roles, r.PortalRate, r.Project, r.RatePerHour, r.CostPerHour, r.InvitedAt, r.AcceptedAt} {
		c.rec[i] = Cell(v)
	}
	return c.w.Write(c.rec)
}

// Flush writes buffered rows through and reports any write error.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// Row is one line of an export.
type Row struct {
	Email, Name, Company, Status, Profile, Roles, PortalRate, Project, RatePerHour, CostPerHour, InvitedAt, AcceptedAt string
}

// Names resolves ids to names for the rows.
type Names struct {
	Companies map[string]string
	Projects  map[string]string
	Profiles  map[string]string // the profile column names the profile
	Roles     map[string]string // the roles column names the roles
}

// UserRow is the row of u. With project empty (the portal's file) the
// project, ratePerHour and costPerHour columns list all of the user's projects, joined
// by "; " in the same order; otherwise they hold that one project.
func UserRow(u clientele.User, n Names, project string) Row {
	r := Row{Email: u.Email, Company: n.Companies[u.CompanyID], Status: u.Status, Profile: profileName(n, u.ProfileID),
		PortalRate: num(u.PortalRate), InvitedAt: when(u.InvitedAt), AcceptedAt: when(u.AcceptedAt)}
	if u.Name != nil {
		r.Name = *u.Name
	}
	roles := make([]string, 0, len(u.RoleIDs))
	for _, id := range u.RoleIDs {
		roles = append(roles, n.Roles[id])
	}
	slices.Sort(roles)
	r.Roles = strings.Join(roles, "; ")
	var names, rates, costs []string
	for _, p := range u.Projects {
		if project != "" && p.ProjectID != project {
			continue
		}
		names = append(names, n.Projects[p.ProjectID])
		rates = append(rates, num(p.RatePerHour))
		costs = append(costs, num(p.CostPerHour))
	}
	r.Project, r.RatePerHour, r.CostPerHour = strings.Join(names, "; "), strings.Join(rates, "; "), strings.Join(costs, "; ")
	return r
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// profileName is the profile's name, or its id when the names are unknown.
func profileName(n Names, id string) string {
	if name, ok := n.Profiles[id]; ok {
		return name
	}
	return id
}
