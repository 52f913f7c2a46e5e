package api

import (
	"errors"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// FuzzRequestBodies feeds every request body type its decoder and its
// validation: whatever the bytes, the answer is a 4xx problem (or
// success), never a panic or a 5xx.
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"name":"Acme","type":"business","contactEmail":"a@b.co","website":"https://a.b","address":{"city":"X"},"projectIds":["01JD0Q9A2B4C6D8E0F2G4H6J8K"]}`,
		`{"name":null,"clientSeatLimit":-1,"inviteLinkTtlHours":0,"appBaseUrl":"ftp://x","invitationTemplateId":"x"}`,
		`{"emails":"a@b.co, c@d.co","companyId":"01JD0Q9A2B4C6D8E0F2G4H6J8K","projectIds":[],"ratePerHour":1e309}`,
		`{"dateFormat":"DD/MM/YYYY","dateSeparator":".","timeFormat":"24h","name":"\u0000"}`,
		`{"name":"T","subject":"{{.PortalName}}","body":"{{ .InviteURL }}{{"}`,
		`{"portalId":"demo","email":"A@B.co","password":"pw"}`,
		`{"name":"Editor","permissions":{"tasks":["view","edit"],"wiki":["x"],"issues":null}}`,
		`{"name":null,"permissions":{"tasks":["view","approve"]}}`,
		`{"targetUserIds":["01JD0Q9A2B4C6D8E0F2G4H6J8K","01JD0Q9A2B4C6D8E0F2G4H6J8K"]}`,
		`[]`, `{"a":1}{"b":2}`, `{"name":"x","name":"y"}`, ``, `null`, `"str"`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	cur := clientele.User{ID: "01JD0QD5E7F9G1H3J5K7M9N1PQ", Email: "ann@acme.example", CompanyID: "01JD0Q8F3G5H7K9M1N3P5R7T9V",
		ProfileID: clientele.BuiltInProfile, Status: clientele.Invited, PortalAccess: true, Projects: []clientele.UserProject{}, Version: 1}
	validate := []func(body []byte) error{
		func(b []byte) error {
			var in clientele.CompanyInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, err := clientele.NewCompany(in, "", cur.CompanyID, now); return err })
		},
		func(b []byte) error {
			var p clientele.CompanyPatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error { _, _, err := p.Apply(clientele.Company{Name: "A", Type: "business"}); return err })
		},
		func(b []byte) error {
			var in clientele.ProjectInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, err := clientele.NewProject(in, cur.ID, now); return err })
		},
		func(b []byte) error {
			var p clientele.ProjectPatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error { _, _, err := p.Apply(clientele.Project{Name: "P", Billing: "fixed"}); return err })
		},
		func(b []byte) error {
			var p clientele.PortalPatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error { _, _, err := p.Apply(clientele.DefaultPortal("demo")); return err })
		},
		func(b []byte) error {
			var in clientele.UsersInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, err := in.Validate(); return err })
		},
		func(b []byte) error {
			var p clientele.UserPatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error { _, _, err := p.Apply(cur, nil); return err })
		},
		func(b []byte) error {
			var p clientele.MePatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error { _, _, err := p.Apply(cur); return err })
		},
		func(b []byte) error {
			var in clientele.TemplateInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, err := clientele.NewTemplate(in, "t", cur.CreatedAt); return err })
		},
		func(b []byte) error {
			var in clientele.ProfileInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error {
				var fs clientele.Fields
				if in.Name != nil {
					if _, err := clientele.CleanName(*in.Name); err != nil {
						fs.Add("name", "%v", err)
					}
				}
				in.Permissions.Check("permissions", &fs)
				return fs.Err()
			})
		},
		func(b []byte) error {
			var p clientele.ProfilePatch
			return orValidate(httpapi.DecodeJSON(b, &p), func() error {
				var fs clientele.Fields
				p.Permissions.Value.Check("permissions", &fs)
				return fs.Err()
			})
		},
		func(b []byte) error {
			var in struct {
				TargetUserIDs []string `json:"targetUserIds"`
			}
			return httpapi.DecodeJSON(b, &in)
		},
		func(b []byte) error {
			var in loginInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, err := in.check(); return err })
		},
		func(b []byte) error {
			var in resetInput
			return orValidate(httpapi.DecodeJSON(b, &in), func() error { _, _, err := in.check(true); return err })
		},
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		err := validate[int(which)%len(validate)](body)
		if err == nil {
			return
		}
		var e *clientele.Error
		if !errors.As(err, &e) {
			t.Fatalf("an error that is not a domain error: %v", err)
		}
		if status := httpapi.Status(err); status < 400 || status >= 500 {
			t.Fatalf("status %d for %v", status, err)
		}
	})
}

// orValidate runs validate when decoding succeeded.
func orValidate(decodeErr error, validate func() error) error {
	if decodeErr != nil {
		return decodeErr
	}
	return validate()
}
