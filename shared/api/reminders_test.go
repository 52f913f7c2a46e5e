package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/invite"
)

// runReminders runs the scheduled function through the local stack's
// POST /_local/run/reminders, as `make run` users do.
func (e usersEnv) runReminders() invite.Run {
	e.t.Helper()
	res, err := http.Post(e.srv.URL+"/_local/run/reminders", "application/json", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var run invite.Run
	if err := json.NewDecoder(res.Body).Decode(&run); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("run reminders: %d %v", res.StatusCode, err)
	}
	return run
}

func (e usersEnv) invite(id string) map[string]any {
	e.t.Helper()
	inv, _ := e.call("GET", "/v1/users/"+id, e.st.Token("demo", "owner", "o"), nil).JSON()["invite"].(map[string]any)
	return inv
}

func mailsTo(e *env, email string) int {
	n := 0
	for _, m := range e.st.Mail.Messages() {
		if m.To[0] == email {
			n++
		}
	}
	return n
}

func TestReminders(t *testing.T) {
	e := newUsersEnv(t)
	pending := e.addUser("pending@example.com")
	accepted, token := e.inviteToken("accepted@example.com")
	want(t, e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "long enough pw"}), 200)
	off := e.addUser("off@example.com")
	want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
	e.addUser("quiet@example.com", map[string]any{"portalAccess": false})
	if at := e.invite(pending)["nextReminderAt"]; at != "2026-11-23T09:00:00Z" {
		t.Fatalf("nextReminderAt = %v, want a day after the invitation", at)
	}
	if inv := e.invite(accepted); inv["nextReminderAt"] != nil {
		t.Fatalf("accepted user has a reminder due: %v", inv)
	}

	if run := e.runReminders(); run.Sent != 0 || run.Due != 0 {
		t.Fatalf("before a day: %+v", run)
	}
	first := inviteTokenOf(e.env, "pending@example.com")
	for i := 1; i <= 3; i++ {
		e.clock.Advance(25 * time.Hour)
		if run := e.runReminders(); run.Sent != 1 || run.Failed != 0 || !run.Done {
			t.Fatalf("reminder %d: %+v", i, run)
		}
		// Run again at once: nothing is due any more.
		if run := e.runReminders(); run.Sent != 0 {
			t.Fatalf("second run after reminder %d sent %d", i, run.Sent)
		}
		inv := e.invite(pending)
		if inv["remindersSent"] != float64(i) || inv["state"] != "pending" {
			t.Fatalf("after reminder %d: %v", i, inv)
		}
		if (inv["nextReminderAt"] == nil) != (i == 3) {
			t.Fatalf("after reminder %d, nextReminderAt = %v", i, inv["nextReminderAt"])
		}
	}
	e.clock.Advance(25 * time.Hour)
	if run := e.runReminders(); run.Sent != 0 {
		t.Fatalf("a fourth reminder went out: %+v", run)
	}
	if n := mailsTo(e.env, "pending@example.com"); n != 4 {
		t.Fatalf("%d emails to the pending user, want the invitation and 3 reminders", n)
	}
	for _, addr := range []string{"accepted@example.com", "off@example.com", "quiet@example.com"} {
		if n := mailsTo(e.env, addr); n > 1 {
			t.Fatalf("%s got %d emails", addr, n)
		}
	}
	// Each reminder is a new link; the first no longer works, the last does.
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(first), "", nil), 404)
	want(t, e.call("GET", "/v1/invites/"+url.PathEscape(inviteTokenOf(e.env, "pending@example.com")), "", nil), 200)
	h := e.call("GET", "/v1/users/"+pending+"/history", e.st.Token("demo", "owner", "o"), nil).JSON()["items"].([]any)
	reminded := 0
	for _, it := range h {
		if it.(map[string]any)["action"] == "user.reminded" {
			reminded++
		}
	}
	if reminded != 3 {
		t.Fatalf("%d user.reminded history entries, want 3", reminded)
	}
	e.consistent()
}

// TestRemindersShareTheGate: a manual re-invite and a reminder never both
// go out within 24 hours, and parallel runs send each reminder once.
func TestRemindersShareTheGate(t *testing.T) {
	e := newUsersEnv(t)
	e.st.ReminderPage.Store(1) // every user on its own page
	var ids []string
	for _, addr := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com"} {
		ids = append(ids, e.addUser(addr))
	}
	e.clock.Advance(25 * time.Hour)
	staff := e.st.Token("demo", "owner", "o")
	want(t, e.call("POST", "/v1/users/"+ids[0]+"/reinvite", staff, nil), 202)

	runs := parallel(6, func(int) invite.Run { return e.runReminders() })
	sent := 0
	for _, r := range runs {
		sent += r.Sent
	}
	if sent != 5 || len(e.st.Mail.Messages()) != 6+1+5 {
		t.Fatalf("6 parallel runs sent %d reminders, %d emails in all; want 5 and 12", sent, len(e.st.Mail.Messages()))
	}
	// The re-invited user is due a day after the re-invite, not before.
	if inv := e.invite(ids[0]); inv["remindersSent"] != float64(0) || inv["nextReminderAt"] != "2026-11-24T10:00:00Z" {
		t.Fatalf("re-invited user: %v", inv)
	}
	// A reminder closes the gate for a manual re-invite too.
	r := e.call("POST", "/v1/users/"+ids[1]+"/reinvite", staff, nil)
	want(t, r, 429)
	if r.Header.Get("Retry-After") == "" || r.String("reinviteAvailableAt") == "" {
		t.Fatalf("429 without Retry-After or reinviteAvailableAt: %s", r.Body)
	}
	e.consistent()
}

// TestReminderMailFailure: a reminder whose email fails is not counted,
// leaves no gate closed and is tried again an hour later.
func TestReminderMailFailure(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("flaky@example.com")
	e.clock.Advance(25 * time.Hour)
	e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
	run := e.runReminders()
	e.st.Mail.FailWith(0, "")
	if run.Failed != 1 || run.Sent != 0 {
		t.Fatalf("run %+v", run)
	}
	inv := e.invite(uid)
	if inv["remindersSent"] != float64(0) || inv["lastError"] == nil || inv["nextReminderAt"] != "2026-11-23T11:00:00Z" {
		t.Fatalf("after a failed reminder: %v", inv)
	}
	if run := e.runReminders(); run.Sent != 0 {
		t.Fatalf("retried before the hour: %+v", run)
	}
	e.clock.Advance(time.Hour)
	if run := e.runReminders(); run.Sent != 1 {
		t.Fatalf("retry: %+v", run)
	}
	if inv := e.invite(uid); inv["remindersSent"] != float64(1) || inv["lastError"] != nil {
		t.Fatalf("after the retry: %v", inv)
	}
	e.consistent()
}
