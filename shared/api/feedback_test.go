package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// lastMailTo is the id of the newest message to addr.
func lastMailTo(e *env, addr string) string {
	e.t.Helper()
	for _, m := range e.st.Mail.Messages() {
		if m.To[0] == addr {
			return m.ID
		}
	}
	e.t.Fatalf("no mail to %s", addr)
	return ""
}

// feedback makes the local SES report on a message, as AWS would through
// EventBridge: POST /_local/mail/{id}/{kind}; it returns the status.
func (e usersEnv) feedback(id, kind string) int {
	e.t.Helper()
	res, err := http.Post(e.srv.URL+"/_local/mail/"+id+"/"+kind, "application/json", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 500 {
		var b strings.Builder
		_, _ = io.Copy(&b, res.Body)
		e.t.Logf("POST /_local/mail/%s/%s: %d %s", id, kind, res.StatusCode, b.String())
	}
	return res.StatusCode
}

func (e usersEnv) historyOf(uid string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, h := range e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).JSON()["items"].([]any) {
		out = append(out, h.(map[string]any))
	}
	return out
}

// TestMailFeedback: SES's reports on an invitation (delivered, bounced,
// complained) show on the user as invite.delivery and in the history; a
// bounced or complained address gets no reminder and no re-invite (409
// naming why) until the address changes; repeated or late reports change
// nothing.
func TestMailFeedback(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("ses.bounce@example.com")
	msg := lastMailTo(e.env, "ses.bounce@example.com")
	if m := e.st.Mail.Messages()[0]; m.ConfigurationSet != "clientele-local" || m.Tags["portal"] != "demo" || m.Tags["user"] != uid {
		t.Fatalf("the invitation went without its configuration set or tags: %+v", m)
	}

	// Delivered, twice (at least once): one history entry.
	for range 2 {
		if s := e.feedback(msg, "delivery"); s != 202 {
			t.Fatalf("delivery: %d", s)
		}
	}
	d := e.invite(uid)["delivery"].(map[string]any)
	if d["state"] != "delivered" || d["detail"] != "250 2.6.0 Message received" || d["at"] == nil {
		t.Fatalf("delivery %v", d)
	}
	h := e.historyOf(uid)
	if h[0]["action"] != "user.invite_delivered" || h[0]["actor"].(map[string]any)["id"] != "ses" || h[1]["action"] == "user.invite_delivered" {
		t.Fatalf("history %v", h)
	}

	// Bounced: shown, no reminder due, re-invite refused however late.
	if s := e.feedback(msg, "bounce"); s != 202 {
		t.Fatalf("bounce: %d", s)
	}
	inv := e.invite(uid)
	if d := inv["delivery"].(map[string]any); d["state"] != "bounced" || d["detail"] != "Permanent/General" || inv["nextReminderAt"] != nil {
		t.Fatalf("after the bounce: %v", inv)
	}
	// A late delivery report does not hide the bounce.
	if s := e.feedback(msg, "delivery"); s != 202 || e.invite(uid)["delivery"].(map[string]any)["state"] != "bounced" {
		t.Fatalf("a late delivery: %d %v", s, e.invite(uid))
	}
	e.clock.Advance(25 * time.Hour)
	e.owner = e.st.Token("demo", "owner", "owner-1")
	r := e.call("POST", "/v1/users/"+uid+"/reinvite", e.owner, nil)
	if r.Status != 409 || !strings.Contains(r.String("detail"), "bounced (Permanent/General)") {
		t.Fatalf("re-invite of a bounced address: %d %s", r.Status, r.Body)
	}
	bulk := e.call("POST", "/v1/users/reinvite", e.owner, map[string]any{"userIds": []string{uid}})
	want(t, bulk, 200)
	if res := bulk.JSON()["results"].([]any)[0].(map[string]any); res["outcome"] != "conflict" {
		t.Fatalf("bulk re-invite: %v", res)
	}
	mails := mailsTo(e.env, "ses.bounce@example.com")
	if run := e.runReminders(); run.Sent != 0 || mailsTo(e.env, "ses.bounce@example.com") != mails {
		t.Fatalf("reminders into a bounced address: %+v", run)
	}

	// A new address lifts it: the change invites it, delivery starts over.
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"email": "ses.fixed@example.com"}), 200)
	if inv := e.invite(uid); inv["delivery"] != nil || inv["nextReminderAt"] == nil {
		t.Fatalf("after the email change: %v", inv)
	}
	// A report on the old message, arriving now, is about another address.
	if s := e.feedback(msg, "bounce"); s != 202 || e.invite(uid)["delivery"] != nil {
		t.Fatalf("an old bounce after the change: %d %v", s, e.invite(uid))
	}

	// A complaint blocks the same way.
	quiet := e.addUser("ses.complains@example.com")
	if s := e.feedback(lastMailTo(e.env, "ses.complains@example.com"), "complaint"); s != 202 {
		t.Fatalf("complaint: %d", s)
	}
	if d := e.invite(quiet)["delivery"].(map[string]any); d["state"] != "complained" || d["detail"] != "abuse" {
		t.Fatalf("complaint %v", d)
	}
	e.clock.Advance(25 * time.Hour)
	e.owner = e.st.Token("demo", "owner", "owner-1")
	if r := e.call("POST", "/v1/users/"+quiet+"/reinvite", e.owner, nil); r.Status != 409 || !strings.Contains(r.String("detail"), "spam") {
		t.Fatalf("re-invite after a complaint: %d %s", r.Status, r.Body)
	}

	// Integrators hear of it: the bounce is an event.
	e.waitExports()
	found := false
	for _, ev := range e.st.Events.Events() {
		var d struct {
			ResourceID string `json:"resourceId"`
		}
		_ = json.Unmarshal(ev.Detail, &d)
		found = found || (ev.DetailType == "user.invite_bounced" && d.ResourceID == uid)
	}
	if !found {
		t.Fatal("no user.invite_bounced event")
	}
	e.consistent()
}

// TestMailFeedbackLocalErrors: the mailbox's feedback endpoint answers 404
// for an unknown message or kind.
func TestMailFeedbackLocalErrors(t *testing.T) {
	e := newUsersEnv(t)
	e.addUser("ses.errors@example.com")
	msg := lastMailTo(e.env, "ses.errors@example.com")
	for _, tc := range []struct {
		id, kind string
		status   int
	}{{"local-999999", "bounce", 404}, {msg, "opened", 404}, {msg, "bounce", 202}} {
		if s := e.feedback(tc.id, tc.kind); s != tc.status {
			t.Errorf("%s/%s: %d, want %d", tc.id, tc.kind, s, tc.status)
		}
	}
}

// TestMailRejected: SES refused to send an invitation (a virus): the user's
// invite says so in lastError, and a re-invite (once the gate opens) sends it
// again; the address is not blocked.
func TestMailRejected(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("ses.reject@example.com")
	if s := e.feedback(lastMailTo(e.env, "ses.reject@example.com"), "reject"); s != 202 {
		t.Fatalf("reject: %d", s)
	}
	inv := e.invite(uid)
	if msg, _ := inv["lastError"].(string); !strings.Contains(msg, "Bad content") || inv["delivery"] != nil {
		t.Fatalf("after a reject: %v", inv)
	}
	e.clock.Advance(25 * time.Hour)
	want(t, e.call("POST", "/v1/users/"+uid+"/reinvite", e.st.Token("demo", "owner", "o"), nil), 202)
	if inv := e.invite(uid); inv["lastError"] != nil {
		t.Fatalf("lastError kept after a successful send: %v", inv)
	}
}
