package clientele

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// User statuses.
const (
	Invited     = "invited"
	Active      = "active"
	Deactivated = "deactivated"
)

// Invitation states shown on a user.
const (
	InvitePending  = "pending"
	InviteExpired  = "expired"
	InviteAccepted = "accepted"
)

// Limits of user requests.
const (
	BuiltInProfile = "client" // the view-only profile every portal has
	// MaxProjectsPerUser keeps a user write, with its address and name
	// copies per project, inside one 100-item transaction.
	MaxProjectsPerUser = 25
	MaxEmailsPerAdd    = 100
	MaxRate            = 100_000
	ReinviteInterval   = 24 * time.Hour
	// MaxReminders is how many automatic reminders an invited user gets.
	MaxReminders = 3
	// ReminderRetry is how soon a reminder whose email failed is tried again.
	ReminderRetry = time.Hour
)

// UserProject is a user's membership of a project.
type UserProject struct {
	ProjectID             string   `json:"projectId"`
	RatePerHour           *float64 `json:"ratePerHour"`
	CostPerHour           *float64 `json:"costPerHour"`
	CustomizedPermissions bool     `json:"customizedPermissions"` // derived: Permissions != nil
	// Permissions is the user's customized set in the project; nil when the
	// profile's applies.
	Permissions Permissions `json:"-"`
}

// Invite is the state of a user's invitation, derived at read time from
// the stored dates so that "expired" needs no write.
type Invite struct {
	State               string    `json:"state"`
	ExpiresAt           time.Time `json:"expiresAt"`
	ReinviteAvailableAt time.Time `json:"reinviteAvailableAt"`
	RemindersSent       int       `json:"remindersSent"`
	// NextReminderAt is when the scheduled reminder will next try; nil when
	// no reminder is left (or the invitation is no longer pending).
	NextReminderAt *time.Time `json:"nextReminderAt"`
	LastError      *string    `json:"lastError"`
	// Delivery is SES's last report on the invitation email; nil until one.
	Delivery *Delivery `json:"delivery"`
}

// User is a client user: a person of a client company.
type User struct {
	ID            string        `json:"id"`
	Email         string        `json:"email"`
	Name          *string       `json:"name"`
	Title         *string       `json:"title"`
	CompanyID     string        `json:"companyId"`
	ProfileID     string        `json:"profileId"`
	RoleIDs       []string      `json:"roleIds"` // sorted
	Status        string        `json:"status"`
	PortalAccess  bool          `json:"portalAccess"`
	PortalRate    *float64      `json:"portalRate"`
	Projects      []UserProject `json:"projects"`
	Invite        *Invite       `json:"invite"`
	InvitedAt     *time.Time    `json:"invitedAt"`
	LastInvitedAt *time.Time    `json:"lastInvitedAt"`
	AcceptedAt    *time.Time    `json:"acceptedAt"`
	Preferences   Preferences   `json:"preferences"`
	CRM           *CRMLink      `json:"crm,omitempty"` // owner/admin only
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
	Version       int           `json:"version"`

	// InviteExpiresAt is when the current invitation link stops working.
	InviteExpiresAt *time.Time `json:"-"`
	RemindersSent   int        `json:"-"`
	// RemindAt is when the next automatic reminder is due (nil: none).
	RemindAt        *time.Time `json:"-"`
	InviteError     *string    `json:"-"`
	InviteTokenHash *string    `json:"-"` // hash of the live invitation link, to revoke it
	Delivery        *Delivery  `json:"-"` // SES's last report on the invitation, nil when none
}

// RemindDue is when the next automatic reminder is due, or nil when the
// user gets none: only invited users with portal access, at most
// MaxReminders times.
func (u User) RemindDue() *time.Time {
	if u.RemindAt == nil || u.Status != Invited || !u.PortalAccess || u.RemindersSent >= MaxReminders || u.Delivery.Blocks() {
		return nil
	}
	return u.RemindAt
}

// Reinvitable refuses (Conflict) a user who cannot get a new invitation:
// only invited users with portal access can. It is checked before the
// 24-hour gate, so such a user hears why whether or not the gate is open.
func (u User) Reinvitable() error {
	if !u.PortalAccess || u.Status != Invited {
		return Errorf(Conflict, "only invited users with portal access can be re-invited; this one is %s", u.reinviteState())
	}
	if d := u.Delivery; d.Blocks() {
		return Undeliverable{Delivery: *d}
	}
	return nil
}

func (u User) reinviteState() string {
	if u.Status == Invited {
		return "without portal access"
	}
	return string(u.Status)
}

// ReinviteAvailableAt is when the next invitation may follow one sent at
// sentAt: the 24-hour gate, and the first automatic reminder's time.
func ReinviteAvailableAt(sentAt time.Time) time.Time { return sentAt.Add(ReinviteInterval) }

// WithInvitation is u sent a new invitation at now: the link whose hash is
// tokenHash, valid for ttl, the gate and the next reminder starting from
// now, no error left from an earlier send.
func (u User) WithInvitation(now time.Time, ttl time.Duration, tokenHash string) User {
	exp, remind := now.Add(ttl), ReinviteAvailableAt(now)
	u.InviteTokenHash, u.InviteExpiresAt, u.LastInvitedAt, u.RemindAt, u.InviteError = &tokenHash, &exp, &now, &remind, nil
	if u.InvitedAt == nil {
		u.InvitedAt = &now
	}
	return u
}

// HoldsSeat reports whether the user counts against the seat limit.
func (u User) HoldsSeat() bool { return u.PortalAccess && u.Status != Deactivated }

// HoldsNoAccessSlot reports whether the user counts against the limit on
// users without portal access; deactivated users count against neither.
func (u User) HoldsNoAccessSlot() bool { return !u.PortalAccess && u.Status != Deactivated }

// WithInvite fills Invite as of now.
func (u User) WithInvite(now time.Time) User {
	u.Invite = nil
	if !u.PortalAccess || u.InviteExpiresAt == nil || u.LastInvitedAt == nil {
		return u
	}
	inv := &Invite{ExpiresAt: *u.InviteExpiresAt, ReinviteAvailableAt: ReinviteAvailableAt(*u.LastInvitedAt),
		RemindersSent: u.RemindersSent, LastError: u.InviteError, State: InvitePending, Delivery: u.Delivery}
	switch {
	case u.AcceptedAt != nil || u.Status == Active:
		inv.State = InviteAccepted
	case !now.Before(*u.InviteExpiresAt):
		inv.State = InviteExpired
	}
	if u.RemindDue() != nil {
		at := *u.RemindAt
		inv.NextReminderAt = &at
	}
	u.Invite = inv
	return u
}

// EmailKey is the identity of an address for uniqueness: all lower case,
// because people and mail systems treat addresses case-insensitively.
func EmailKey(email string) string { return strings.ToLower(email) }

// EmailList is a list of addresses given as an array or as one
// comma-separated string.
type EmailList []string

// UnmarshalJSON accepts "a@x.com, b@y.com" or ["a@x.com", "b@y.com"].
func (l *EmailList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = nil
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				*l = append(*l, p)
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[[]string]()}
	}
	*l = list
	return nil
}

// UsersInput is the body of POST /v1/users.
type UsersInput struct {
	Emails       EmailList `json:"emails"`
	CompanyID    string    `json:"companyId"`
	ProfileID    *string   `json:"profileId"`
	RoleIDs      []string  `json:"roleIds"`
	ProjectIDs   []string  `json:"projectIds"`
	RatePerHour  *float64  `json:"ratePerHour"`
	CostPerHour  *float64  `json:"costPerHour"`
	PortalRate   *float64  `json:"portalRate"`
	PortalAccess *bool     `json:"portalAccess"`
	Name         *string   `json:"name"`
	Title        *string   `json:"title"`
	TemplateID   *string   `json:"templateId"`
}

// NewUsers is a validated POST /v1/users request: the template every
// address's user is made from.
type NewUsers struct {
	Emails     []string // as given, trimmed
	Template   User
	ProjectIDs []string
	// InvitationTemplateID is the template chosen for these invitations;
	// "" for the portal's choice.
	InvitationTemplateID string
}

// Validate checks the request as a whole; addresses are checked one by one
// later, each with its own outcome.
func (in UsersInput) Validate() (NewUsers, error) {
	var f Fields
	out := NewUsers{Emails: in.Emails}
	switch {
	case len(in.Emails) == 0:
		f.Add("emails", "is required: one address, a comma-separated list, or an array")
	case len(in.Emails) > MaxEmailsPerAdd:
		f.Add("emails", "must have at most %d addresses", MaxEmailsPerAdd)
	}
	u := User{CompanyID: in.CompanyID, ProfileID: BuiltInProfile, Status: Invited, PortalAccess: true, Projects: []UserProject{},
		Preferences: DefaultPreferences}
	if !ValidID(in.CompanyID) {
		f.Add("companyId", "is required and must be a company id")
	}
	if in.ProfileID != nil {
		if !ValidProfileID(*in.ProfileID) {
			f.Add("profileId", "must be %q or the id of one of the portal's profiles", BuiltInProfile)
		}
		u.ProfileID = *in.ProfileID
	}
	if in.PortalAccess != nil {
		u.PortalAccess = *in.PortalAccess
	}
	if in.TemplateID != nil {
		if *in.TemplateID != DefaultTemplateID && !ValidID(*in.TemplateID) {
			f.Add("templateId", "no such invitation template")
		}
		out.InvitationTemplateID = *in.TemplateID
	}
	out.ProjectIDs = cleanIDs("projectIds", in.ProjectIDs, MaxProjectsPerUser, &f)
	u.RoleIDs = CheckRoleIDs("roleIds", in.RoleIDs, &f)
	CheckRateBounds("", in.RatePerHour, in.CostPerHour, &f)
	if in.RatePerHour != nil && len(in.ProjectIDs) == 0 {
		f.Add("ratePerHour", "needs projectIds: it is the user's rate on those projects")
	}
	if in.CostPerHour != nil && len(in.ProjectIDs) == 0 {
		f.Add("costPerHour", "needs projectIds: it is the user's cost on those projects")
	}
	if in.PortalRate != nil {
		checkRate("portalRate", *in.PortalRate, &f)
		u.PortalRate = in.PortalRate
	}
	for _, p := range out.ProjectIDs {
		u.Projects = append(u.Projects, UserProject{ProjectID: p, RatePerHour: in.RatePerHour, CostPerHour: in.CostPerHour})
	}
	if (in.Name != nil || in.Title != nil) && len(in.Emails) != 1 {
		f.Add("name", "name and title can only be given with exactly one address")
	}
	u.Name = cleanOptionalText("name", in.Name, &f)
	u.Title = cleanOptionalText("title", in.Title, &f)
	out.Template = u
	return out, f.Err()
}

func checkRate(field string, r float64, f *Fields) {
	if r < 0 || r > MaxRate {
		f.Add(field, "must be between 0 and %d", MaxRate)
	}
}

func cleanOptionalText(field string, s *string, f *Fields) *string {
	if s == nil {
		return nil
	}
	v, err := CleanName(*s)
	if err != nil {
		f.Add(field, "%v", err)
		return nil
	}
	return &v
}

// Failure is the outcome of one address that could not be added.
type Failure struct {
	Email          string `json:"email"`
	Status         int    `json:"status"`
	Type           string `json:"type"`
	Title          string `json:"title"`
	Detail         string `json:"detail"`
	ExistingUserID string `json:"existingUserId,omitempty"`
	UserStatus     string `json:"userStatus,omitempty"`
}

// UserCreated is the history action of a new user.
const UserCreated = "user.created"

// String names a user in logs without its address.
func (u User) String() string { return fmt.Sprintf("user %s", u.ID) }

// Preferences are how a client user wants dates and times shown.
type Preferences struct {
	DateFormat    string `json:"dateFormat"`    // MM/DD/YYYY, DD/MM/YYYY or YYYY/MM/DD
	DateSeparator string `json:"dateSeparator"` // "/" or "."
	TimeFormat    string `json:"timeFormat"`    // 12h or 24h
}

// DefaultPreferences are a new user's.
var DefaultPreferences = Preferences{DateFormat: "MM/DD/YYYY", DateSeparator: "/", TimeFormat: "12h"}

// MePatch is the body of PATCH /v1/me: what client users may change of
// themselves.
type MePatch struct {
	Name          Optional[string] `json:"name"`
	Title         Optional[string] `json:"title"`
	DateFormat    Optional[string] `json:"dateFormat"`
	DateSeparator Optional[string] `json:"dateSeparator"`
	TimeFormat    Optional[string] `json:"timeFormat"`
}

// Apply validates the patch and returns the patched user and what changed.
func (p MePatch) Apply(cur User) (User, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	if p.Name.Set {
		next.Name = cleanOptionalText("name", p.Name.Ptr(), &f)
		ch.Record("name", cur.Name, next.Name)
	}
	if p.Title.Set {
		next.Title = cleanOptionalText("title", p.Title.Ptr(), &f)
		ch.Record("title", cur.Title, next.Title)
	}
	pick := func(field string, o Optional[string], dst *string, allowed ...string) {
		if !o.Set {
			return
		}
		if o.Null || !slices.Contains(allowed, o.Value) {
			f.Add(field, "must be one of %s", strings.Join(allowed, ", "))
			return
		}
		ch.Record(field, *dst, o.Value)
		*dst = o.Value
	}
	pick("dateFormat", p.DateFormat, &next.Preferences.DateFormat, "MM/DD/YYYY", "DD/MM/YYYY", "YYYY/MM/DD")
	pick("dateSeparator", p.DateSeparator, &next.Preferences.DateSeparator, "/", ".")
	pick("timeFormat", p.TimeFormat, &next.Preferences.TimeFormat, "12h", "24h")
	return next, ch, f.Err()
}
