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
	ID                 string `json:"id"`
	Name               string `json:"name"`
	ClientSeatLimit    *int   `json:"clientSeatLimit"`
	SeatsUsed          int    `json:"seatsUsed"`
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
	InviteLinkTTLHours Optional[int]    `json:"inviteLinkTtlHours"`
	AppBaseURL         Optional[string] `json:"appBaseUrl"`
	// InvitationTemplateID: null or "default" for the built-in template.
	InvitationTemplateID Optional[string] `json:"invitationTemplateId"`
}

// Apply validates the patch and returns the patched portal and what changed.
func (p PortalPatch) Apply(cur Portal) (Portal, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	if p.Name.Set {
		if p.Name.Null {
			f.Add("name", "must not be null")
		} else if n, err := CleanName(p.Name.Value); err != nil {
			f.Add("name", "%v", err)
		} else {
			ch.Record("name", cur.Name, n)
			next.Name = n
		}
	}
	if p.ClientSeatLimit.Set {
		if !p.ClientSeatLimit.Null && (p.ClientSeatLimit.Value < 0 || p.ClientSeatLimit.Value > MaxSeatLimit) {
			f.Add("clientSeatLimit", "must be between 0 and %d, or null for unlimited", MaxSeatLimit)
		} else {
			ch.Record("clientSeatLimit", cur.ClientSeatLimit, p.ClientSeatLimit.Ptr())
			next.ClientSeatLimit = p.ClientSeatLimit.Ptr()
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
	if next.ClientSeatLimit != nil && *next.ClientSeatLimit < cur.SeatsUsed {
		return cur, nil, &Error{Code: Conflict,
			Message: "clientSeatLimit is below the seats in use; deactivate users first",
			Extra:   map[string]any{"seatsUsed": cur.SeatsUsed}}
	}
	return next, ch, nil
}
