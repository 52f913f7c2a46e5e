package crm

import (
	"slices"
	"strings"
)

// record is one record in Zoho's JSON: field API names to values, null for
// empty fields, lookups as {"name","id"}.
type record map[string]any

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// records renders a module's records in id order, as GET records sorts.
func (c *CRM) records(module string) ([]record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := map[string]string{}
	for _, a := range c.accounts {
		names[a.ID] = a.Name
	}
	lookup := func(id string) any {
		if id == "" {
			return nil
		}
		return map[string]any{"name": orNull(names[id]), "id": id}
	}
	var out []record
	switch module {
	case "Accounts":
		for _, a := range c.accounts {
			out = append(out, record{"id": a.ID, "Account_Name": a.Name, "Website": orNull(a.Website),
				"Billing_Street": orNull(a.Street), "Billing_City": orNull(a.City), "Billing_State": orNull(a.State),
				"Billing_Code": orNull(a.PostalCode), "Billing_Country": orNull(a.Country)})
		}
	case "Contacts":
		for _, k := range c.contacts {
			out = append(out, record{"id": k.ID, "First_Name": orNull(k.FirstName), "Last_Name": k.LastName,
				"Full_Name": strings.TrimSpace(k.FirstName + " " + k.LastName), "Email": orNull(k.Email),
				"Account_Name": lookup(k.AccountID)})
		}
	case "Deals":
		for _, d := range c.deals {
			out = append(out, record{"id": d.ID, "Deal_Name": d.Name, "Account_Name": lookup(d.AccountID), "Stage": d.Stage})
		}
	default:
		return nil, false
	}
	slices.SortStableFunc(out, func(a, b record) int {
		return strings.Compare(a["id"].(string), b["id"].(string))
	})
	return out, true
}

// only keeps the comma-separated fields (and id), all when fields is empty.
func (r record) only(fields string) record {
	if fields == "" {
		return r
	}
	out := record{"id": r["id"]}
	for f := range strings.SplitSeq(fields, ",") {
		if v, ok := r[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

// text is the record's searchable text, lower case.
func (r record) text() string {
	var b strings.Builder
	for _, v := range r {
		switch v := v.(type) {
		case string:
			b.WriteString(strings.ToLower(v) + "\n")
		case map[string]any:
			if s, ok := v["name"].(string); ok {
				b.WriteString(strings.ToLower(s) + "\n")
			}
		}
	}
	return b.String()
}
