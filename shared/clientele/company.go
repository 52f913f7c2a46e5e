package clientele

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Company types.
const (
	Business   = "business"
	Individual = "individual"
)

// Address is a postal address; every part is optional.
type Address struct {
	Street     *string `json:"street"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	PostalCode *string `json:"postalCode"`
	Country    *string `json:"country"`
}

// Company is a client company of a portal.
type Company struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Type            string    `json:"type"`
	ContactEmail    *string   `json:"contactEmail"`
	Website         *string   `json:"website"`
	Address         Address   `json:"address"`
	ProjectIDs      []string  `json:"projectIds"`
	CreateUserGroup bool      `json:"createUserGroup"`
	UserCount       int       `json:"userCount"`
	CRM             *CRMLink  `json:"crm,omitempty"` // owner/admin only
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	Version         int       `json:"version"`
}

// CompanyInput is the body that creates a company.
type CompanyInput struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	ContactEmail    *string  `json:"contactEmail"`
	Website         *string  `json:"website"`
	Address         *Address `json:"address"`
	ProjectIDs      []string `json:"projectIds"`
	CreateUserGroup bool     `json:"createUserGroup"`
}

// NewCompany validates in and returns the company it describes. Field names
// in errors are prefixed with prefix ("company." when nested).
func NewCompany(in CompanyInput, prefix string, id string, now time.Time) (Company, error) {
	var f Fields
	c := Company{ID: id, Type: Business, CreateUserGroup: in.CreateUserGroup,
		CreatedAt: now, UpdatedAt: now, Version: 1, ProjectIDs: []string{}}
	if n, err := CleanName(in.Name); err != nil {
		f.Add(prefix+"name", "%v", err)
	} else {
		c.Name = n
	}
	if in.Type != "" {
		c.Type = in.Type
		if _, err := cleanCompanyType(in.Type); err != nil {
			f.Add(prefix+"type", "%v", err)
		}
	}
	c.ContactEmail = cleanOptionalEmail(prefix+"contactEmail", in.ContactEmail, &f)
	c.Website = cleanOptionalURL(prefix+"website", in.Website, &f)
	if in.Address != nil {
		c.Address = cleanAddress(prefix+"address", *in.Address, &f)
	}
	c.ProjectIDs = cleanIDs(prefix+"projectIds", in.ProjectIDs, MaxIDsPerRequest, &f)
	return c, f.Err()
}

// CompanyPatch is the body of PATCH /v1/companies/{id}.
type CompanyPatch struct {
	Name         Optional[string]  `json:"name"`
	Type         Optional[string]  `json:"type"`
	ContactEmail Optional[string]  `json:"contactEmail"`
	Website      Optional[string]  `json:"website"`
	Address      Optional[Address] `json:"address"`
}

// Apply validates the patch and returns the patched company and what changed.
func (p CompanyPatch) Apply(cur Company) (Company, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	applyRequired("name", p.Name, cur.Name, &next.Name, ch, &f, CleanName)
	applyRequired("type", p.Type, cur.Type, &next.Type, ch, &f, cleanCompanyType)
	if p.ContactEmail.Set {
		next.ContactEmail = cleanOptionalEmail("contactEmail", p.ContactEmail.Ptr(), &f)
		ch.Record("contactEmail", cur.ContactEmail, next.ContactEmail)
	}
	if p.Website.Set {
		next.Website = cleanOptionalURL("website", p.Website.Ptr(), &f)
		ch.Record("website", cur.Website, next.Website)
	}
	if p.Address.Set {
		next.Address = Address{}
		if !p.Address.Null {
			next.Address = cleanAddress("address", p.Address.Value, &f)
		}
		ch.Record("address", cur.Address, next.Address)
	}
	if err := f.Err(); err != nil {
		return cur, nil, err
	}
	return next, ch, nil
}

// HasProject reports whether the company is on project id.
func (c Company) HasProject(id string) bool { return slices.Contains(c.ProjectIDs, id) }

func cleanCompanyType(t string) (string, error) {
	if t != Business && t != Individual {
		return "", fmt.Errorf("must be %q or %q", Business, Individual)
	}
	return t, nil
}

func cleanOptionalEmail(field string, s *string, f *Fields) *string {
	if s == nil {
		return nil
	}
	e, err := NormalizeEmail(*s)
	if err != nil {
		f.Add(field, "%v", err)
		return nil
	}
	return &e
}

func cleanOptionalURL(field string, s *string, f *Fields) *string {
	if s == nil {
		return nil
	}
	u, err := CleanURL(*s)
	if err != nil {
		f.Add(field, "%v", err)
		return nil
	}
	return &u
}

func cleanAddress(field string, a Address, f *Fields) Address {
	clean := func(name string, s *string, max int) *string {
		if s == nil {
			return nil
		}
		v := strings.TrimSpace(*s)
		switch {
		case v == "":
			return nil
		case utf8.RuneCountInString(v) > max:
			f.Add(fmt.Sprintf("%s.%s", field, name), "must be at most %d characters", max)
		case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' }):
			f.Add(fmt.Sprintf("%s.%s", field, name), "must not contain control characters")
		}
		return &v
	}
	return Address{
		Street:     clean("street", a.Street, MaxAddressField),
		City:       clean("city", a.City, MaxAddressField),
		State:      clean("state", a.State, MaxAddressField),
		PostalCode: clean("postalCode", a.PostalCode, MaxAddressField),
		Country:    clean("country", a.Country, 100),
	}
}
