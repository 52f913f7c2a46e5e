package clientele

import (
	"fmt"
	"slices"
	"time"
)

// Billing methods of a project.
const (
	StaffHours = "staff_hours"
	Fixed      = "fixed"
	NoBilling  = "none"
)

// Project is a project of a portal, worked for one or more client companies.
// Invariant: PrimaryCompanyID is nil or one of CompanyIDs.
type Project struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Billing          string    `json:"billing"`
	PrimaryCompanyID *string   `json:"primaryCompanyId"`
	CompanyIDs       []string  `json:"companyIds"`
	Invoiceable      bool      `json:"invoiceable"`
	CRM              *CRMLink  `json:"crm,omitempty"` // owner/admin only
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	Version          int       `json:"version"`
}

// ProjectInput is the body that creates a project.
type ProjectInput struct {
	Name             string   `json:"name"`
	Billing          string   `json:"billing"`
	CompanyIDs       []string `json:"companyIds"`
	PrimaryCompanyID *string  `json:"primaryCompanyId"`
}

// NewProject validates in and returns the project it describes. The first
// company is primary unless PrimaryCompanyID names another of them.
func NewProject(in ProjectInput, id string, now time.Time) (Project, error) {
	var f Fields
	p := Project{ID: id, Billing: NoBilling, CreatedAt: now, UpdatedAt: now, Version: 1}
	if n, err := CleanName(in.Name); err != nil {
		f.Add("name", "%v", err)
	} else {
		p.Name = n
	}
	if in.Billing != "" {
		p.Billing = in.Billing
		if _, err := cleanBilling(in.Billing); err != nil {
			f.Add("billing", "%v", err)
		}
	}
	p.CompanyIDs = cleanIDs("companyIds", in.CompanyIDs, MaxIDsPerRequest, &f)
	switch {
	case in.PrimaryCompanyID != nil && !slices.Contains(p.CompanyIDs, *in.PrimaryCompanyID):
		f.Add("primaryCompanyId", "must be one of companyIds")
	case in.PrimaryCompanyID != nil:
		p.SetPrimary(in.PrimaryCompanyID)
	case len(p.CompanyIDs) > 0:
		p.SetPrimary(&p.CompanyIDs[0])
	}
	return p, f.Err()
}

// ProjectPatch is the body of PATCH /v1/projects/{id}.
type ProjectPatch struct {
	Name    Optional[string] `json:"name"`
	Billing Optional[string] `json:"billing"`
}

// Apply validates the patch and returns the patched project and what changed.
func (p ProjectPatch) Apply(cur Project) (Project, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	applyRequired("name", p.Name, cur.Name, &next.Name, ch, &f, CleanName)
	applyRequired("billing", p.Billing, cur.Billing, &next.Billing, ch, &f, cleanBilling)
	return next, ch, f.Err()
}

// SetPrimary makes id (nil for none) the primary client.
func (p *Project) SetPrimary(id *string) {
	if id == nil {
		p.PrimaryCompanyID = nil
	} else {
		v := *id
		p.PrimaryCompanyID = &v
	}
	p.Invoiceable = p.PrimaryCompanyID != nil
}

// IsPrimary reports whether company id is the primary client.
func (p Project) IsPrimary(id string) bool {
	return p.PrimaryCompanyID != nil && *p.PrimaryCompanyID == id
}

// HasCompany reports whether company id is on the project.
func (p Project) HasCompany(id string) bool { return slices.Contains(p.CompanyIDs, id) }

func cleanBilling(b string) (string, error) {
	switch b {
	case StaffHours, Fixed, NoBilling:
		return b, nil
	}
	return "", fmt.Errorf("must be %q, %q or %q", StaffHours, Fixed, NoBilling)
}
