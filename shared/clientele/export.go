package clientele

import (
	"fmt"
	"time"
)

// Export scopes and statuses.
const (
	ScopePortal  = "portal"
	ScopeProject = "project"

	ExportPending = "pending"
	ExportRunning = "running"
	ExportReady   = "ready"
	ExportFailed  = "failed"
)

// Limits of exports.
const (
	// MaxExportProjects bounds the projectIds of one project export.
	MaxExportProjects = 100
	// ExportDeadline is how long a job may stay pending or running: past
	// it, it reads as failed (its worker gave up or was never delivered).
	ExportDeadline = time.Hour
	// ExportRetention is how long a job and its file are kept (the bucket's
	// lifecycle rule expires the files after as long).
	ExportRetention = 7 * 24 * time.Hour
)

// Export is an export job: a file of the portal's client users that the
// export worker writes to S3.
type Export struct {
	ID          string     `json:"id"`
	Scope       string     `json:"scope"`
	ProjectIDs  []string   `json:"projectIds,omitempty"`
	Status      string     `json:"status"`
	RowsWritten int        `json:"rowsWritten"`
	Error       *string    `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`

	DownloadURL       *string    `json:"downloadUrl,omitempty"`
	DownloadExpiresAt *time.Time `json:"downloadExpiresAt,omitempty"`

	PortalID  string `json:"-"`
	Attempt   int    `json:"-"` // deliveries that claimed the job
	ObjectKey string `json:"-"` // fixed per job: random, no personal data
	FileName  string `json:"-"` // what the download is called
}

// AsOf is the job as a reader should see it at now: a job still pending
// or running past its deadline has failed (its worker gave up).
func (e Export) AsOf(now time.Time) Export {
	if (e.Status == ExportPending || e.Status == ExportRunning) && now.Sub(e.CreatedAt) > ExportDeadline {
		msg := "the export did not complete in time; request a new one"
		e.Status, e.Error = ExportFailed, &msg
	}
	return e
}

// ExportInput is the body of POST /v1/exports.
type ExportInput struct {
	Scope      string   `json:"scope"`
	ProjectIDs []string `json:"projectIds"`
}

// Validate checks the request.
func (in ExportInput) Validate() error {
	var f Fields
	switch in.Scope {
	case ScopePortal:
		if in.ProjectIDs != nil {
			f.Add("projectIds", "applies only to scope project")
		}
	case ScopeProject:
		if len(in.ProjectIDs) > MaxExportProjects {
			f.Add("projectIds", "at most %d projects", MaxExportProjects)
		}
		seen := map[string]bool{}
		for i, id := range in.ProjectIDs {
			if !ValidID(id) {
				f.Add(fmt.Sprintf("projectIds[%d]", i), "is not a valid id")
			} else if seen[id] {
				f.Add(fmt.Sprintf("projectIds[%d]", i), "is given twice")
			}
			seen[id] = true
		}
	default:
		f.Add("scope", "must be portal or project")
	}
	return f.Err()
}
