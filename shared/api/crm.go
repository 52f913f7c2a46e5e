package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

// crmAPI is the crm function's handlers: the API's dependencies and the
// CRMs that only this function reaches.
type crmAPI struct {
	Deps
	crms CRMs
}

// CRMs is how the crm function reaches the portals' CRMs.
type CRMs struct {
	Sealer Sealer // the credentials at rest
	// Connect builds the connector of a portal's credentials.
	Connect func(crm.Credentials) (crm.Connector, error)
	// Origins are URLs allowed beyond the providers' own (the local
	// stand-in), from CRM_ALLOWED_ORIGINS.
	Origins []string
}

// CRM is the router of the crm function: the only function that reads the
// credentials or calls a CRM (owner and admin only, reads too).
func CRM(deps Deps, crms CRMs) *httpapi.Router {
	d := crmAPI{Deps: deps, crms: crms}
	rt := d.router()
	rt.Handle("PUT /v1/portal/crm", httpapi.Write, d.connectCRM)
	rt.Handle("GET /v1/portal/crm", httpapi.Write, d.getCRM)
	rt.Handle("DELETE /v1/portal/crm", httpapi.Write, d.disconnectCRM)
	rt.Handle("GET /v1/crm/contacts", httpapi.Write, d.crmContacts)
	rt.HandleLocked("POST /v1/crm/imports", httpapi.Write, d.importContacts)
	rt.HandleLocked("POST /v1/crm/deals/{dealId}/convert", httpapi.Write, d.convertDeal)
	return rt
}

// crmView is the one rule of who sees CRM links: owners and admins. Every
// user, company and project answered passes through it (page does it for
// lists); history, exports and events never carry the links.
func crmView[T any](r *httpapi.Request, v T) T {
	if r.Principal.CanWrite() {
		return v
	}
	if h, ok := any(v).(interface{ WithoutCRM() T }); ok {
		return h.WithoutCRM()
	}
	return v
}

// Sealer encrypts a portal's secrets at rest (KMS: package seal). Open's
// errors are Unavailable, or wrap clientele.ErrSecretUnreadable.
type Sealer interface {
	Seal(ctx context.Context, portalID string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, portalID string, ciphertext []byte) ([]byte, error)
}

// crmSecrets is what the sealed blob holds.
type crmSecrets struct {
	ClientSecret string `json:"clientSecret"`
	RefreshToken string `json:"refreshToken"`
}

func (d crmAPI) connectCRM(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.CRMConnectionInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	in, err = in.Validate()
	if err != nil {
		return nil, err
	}
	creds := crm.Credentials{Provider: in.Provider, APIDomain: in.APIDomain, AccountsURL: in.AccountsURL,
		ClientID: in.ClientID, ClientSecret: in.ClientSecret, RefreshToken: in.RefreshToken}
	if err := crm.CheckOrigins(creds, d.crms.Origins); err != nil {
		if oe, ok := errors.AsType[*crm.OriginError](err); ok {
			return nil, clientele.Fields{{Field: oe.Field, Message: oe.Msg}}.Err()
		}
		return nil, err
	}
	conn, err := d.crms.Connect(creds)
	if err != nil {
		return nil, err
	}
	if err := conn.Verify(ctx); err != nil {
		return nil, crm.DomainError(err, false)
	}
	secrets, _ := json.Marshal(crmSecrets{ClientSecret: in.ClientSecret, RefreshToken: in.RefreshToken})
	pid := r.Principal.PortalID
	sealed, err := d.crms.Sealer.Seal(ctx, pid, secrets)
	if err != nil {
		return nil, crm.DomainError(err, true)
	}
	c := clientele.CRMConnection{Provider: in.Provider, APIDomain: in.APIDomain, AccountsURL: in.AccountsURL,
		ClientID: in.ClientID, Status: clientele.Connected, ConnectedAt: d.Store.Now(), Sealed: sealed}
	c, err = d.Store.PutCRMConnection(ctx, pid, c, func(cur *clientele.CRMConnection) error {
		if cur == nil {
			return pre.Check(0) // no connection matches no ETag
		}
		return pre.Check(cur.Version)
	})
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, c), c.Version), nil
}

func (d crmAPI) getCRM(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	c, err := d.Store.GetCRMConnection(ctx, r.Principal.PortalID)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, c), c.Version), nil
}

func (d crmAPI) disconnectCRM(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	err = d.Store.DeleteCRMConnection(ctx, r.Principal.PortalID, func(c clientele.CRMConnection) error { return pre.Check(c.Version) })
	if err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

// connector opens the portal's stored credentials and returns its CRM.
func (d crmAPI) connector(ctx context.Context, pid string) (crm.Connector, error) {
	c, err := d.Store.GetCRMConnection(ctx, pid)
	if err != nil {
		return nil, err
	}
	plain, err := d.crms.Sealer.Open(ctx, pid, c.Sealed)
	if err != nil {
		return nil, crm.DomainError(err, true)
	}
	var s crmSecrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, crm.DomainError(clientele.ErrSecretUnreadable, true)
	}
	return d.crms.Connect(crm.Credentials{Provider: c.Provider, APIDomain: c.APIDomain, AccountsURL: c.AccountsURL,
		ClientID: c.ClientID, ClientSecret: s.ClientSecret, RefreshToken: s.RefreshToken})
}

// CRMContact is a CRM contact as listed, with the user imported from it.
type CRMContact struct {
	CRMID       string  `json:"crmId"`
	Email       string  `json:"email"`
	Name        string  `json:"name"`
	AccountID   string  `json:"accountId"`
	AccountName string  `json:"accountName"`
	UserID      *string `json:"userId"`
}

// crmContacts lists the CRM's contacts, from as many CRM pages as a page
// of ours takes, each with the user imported from it (one BatchGetItem).
func (d crmAPI) crmContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	q := r.Query("q")
	query := queryKey("crm-contacts", q)
	limit, start, err := listArgs(d.Deps, r, query)
	if err != nil {
		return nil, err
	}
	var from crm.Position
	if start != nil {
		from.Page, _ = strconv.Atoi(start["page"])
		from.Offset, _ = strconv.Atoi(start["offset"])
	}
	pid := r.Principal.PortalID
	conn, err := d.connector(ctx, pid)
	if err != nil {
		return nil, err
	}
	contacts, next, err := crm.ListContacts(ctx, conn, q, from, limit)
	if err != nil {
		return nil, crm.DomainError(err, true)
	}
	ids := make([]string, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
	}
	users, err := d.Store.CRMHolders(ctx, pid, dynamo.CRMContact, ids)
	if err != nil {
		return nil, err
	}
	out := List[CRMContact]{Items: make([]CRMContact, len(contacts))}
	for i, c := range contacts {
		out.Items[i] = CRMContact{CRMID: c.ID, Email: c.Email, Name: c.Name, AccountID: c.AccountID, AccountName: c.AccountName}
		if uid, ok := users[c.ID]; ok {
			out.Items[i].UserID = &uid
		}
	}
	if next != nil {
		cur := d.Cursors.Seal(pid, query, map[string]string{"page": strconv.Itoa(next.Page), "offset": strconv.Itoa(next.Offset)})
		out.NextCursor = &cur
	}
	return httpapi.JSON(http.StatusOK, out), nil
}
