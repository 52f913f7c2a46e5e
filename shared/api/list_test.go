package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clientele"
)

// TestAppendedListMatchesMarshal: a page written by its items' own writers
// is the page encoding/json writes.
func TestAppendedListMatchesMarshal(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 5, time.UTC)
	name, cur := "Ann <a>", "c.u.r"
	users := []clientele.User{{ID: "u1", Email: "a@b.co", Name: &name, Projects: []clientele.UserProject{{ProjectID: "p"}}, CreatedAt: now},
		{ID: "u2", Email: "c@d.co", Invite: &clientele.Invite{State: "pending", ExpiresAt: now}}}
	for _, l := range []List[clientele.User]{{Items: users, NextCursor: &cur}, {Items: []clientele.User{}}, {}} {
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendedList[clientele.User](l).AppendJSON(nil); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	cs := List[clientele.Company]{Items: []clientele.Company{{ID: "c", Name: "Acme", ProjectIDs: []string{"p"}}}}
	want, _ := json.Marshal(cs)
	if got := appendedList[clientele.Company](cs).AppendJSON(nil); string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
