package clientele

import (
	"testing"
	"time"
)

func TestRecordDelivery(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	remind := at.Add(ReinviteInterval)
	delivered := &Delivery{State: Delivered, At: at, Detail: "250 ok", MessageID: "m1"}
	bounced := &Delivery{State: Bounced, At: at, Detail: "Permanent/General", MessageID: "m1"}
	for _, tt := range []struct {
		name       string
		cur        *Delivery
		access     bool
		addr       string
		report     Delivery
		ok         bool
		wantAction string
	}{
		{"first delivery", nil, true, "Ann@X.example", *delivered, true, UserInviteDelivered},
		{"the same report again", delivered, true, "ann@x.example", *delivered, false, ""},
		{"a bounce after delivery", delivered, true, "ann@x.example", *bounced, true, UserInviteBounced},
		{"a late delivery after a bounce", bounced, true, "ann@x.example", *delivered, false, ""},
		{"the same bounce again", bounced, true, "ann@x.example", *bounced, false, ""},
		{"a complaint after a bounce", bounced, true, "ann@x.example", Delivery{State: Complained, Detail: "abuse", MessageID: "m2"}, true, UserInviteComplained},
		{"another address (the user's changed)", nil, true, "old@x.example", *bounced, false, ""},
		{"no portal access", nil, false, "ann@x.example", *bounced, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := User{Email: "ann@x.example", PortalAccess: tt.access, Status: Invited, Delivery: tt.cur, RemindAt: &remind}
			next, action, ch, ok := u.RecordDelivery(tt.addr, tt.report)
			if ok != tt.ok || action != tt.wantAction {
				t.Fatalf("ok %v action %q, want %v %q", ok, action, tt.ok, tt.wantAction)
			}
			if !ok {
				if next.Delivery != tt.cur {
					t.Fatal("a refused report changed the user")
				}
				return
			}
			if *next.Delivery != tt.report || ch["delivery"].To == nil {
				t.Fatalf("delivery %+v changes %v", next.Delivery, ch)
			}
			if blocked := tt.report.Blocks(); blocked != (next.RemindDue() == nil) || blocked != (next.Reinvitable() != nil) {
				t.Fatalf("blocked %v, but RemindDue %v and Reinvitable %v", blocked, next.RemindDue(), next.Reinvitable())
			}
		})
	}
}
