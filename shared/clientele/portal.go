package clientele

import "time"

// Portal defaults.
const (
	DefaultInviteLinkTTLHours = 168
	MaxInviteLinkTTLHours     = 720
	MaxSeatLimit              = 1_000_000
)

// Portal is the settings of one tenant. A portal exists as soon as a trusted
// token names it; its settings item is written on the first PATCH, so until
// then it has the defaults, version 0 and no timestamps.
type Portal struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ClientSeatLimit *int   `json:"clientSeatLimit"`
	SeatsUsed       int    `json:"seatsUsed"`
	// NoAccessUserLimit caps the users without portal access (nil: no cap);
	// NoAccessUsed counts them, as SeatsUsed counts the users with access.
	NoAccessUserLimit  *int   `json:"noAccessUserLimit"`
	NoAccessUsed       int    `json:"noAccessUsed"`
	InviteLinkTTLHours int    `json:"inviteLinkTtlHours"`
	AppBaseURL         string `json:"appBaseUrl"` // "" means the API's own base URL
	// InvitationTemplateID is the template of invitation emails.
	InvitationTemplateID string     `json:"invitationTemplateId"`
	CreatedAt            *time.Time `json:"createdAt"`
	UpdatedAt            *time.Time `json:"updatedAt"`
	Version              int        `json:"version"`
}

// DefaultPortal is the portal before its settings are first saved.
func DefaultPortal(id string) Portal {
	return Portal{ID: id, Name: id, InviteLinkTTLHours: DefaultInviteLinkTTLHours, InvitationTemplateID: DefaultTemplateID}
}

// InviteTTL is how long an invitation link works.
func (p Portal) InviteTTL() time.Duration { return time.Duration(p.InviteLinkTTLHours) * time.Hour }

// PortalPatch is the body of PATCH /v1/portal.
type PortalPatch struct {
	Name               Optional[string] `json:"name"`
	ClientSeatLimit    Optional[int]    `json:"clientSeatLimit"`
	NoAccessUserLimit  Optional[int]    `json:"noAccessUserLimit"`
	InviteLinkTTLHours Optional[int]    `json:"inviteLinkTtlHours"`
	AppBaseURL         Optional[string] `json:"appBaseUrl"`
	// InvitationTemplateID: null or "default" for the built-in template.
	InvitationTemplateID Optional[string] `json:"invitationTemplateId"`
}

// Apply validates the patch and returns the patched portal and what changed.
func (p PortalPatch) Apply(cur Portal) (Portal, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	applyRequired("name", p.Name, cur.Name, &next.Name, ch, &f, CleanName)
	for _, l := range []struct {
		field string
		patch Optional[int]
		cur   *int
		next  **int
	}{
		{"clientSeatLimit", p.ClientSeatLimit, cur.ClientSeatLimit, &next.ClientSeatLimit},
		{"noAccessUserLimit", p.NoAccessUserLimit, cur.NoAccessUserLimit, &next.NoAccessUserLimit},
	} {
		if !l.patch.Set {
			continue
		}
		if !l.patch.Null && (l.patch.Value < 0 || l.patch.Value > MaxSeatLimit) {
			f.Add(l.field, "must be between 0 and %d, or null for unlimited", MaxSeatLimit)
		} else {
			ch.Record(l.field, l.cur, l.patch.Ptr())
			*l.next = l.patch.Ptr()
		}
	}
	if p.InviteLinkTTLHours.Set {
		if p.InviteLinkTTLHours.Null || p.InviteLinkTTLHours.Value < 1 || p.InviteLinkTTLHours.Value > MaxInviteLinkTTLHours {
			f.Add("inviteLinkTtlHours", "must be between 1 and %d", MaxInviteLinkTTLHours)
		} else {
			ch.Record("inviteLinkTtlHours", cur.InviteLinkTTLHours, p.InviteLinkTTLHours.Value)
			next.InviteLinkTTLHours = p.InviteLinkTTLHours.Value
		}
	}
	if p.AppBaseURL.Set {
		u := ""
		if !p.AppBaseURL.Null {
			var err error
			if u, err = CleanURL(p.AppBaseURL.Value); err != nil {
				f.Add("appBaseUrl", "%v", err)
			}
		}
		ch.Record("appBaseUrl", cur.AppBaseURL, u)
		next.AppBaseURL = u
	}
	if p.InvitationTemplateID.Set {
		id := DefaultTemplateID
		if !p.InvitationTemplateID.Null {
			id = p.InvitationTemplateID.Value
		}
		if id != DefaultTemplateID && !ValidID(id) {
			f.Add("invitationTemplateId", "no such invitation template")
		}
		ch.Record("invitationTemplateId", cur.InvitationTemplateID, id)
		next.InvitationTemplateID = id
	}
	if err := f.Err(); err != nil {
		return cur, nil, err
	}
	if err := next.CheckCounts(); err != nil {
		return cur, nil, err
	}
	return next, ch, nil
}

// CheckCounts refuses (Conflict) limits below what is counted. The store
// checks the same in the write's condition, where a concurrent add cannot
// slip past it.
func (p Portal) CheckCounts() error {
	if p.ClientSeatLimit != nil && *p.ClientSeatLimit < p.SeatsUsed {
		return &Error{Code: Conflict,
			Message: "clientSeatLimit is below the seats in use; deactivate users first",
			Extra:   map[string]any{"seatsUsed": p.SeatsUsed}}
	}
	if p.NoAccessUserLimit != nil && *p.NoAccessUserLimit < p.NoAccessUsed {
		return &Error{Code: Conflict,
			Message: "noAccessUserLimit is below the users without portal access; give them access or deactivate them first",
			Extra:   map[string]any{"noAccessUsed": p.NoAccessUsed}}
	}
	return nil
}
