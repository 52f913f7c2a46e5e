package clientele

import (
	"reflect"
	"time"
)

// Actor is who made a change.
type Actor struct {
	Type string `json:"type"` // staff, client or system
	ID   string `json:"id"`
}

// Change is one field's value before and after.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Changes maps field names to their change.
type Changes map[string]Change

// Record notes a change of field when from and to differ.
func (c Changes) Record(field string, from, to any) {
	from, to = deref(from), deref(to)
	if !reflect.DeepEqual(from, to) {
		c[field] = Change{From: from, To: to}
	}
}

func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return v
}

// HistoryEntry is one change to a company or user, written in the same
// transaction as the change itself.
type HistoryEntry struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Actor   Actor     `json:"actor"`
	Action  string    `json:"action"`
	Changes Changes   `json:"changes"`
}

// History actions of companies.
const (
	CompanyCreated = "company.created"
	// CompanyDeleted and UserDeleted are published as events only: the
	// entity's history goes with it.
	CompanyDeleted        = "company.deleted"
	CompanyUpdated        = "company.updated"
	CompanyProjectAdded   = "company.project_added"
	CompanyProjectRemoved = "company.project_removed"
	CompanyPrimarySet     = "company.primary_set"
	CompanyPrimaryUnset   = "company.primary_unset"
)
