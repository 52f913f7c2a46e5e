package clientele

import "github.com/clientele/clientele/shared/jsonx"

// Hand-written JSON for the bodies on the busiest paths (companies and
// users in, companies and users out): the same bytes and the same decoding
// as encoding/json, which codec_test.go proves against it over random
// values and fuzzed bodies, without its reflection. Other types use
// encoding/json.

// AppendJSON appends a as JSON.
func (a Address) AppendJSON(b []byte) []byte {
	b = append(b, `{"street":`...)
	b = jsonx.AppendStringPtr(b, a.Street)
	b = append(b, `,"city":`...)
	b = jsonx.AppendStringPtr(b, a.City)
	b = append(b, `,"state":`...)
	b = jsonx.AppendStringPtr(b, a.State)
	b = append(b, `,"postalCode":`...)
	b = jsonx.AppendStringPtr(b, a.PostalCode)
	b = append(b, `,"country":`...)
	b = jsonx.AppendStringPtr(b, a.Country)
	return append(b, '}')
}

// AppendJSON appends c as JSON.
func (c Company) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = jsonx.AppendString(b, c.ID)
	b = append(b, `,"name":`...)
	b = jsonx.AppendString(b, c.Name)
	b = append(b, `,"type":`...)
	b = jsonx.AppendString(b, c.Type)
	b = append(b, `,"contactEmail":`...)
	b = jsonx.AppendStringPtr(b, c.ContactEmail)
	b = append(b, `,"website":`...)
	b = jsonx.AppendStringPtr(b, c.Website)
	b = append(b, `,"address":`...)
	b = c.Address.AppendJSON(b)
	b = append(b, `,"projectIds":`...)
	b = jsonx.AppendStrings(b, c.ProjectIDs)
	b = append(b, `,"createUserGroup":`...)
	b = jsonx.AppendBool(b, c.CreateUserGroup)
	b = append(b, `,"userCount":`...)
	b = jsonx.AppendInt(b, c.UserCount)
	b = append(b, `,"createdAt":`...)
	b = jsonx.AppendTime(b, c.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = jsonx.AppendTime(b, c.UpdatedAt)
	b = append(b, `,"version":`...)
	b = jsonx.AppendInt(b, c.Version)
	return append(b, '}')
}

// AppendJSON appends p as JSON.
func (p UserProject) AppendJSON(b []byte) []byte {
	b = append(b, `{"projectId":`...)
	b = jsonx.AppendString(b, p.ProjectID)
	b = append(b, `,"ratePerHour":`...)
	b = jsonx.AppendFloatPtr(b, p.RatePerHour)
	b = append(b, `,"costPerHour":`...)
	b = jsonx.AppendFloatPtr(b, p.CostPerHour)
	b = append(b, `,"customizedPermissions":`...)
	b = jsonx.AppendBool(b, p.CustomizedPermissions)
	return append(b, '}')
}

// AppendJSON appends i as JSON.
func (i Invite) AppendJSON(b []byte) []byte {
	b = append(b, `{"state":`...)
	b = jsonx.AppendString(b, i.State)
	b = append(b, `,"expiresAt":`...)
	b = jsonx.AppendTime(b, i.ExpiresAt)
	b = append(b, `,"reinviteAvailableAt":`...)
	b = jsonx.AppendTime(b, i.ReinviteAvailableAt)
	b = append(b, `,"remindersSent":`...)
	b = jsonx.AppendInt(b, i.RemindersSent)
	b = append(b, `,"nextReminderAt":`...)
	b = jsonx.AppendTimePtr(b, i.NextReminderAt)
	b = append(b, `,"lastError":`...)
	b = jsonx.AppendStringPtr(b, i.LastError)
	b = append(b, `,"delivery":`...)
	if d := i.Delivery; d == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"state":`...)
		b = jsonx.AppendString(b, d.State)
		b = append(b, `,"at":`...)
		b = jsonx.AppendTime(b, d.At)
		b = append(b, `,"detail":`...)
		b = jsonx.AppendString(b, d.Detail)
		b = append(b, '}')
	}
	return append(b, '}')
}

// AppendJSON appends p as JSON.
func (p Preferences) AppendJSON(b []byte) []byte {
	b = append(b, `{"dateFormat":`...)
	b = jsonx.AppendString(b, p.DateFormat)
	b = append(b, `,"dateSeparator":`...)
	b = jsonx.AppendString(b, p.DateSeparator)
	b = append(b, `,"timeFormat":`...)
	b = jsonx.AppendString(b, p.TimeFormat)
	return append(b, '}')
}

// AppendJSON appends u as JSON.
func (u User) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = jsonx.AppendString(b, u.ID)
	b = append(b, `,"email":`...)
	b = jsonx.AppendString(b, u.Email)
	b = append(b, `,"name":`...)
	b = jsonx.AppendStringPtr(b, u.Name)
	b = append(b, `,"title":`...)
	b = jsonx.AppendStringPtr(b, u.Title)
	b = append(b, `,"companyId":`...)
	b = jsonx.AppendString(b, u.CompanyID)
	b = append(b, `,"profileId":`...)
	b = jsonx.AppendString(b, u.ProfileID)
	b = append(b, `,"status":`...)
	b = jsonx.AppendString(b, u.Status)
	b = append(b, `,"portalAccess":`...)
	b = jsonx.AppendBool(b, u.PortalAccess)
	b = append(b, `,"portalRate":`...)
	b = jsonx.AppendFloatPtr(b, u.PortalRate)
	b = append(b, `,"projects":`...)
	b = jsonx.AppendArray(b, u.Projects, func(b []byte, p UserProject) []byte { return p.AppendJSON(b) })
	b = append(b, `,"invite":`...)
	if u.Invite == nil {
		b = append(b, "null"...)
	} else {
		b = u.Invite.AppendJSON(b)
	}
	b = append(b, `,"invitedAt":`...)
	b = jsonx.AppendTimePtr(b, u.InvitedAt)
	b = append(b, `,"lastInvitedAt":`...)
	b = jsonx.AppendTimePtr(b, u.LastInvitedAt)
	b = append(b, `,"acceptedAt":`...)
	b = jsonx.AppendTimePtr(b, u.AcceptedAt)
	b = append(b, `,"preferences":`...)
	b = u.Preferences.AppendJSON(b)
	b = append(b, `,"createdAt":`...)
	b = jsonx.AppendTime(b, u.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = jsonx.AppendTime(b, u.UpdatedAt)
	b = append(b, `,"version":`...)
	b = jsonx.AppendInt(b, u.Version)
	return append(b, '}')
}

var addressFields = jsonx.NewFields("street", "city", "state", "postalCode", "country")

// DecodeJSON reads a from r.
func (a *Address) DecodeJSON(r *jsonx.Reader) {
	for i := r.Object(addressFields); i >= 0; i = r.Next(addressFields) {
		switch i {
		case 0:
			r.StringPtr(&a.Street)
		case 1:
			r.StringPtr(&a.City)
		case 2:
			r.StringPtr(&a.State)
		case 3:
			r.StringPtr(&a.PostalCode)
		case 4:
			r.StringPtr(&a.Country)
		}
	}
}

var companyInputFields = jsonx.NewFields("name", "type", "contactEmail", "website", "address", "projectIds", "createUserGroup")

// DecodeJSON reads in from r.
func (in *CompanyInput) DecodeJSON(r *jsonx.Reader) {
	for i := r.Object(companyInputFields); i >= 0; i = r.Next(companyInputFields) {
		switch i {
		case 0:
			r.String(&in.Name)
		case 1:
			r.String(&in.Type)
		case 2:
			r.StringPtr(&in.ContactEmail)
		case 3:
			r.StringPtr(&in.Website)
		case 4:
			if r.Null() {
				in.Address = nil
				continue
			}
			if in.Address == nil {
				in.Address = new(Address)
			}
			in.Address.DecodeJSON(r)
		case 5:
			r.Strings(&in.ProjectIDs)
		case 6:
			r.Bool(&in.CreateUserGroup)
		}
	}
}

var projectRateFields = jsonx.NewFields("projectId", "ratePerHour", "costPerHour")

// DecodeJSON reads p from r.
func (p *ProjectRate) DecodeJSON(r *jsonx.Reader) {
	for i := r.Object(projectRateFields); i >= 0; i = r.Next(projectRateFields) {
		switch i {
		case 0:
			r.String(&p.ProjectID)
		case 1:
			r.FloatPtr(&p.RatePerHour)
		case 2:
			readOptional(r, &p.CostPerHour, (*jsonx.Reader).Float)
		}
	}
}

var userPatchFields = jsonx.NewFields("name", "title", "portalRate", "profileId", "projectRates", "addProjectIds", "notify", "email")

// DecodeJSON reads p from r.
func (p *UserPatch) DecodeJSON(r *jsonx.Reader) {
	for i := r.Object(userPatchFields); i >= 0; i = r.Next(userPatchFields) {
		switch i {
		case 0:
			readOptional(r, &p.Name, (*jsonx.Reader).String)
		case 1:
			readOptional(r, &p.Title, (*jsonx.Reader).String)
		case 2:
			readOptional(r, &p.PortalRate, (*jsonx.Reader).Float)
		case 3:
			readOptional(r, &p.ProfileID, (*jsonx.Reader).String)
		case 4:
			jsonx.Slice(r, &p.ProjectRates, func(r *jsonx.Reader, p *ProjectRate) { p.DecodeJSON(r) })
		case 5:
			r.Strings(&p.AddProjectIDs)
		case 6:
			r.Bool(&p.Notify)
		case 7:
			readOptional(r, &p.Email, (*jsonx.Reader).String)
		}
	}
}

// readOptional reads an Optional as encoding/json runs its UnmarshalJSON.
func readOptional[T any](r *jsonx.Reader, o *Optional[T], read func(*jsonx.Reader, *T)) {
	o.Set = true
	if o.Null = r.Null(); !o.Null {
		jsonx.Unmarshaler(r, &o.Value, read)
	}
}
