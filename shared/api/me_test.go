package api_test

import (
	"net/url"
	"testing"
)

func TestMe(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("me@example.com", map[string]any{"projectIds": []string{e.hourly, e.fixed}, "ratePerHour": nil})
	want(t, e.call("PATCH", "/v1/projects/"+e.hourly+"/users/"+uid, e.owner, map[string]any{"ratePerHour": 88}), 200)
	token := inviteTokenOf(e.env, "me@example.com")
	r := e.call("POST", "/v1/invites/"+url.PathEscape(token)+"/accept", "", map[string]any{"password": "long enough pw"})
	want(t, r, 200)
	session := r.String("token")

	me := e.call("GET", "/v1/me", session, nil).JSON()
	if p := me["preferences"].(map[string]any); p["dateFormat"] != "MM/DD/YYYY" || p["timeFormat"] != "12h" {
		t.Fatalf("default preferences %v", p)
	}
	r = e.call("PATCH", "/v1/me", session, map[string]any{"name": "Me Myself", "dateFormat": "DD/MM/YYYY", "dateSeparator": ".", "timeFormat": "24h"})
	want(t, r, 200)
	if p := r.JSON()["preferences"].(map[string]any); r.JSON()["name"] != "Me Myself" || p["dateFormat"] != "DD/MM/YYYY" || p["dateSeparator"] != "." || p["timeFormat"] != "24h" {
		t.Fatalf("patched %s", r.Body)
	}
	want(t, e.call("PATCH", "/v1/me", session, map[string]any{"timeFormat": "25h"}), 400)
	want(t, e.call("PATCH", "/v1/me", session, map[string]any{"status": "active"}), 400) // not theirs to change
	want(t, e.call("PATCH", "/v1/me", session, map[string]any{"name": "X"}, "If-Match", `"1"`), 412)
	want(t, e.call("PATCH", "/v1/me", e.owner, map[string]any{"name": "X"}), 401)
	// Staff see the change, made by the client.
	h := e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any)
	if h["action"] != "user.updated" || h["actor"].(map[string]any)["type"] != "client" {
		t.Fatalf("history %v", h)
	}

	r = e.call("GET", "/v1/me/projects", session, nil)
	want(t, r, 200)
	items := r.JSON()["items"].([]any)
	rates := map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		rates[m["name"].(string)] = m["ratePerHour"]
		if perms := m["permissions"].(map[string]any); len(perms) != 6 || len(perms["tasks"].([]any)) != 1 {
			t.Fatalf("permissions %v", perms)
		}
	}
	if len(items) != 2 || rates["Hourly"] != 88.0 || rates["Fixed"] != nil {
		t.Fatalf("my projects %s", r.Body)
	}
	want(t, e.call("GET", "/v1/me/projects", e.owner, nil), 401)
	e.consistent()
}
